//! The pipeline's gauges for Prometheus: rows per state of activities,
//! payout items, batches and chunks, open reconciliation findings, the
//! reconciliation lag, drift by direction and age, and each active
//! campaign's committed share of its budget beside its alert threshold,
//! read from the database every few seconds (the same on every replica, so
//! any replica's scrape tells the whole system).

use std::collections::{BTreeMap, BTreeSet};

use crate::store::DynStore;

/// Label sets seen in earlier readings, so one that is gone is set to zero
/// (a gauge otherwise keeps its last value).
#[derive(Debug, Default)]
pub struct Seen {
    states: BTreeSet<(String, String)>,
    drift: BTreeSet<(String, String)>,
    campaigns: BTreeSet<String>,
}

/// Sets each gauge of `name` from `now` (labels → value) and zeroes the
/// label sets of `seen` that are not in it.
fn set_all(
    name: &'static str,
    keys: (&'static str, &'static str),
    now: BTreeMap<(String, String), f64>,
    seen: &mut BTreeSet<(String, String)>,
) {
    for ((a, b), v) in &now {
        metrics::gauge!(name, keys.0 => a.clone(), keys.1 => b.clone()).set(*v);
    }
    for (a, b) in seen.iter().filter(|k| !now.contains_key(*k)) {
        metrics::gauge!(name, keys.0 => a.clone(), keys.1 => b.clone()).set(0.0);
    }
    seen.extend(now.into_keys());
}

/// Sets the gauges from one reading.
pub async fn update(
    store: &DynStore,
    seen: &mut Seen,
    now_ms: i64,
) -> crate::store::StoreResult<()> {
    let counts = store.pipeline_counts().await?;
    let states = counts
        .by_state
        .into_iter()
        .map(|(table, state, rows)| ((table, state), rows as f64))
        .collect();
    set_all(
        "payquest_pipeline_rows",
        ("table", "state"),
        states,
        &mut seen.states,
    );

    // Drift: items (or, for the treasury, transfers) the ledger and the
    // chain disagree on, by direction and by how long they have.
    let mut drift: BTreeMap<(String, String), f64> = BTreeMap::new();
    for row in store.drift(now_ms).await? {
        *drift.entry((row.direction, row.age_bucket)).or_default() += row.item_count as f64;
    }
    set_all(
        "payquest_drift_items",
        ("direction", "age"),
        drift,
        &mut seen.drift,
    );

    // Each active campaign's committed share beside its alert threshold.
    let mut campaigns = BTreeSet::new();
    for c in crate::insights::active_campaigns(store).await? {
        let unpaid = store.unpaid_total(c.campaign_id).await?;
        let Some(pct) = crate::insights::committed_pct(&c, unpaid) else {
            continue;
        };
        let id = c.campaign_id.to_string();
        metrics::gauge!("payquest_budget_committed_ratio", "campaign_id" => id.clone())
            .set(pct as f64 / 100.0);
        metrics::gauge!("payquest_budget_alert_threshold_ratio", "campaign_id" => id.clone())
            .set(c.alert_threshold_pct as f64 / 100.0);
        campaigns.insert(id);
    }
    for gone in seen.campaigns.difference(&campaigns) {
        metrics::gauge!("payquest_budget_committed_ratio", "campaign_id" => gone.clone()).set(0.0);
    }
    seen.campaigns.extend(campaigns);
    metrics::gauge!("payquest_findings_open").set(counts.findings_open as f64);
    let lag_s = counts
        .oldest_unreconciled_at_ms
        .map_or(0.0, |at| (now_ms - at).max(0) as f64 / 1000.0);
    metrics::gauge!("payquest_reconciliation_lag_seconds").set(lag_s);
    Ok(())
}

/// Updates the gauges every `every` until `stop` turns true.
pub async fn run(
    store: DynStore,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = Seen::default();
    loop {
        if let Err(e) = update(&store, &mut seen, crate::clock::now_ms()).await {
            tracing::warn!(error = %e, "reading the pipeline gauges failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
