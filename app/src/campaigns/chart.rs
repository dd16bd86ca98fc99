//! The campaign page's budget chart, drawn on the server as SVG with
//! `plotters`: date and token axes, one line per balance (funded, available,
//! reserved, spent), the rewards earned so far, and the forecast of what is
//! left after unpaid rewards down to its run-out day. Every point carries a
//! `<title>`, so hovering it shows its date and value. The SVG is built from
//! numbers only (no user text), and the page inserts it as it is.

use payquest_domain::insights::CampaignInsight;
use plotters::prelude::*;

use payquest_types::CHART_SERIES as SERIES;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 300;
const DAY_MS: i64 = 86_400_000;

fn rgb(hex: &str) -> RGBColor {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

/// Minor units as tokens, for placing a point only (labels print amounts
/// from the integers).
fn tokens(minor: i64) -> f64 {
    minor as f64 / 1_000_000.0
}

fn date_label(ms: i64, span_ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    let month = &t.month().to_string()[..3];
    if span_ms > 2 * DAY_MS {
        format!("{month} {}", t.day())
    } else {
        format!("{month} {} {:02}:{:02}", t.day(), t.hour(), t.minute())
    }
}

fn stepped(points: &[(i64, i64)]) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    let mut prev: Option<i64> = None;
    for &(at, v) in points {
        if let Some(p) = prev {
            out.push((at, tokens(p)));
        }
        out.push((at, tokens(v)));
        prev = Some(v);
    }
    out
}

/// The chart, or `None` with fewer than two balances to draw.
pub fn budget_chart(i: &CampaignInsight, now_ms: i64) -> Option<String> {
    if i.burn_down.len() < 2 {
        return None;
    }
    let t0 = i.burn_down.first().map_or(now_ms, |p| p.at_ms);
    let span = (now_ms - t0).max(3_600_000);
    // The forecast runs to the run-out day, drawn at most twice the history
    // ahead (further out it is cut where the axis ends).
    let left = i.burn_down.last().map_or(0, |p| p.available_minor) - i.unpaid_rewards_minor;
    let t_end = match i.runs_out_at_ms {
        Some(at) => at.min(now_ms + 2 * span).max(now_ms + span / 10),
        None => now_ms + span / 10,
    };
    let balance = |pick: fn(&payquest_domain::insights::BudgetPoint) -> i64| {
        stepped(
            &i.burn_down
                .iter()
                .map(|p| (p.at_ms, pick(p)))
                .collect::<Vec<_>>(),
        )
    };
    let series: [Vec<(i64, f64)>; 5] = [
        balance(|p| p.funded_minor),
        balance(|p| p.available_minor),
        balance(|p| p.reserved_minor),
        balance(|p| p.spent_minor),
        {
            let mut e = vec![(t0, 0)];
            e.extend(i.earned.iter().copied());
            e.push((now_ms, i.earned.last().map_or(0, |e| e.1)));
            stepped(&e)
        },
    ];
    let forecast: Vec<(i64, f64)> = match i.runs_out_at_ms {
        Some(at) if left > 0 && at > now_ms => {
            let frac = (t_end - now_ms) as f64 / (at - now_ms) as f64;
            vec![
                (now_ms, tokens(left)),
                (t_end, tokens(left) * (1.0 - frac.min(1.0))),
            ]
        }
        _ => Vec::new(),
    };
    let top = series.iter().flatten().map(|p| p.1).fold(1.0_f64, f64::max) * 1.1;
    let mut svg = String::new();
    let mut marks = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(t0..t_end, 0.0..top)
            .ok()?;
        let x_span = t_end - t0;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|t| date_label(*t, x_span))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("date (UTC)")
            .y_desc("tokens")
            .light_line_style(RGBColor(241, 245, 249))
            .bold_line_style(RGBColor(226, 232, 240))
            .label_style(("sans-serif", 13).into_font().color(&RGBColor(51, 65, 85)))
            .draw()
            .ok()?;
        for (points, s) in series.iter().zip(SERIES.iter()) {
            let style = rgb(s.1).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .ok()?;
        }
        if forecast.len() == 2 {
            let s = &SERIES[5];
            chart
                .draw_series(DashedLineSeries::new(
                    forecast.iter().copied(),
                    6,
                    4,
                    rgb(s.1).stroke_width(2),
                ))
                .ok()?;
        }
        // Hover targets: every balance point, what was earned, and the
        // forecast's ends.
        let mut mark = |at: i64, v: f64, what: &str, colour: &str| {
            let (x, y) = chart.backend_coord(&(at, v));
            marks.push_str(&format!(
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"4\" fill=\"{colour}\" fill-opacity=\"0.85\"><title>{}: {what} {v:.2} tokens</title></circle>",
                date_label(at, 0),
            ));
        };
        for p in &i.burn_down {
            mark(p.at_ms, tokens(p.funded_minor), "funded", SERIES[0].1);
            mark(p.at_ms, tokens(p.available_minor), "available", SERIES[1].1);
            if p.reserved_minor != 0 {
                mark(p.at_ms, tokens(p.reserved_minor), "reserved", SERIES[2].1);
            }
            if p.spent_minor != 0 {
                mark(p.at_ms, tokens(p.spent_minor), "spent", SERIES[3].1);
            }
        }
        for &(at, v) in &i.earned {
            mark(at, tokens(v), "earned so far", SERIES[4].1);
        }
        if let (Some(start), Some(at)) = (forecast.first(), i.runs_out_at_ms) {
            mark(start.0, start.1, "left after unpaid rewards", SERIES[5].1);
            if at <= t_end {
                mark(at, 0.0, "runs out", SERIES[5].1);
            }
        }
        root.present().ok()?;
    }
    // Scale with its box, keep the points' titles for hovering.
    let svg = svg.replacen(
        &format!("width=\"{WIDTH}\" height=\"{HEIGHT}\""),
        "width=\"100%\" role=\"img\" aria-labelledby=\"burn-down-title\"",
        1,
    );
    let svg = svg.replacen(
        '>',
        "><title id=\"burn-down-title\">Budget over time: funded, available, reserved, spent, earned and the forecast</title>",
        1,
    );
    Some(svg.replacen("</svg>", &format!("{marks}</svg>"), 1))
}
