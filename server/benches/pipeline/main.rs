//! The whole pipeline at scale, each stage beside the limit that is not
//! ours, in one run per database:
//!
//! 1. `PAYQUEST_BENCH_ACTIVITIES` activities (1,000,000 by default) reported
//!    over the HTTP batch API by several concurrent clients, signed pushes
//!    (no external call per activity), validated, priced, capped and turned
//!    into eligible payout items by the server's own workers while ingest
//!    goes on: wall time and rows/s of each stage, over its first and its
//!    last fifth (a stage must not slow down as the backlog grows), and the
//!    server's peak RSS; beside raw `COPY` (PostgreSQL) or multi-row
//!    `INSERT` (SQLite) of the same rows into the activity tables.
//!
//! Stages 2 to 4 (paying, turnaround, reconciling) are in `payout.rs`.
//!
//! `make bench-pipeline` (PostgreSQL from `PAYQUEST_TEST_POSTGRES_URL`;
//! `PAYQUEST_BENCH_DATABASES=sqlite` or `=postgres` runs one, and
//! `PAYQUEST_BENCH_PAYOUTS=0` stops after stage 1).

#[path = "../common/mod.rs"]
mod common;
mod payout;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{access_token, raw_load, start_server, wallet, OCCURRED_AT, OCCURRED_AT_MS};
use hmac::{Hmac, Mac};
use payquest_domain::api_clients::{ApiClients, ClientAdmin};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::validation::signed_push_message;
use payquest_types::QuestId;
use serde_json::{json, Value};
use sha2::Sha256;

const BATCH: usize = 1_000;
const CLIENTS: usize = 4;
const GAMERS: usize = 100_000;
const KEY_NAME: &str = "BENCH_PUSH";
const KEY: &str = "bench-signing-key-0123456789";

fn activities() -> usize {
    std::env::var("PAYQUEST_BENCH_ACTIVITIES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

/// One activity as a game server pushes it, signed with the quest's key.
fn signed_activity(
    quest_id: QuestId,
    external_id: &str,
    wallet: &str,
    occurred_at: &str,
    occurred_at_ms: i64,
    score: usize,
) -> Value {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("key");
    mac.update(signed_push_message(external_id, quest_id, wallet, occurred_at_ms).as_bytes());
    json!({
        "external_id": external_id, "quest_id": quest_id, "wallet": wallet,
        "occurred_at": occurred_at, "evidence": { "score": score },
        "signature": hex::encode(mac.finalize().into_bytes()),
    })
}

/// The server settings that let validation check those signatures.
fn validation_env() -> Vec<(String, String)> {
    vec![
        ("PAYQUEST_VALIDATION_WORKERS".into(), "true".into()),
        (
            "PAYQUEST_VALIDATOR_SECRETS".into(),
            format!("{KEY_NAME}={KEY}"),
        ),
    ]
}

/// Request bodies of `BATCH` signed activities each, for client `c` of `CLIENTS`.
fn bodies(quest_id: QuestId, n: usize, c: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for b in (c..n.div_ceil(BATCH)).step_by(CLIENTS) {
        let items: Vec<Value> = (b * BATCH..((b + 1) * BATCH).min(n))
            .map(|i| {
                signed_activity(
                    quest_id,
                    &format!("pipe-{i}"),
                    &wallet(i % GAMERS),
                    OCCURRED_AT,
                    OCCURRED_AT_MS,
                    i % 100,
                )
            })
            .collect();
        out.push(serde_json::to_vec(&json!({ "activities": items })).expect("json"));
    }
    out
}

/// Progress samples: (seconds since start, rows reached).
#[derive(Default)]
struct Curve(Vec<(f64, usize)>);

impl Curve {
    /// When `rows` was first reached (interpolated between samples).
    fn time_at(&self, rows: usize) -> f64 {
        let mut last = (0.0, 0);
        for &(t, r) in &self.0 {
            if r >= rows {
                if r == last.1 {
                    return t;
                }
                return last.0 + (t - last.0) * (rows - last.1) as f64 / (r - last.1) as f64;
            }
            last = (t, r);
        }
        last.0
    }

    /// Rows per second over the first and the last fifth of `n` rows.
    fn first_and_last(&self, n: usize) -> (f64, f64) {
        let fifth = n / 5;
        let first = fifth as f64 / self.time_at(fifth).max(1e-9);
        let last = fifth as f64 / (self.time_at(n) - self.time_at(n - fifth)).max(1e-9);
        (first, last)
    }
}

struct Stage {
    name: String,
    rows: usize,
    seconds: f64,
    first: f64,
    last: f64,
}

impl Stage {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
}

struct Run {
    quest_id: QuestId,
    ingest: Stage,
    eligible: Stage,
    raw: f64,
    peak_rss_mib: f64,
}

async fn count(db: &TestDb, sql: &str) -> usize {
    db.rows(sql)
        .await
        .first()
        .and_then(|r| r.first())
        .copied()
        .unwrap_or_default() as usize
}

/// Stage 1 on `db`: report, validate and price `n` activities; then the raw
/// bulk load of as many rows on `raw_db`.
async fn report_to_eligible(db: &TestDb, raw_db: &TestDb, n: usize) -> Run {
    let store = db.store().await;
    let quest_id = testing::active_quest(
        &store,
        "pipeline",
        ValidatorConfig::SignedPush {
            key_name: KEY_NAME.into(),
        },
    )
    .await;
    let mut creds = Vec::new();
    for c in 0..CLIENTS {
        creds.push(
            ApiClients::new(store.clone())
                .create(
                    ClientAdmin::Cli,
                    &format!("Game server {c}"),
                    "activities:write",
                )
                .await
                .expect("client"),
        );
    }
    let (server, base) = start_server(&db.url, &validation_env());
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for c in &creds {
        tokens.push(access_token(&http, &base, c).await);
    }
    let queues: Vec<Vec<Vec<u8>>> = (0..CLIENTS).map(|c| bodies(quest_id, n, c)).collect();
    let ingested = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = queues
        .into_iter()
        .zip(tokens)
        .map(|(queue, token)| {
            let http = http.clone();
            let url = format!("{base}/api/v1/activities");
            let ingested = Arc::clone(&ingested);
            tokio::spawn(async move {
                for body in queue {
                    let res = http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("post");
                    assert_eq!(res.status(), 200);
                    let v: Value = res.json().await.expect("json");
                    ingested.fetch_add(
                        v["created"].as_u64().expect("created") as usize,
                        Ordering::Relaxed,
                    );
                }
            })
        })
        .collect();
    // Samples every half second: what is reported, and what is eligible.
    let mut ingest_curve = Curve::default();
    let mut eligible_curve = Curve::default();
    let mut ingest_done: Option<f64> = None;
    let deadline = Duration::from_secs(3 * 3600);
    let clients = futures::future::join_all(clients);
    tokio::pin!(clients);
    loop {
        tokio::select! {
            done = &mut clients, if ingest_done.is_none() => {
                for d in done { d.expect("client"); }
                let t = started.elapsed().as_secs_f64();
                ingest_done = Some(t);
                ingest_curve.0.push((t, ingested.load(Ordering::Relaxed)));
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                let t = started.elapsed().as_secs_f64();
                if ingest_done.is_none() {
                    ingest_curve.0.push((t, ingested.load(Ordering::Relaxed)));
                }
                let eligible = count(db, "SELECT COUNT(*) FROM payout_item").await;
                eligible_curve.0.push((started.elapsed().as_secs_f64(), eligible));
                if eligible >= n && ingest_done.is_some() {
                    break;
                }
                assert!(started.elapsed() < deadline, "the pipeline did not finish");
            }
        }
    }
    let peak_rss_mib = server.peak_rss_mib();
    drop(server);
    assert_eq!(
        ingested.load(Ordering::Relaxed),
        n,
        "every activity created"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM activity WHERE status = 'validated'"
        )
        .await,
        n,
        "every activity validated"
    );
    let (first, last) = ingest_curve.first_and_last(n);
    let ingest = Stage {
        name: format!("ingest: HTTP batches of {BATCH}, {CLIENTS} clients"),
        rows: n,
        seconds: ingest_done.unwrap_or_default(),
        first,
        last,
    };
    let (first, last) = eligible_curve.first_and_last(n);
    let eligible = Stage {
        name: "validated, priced, capped -> eligible".into(),
        rows: n,
        seconds: eligible_curve.time_at(n),
        first,
        last,
    };
    let raw = raw_load(raw_db, n, BATCH).await;
    Run {
        quest_id,
        ingest,
        eligible,
        raw,
        peak_rss_mib,
    }
}

fn print_run(backend: &str, baseline: &str, n: usize, run: &Run) {
    println!("\n{backend}: {n} activities, {GAMERS} gamers");
    println!(
        "| stage | rows | wall s | rows/s | first fifth /s | last fifth /s |\n|---|---:|---:|---:|---:|---:|"
    );
    for s in [&run.ingest, &run.eligible] {
        println!(
            "| {} | {} | {:.1} | {:.0} | {:.0} | {:.0} |",
            s.name,
            s.rows,
            s.seconds,
            s.rate(),
            s.first,
            s.last
        );
    }
    println!(
        "| baseline: {baseline} | {n} | {:.1} | {:.0} | | |",
        n as f64 / run.raw,
        run.raw
    );
    println!("server peak RSS: {:.0} MiB", run.peak_rss_mib);
    println!(
        "ratios: ingest / {baseline} {:.2} | validation / ingest {:.2} | ingest last/first fifth {:.2} | validation last/first fifth {:.2} | report to all eligible {:.1} s",
        run.ingest.rate() / run.raw,
        run.eligible.rate() / run.ingest.rate(),
        run.ingest.last / run.ingest.first,
        run.eligible.last / run.eligible.first,
        run.eligible.seconds
    );
}

/// `PAYQUEST_BENCH_DATABASES`: `sqlite`, `postgres` or both (the default).
fn wants(backend: &str) -> bool {
    std::env::var("PAYQUEST_BENCH_DATABASES")
        .map(|v| v.split(',').any(|d| d.trim() == backend))
        .unwrap_or(true)
}

/// Every stage on one database: `a` serves, `b` takes the raw bulk load.
async fn run_on(backend: &str, baseline: &str, (a, b): (TestDb, TestDb), n: usize, payouts: usize) {
    let run = report_to_eligible(&a, &b, n).await;
    print_run(backend, baseline, n, &run);
    if payouts > 0 {
        let paid = payout::eligible_to_reconciled(&a, run.quest_id, payouts).await;
        payout::print_run(backend, &paid);
    }
    a.cleanup().await;
    b.cleanup().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let n = activities();
        let payouts = payout::payouts_wanted().min(n);
        if wants("sqlite") {
            let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
            run_on("SQLite", "multi-row INSERT", (a, b), n, payouts).await;
        }
        if !wants("postgres") {
            return;
        }
        match (TestDb::postgres().await, TestDb::postgres().await) {
            (Some(a), Some(b)) => run_on("PostgreSQL", "COPY FROM STDIN", (a, b), n, payouts).await,
            _ => println!("PostgreSQL skipped: set {}", testing::POSTGRES_URL_VAR),
        }
    });
}
