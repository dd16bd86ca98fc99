//! Ingest benchmark: activities per second accepted through the HTTP batch
//! API (durable: committed before the response), against the database's own
//! fastest bulk load of the same rows, run side by side:
//! PostgreSQL `COPY … FROM STDIN` and SQLite multi-row `INSERT`s.
//!
//! Then, on PostgreSQL, the same API run against an activity table that
//! already holds `PAYQUEST_BENCH_EXISTING_ROWS` rows (10,000,000 by default,
//! all in this month's partition, statistics fresh) beside the empty-table
//! run: what months of history cost each new batch.
//!
//! `make bench-ingest` (PostgreSQL from `PAYQUEST_TEST_POSTGRES_URL`).

mod common;

use common::{access_token, raw_load, start_server, wallet, OCCURRED_AT};
use payquest_types::QuestId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use payquest_domain::api_clients::{ApiClients, ClientAdmin};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::testing::{self, TestDb};
use serde_json::{json, Value};

const ACTIVITIES: usize = 50_000;
const BATCH: usize = 1_000;
const CONCURRENT_REQUESTS: usize = 4;

fn activity(quest_id: QuestId, n: usize) -> Value {
    json!({
        "external_id": format!("bench-{n}"), "quest_id": quest_id, "wallet": wallet(n),
        "game_account_id": format!("player-{n}"), "occurred_at": OCCURRED_AT, "evidence": { "score": n % 100 },
    })
}

/// Rows already in the table for the at-scale run.
fn existing_rows() -> usize {
    std::env::var("PAYQUEST_BENCH_EXISTING_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

/// Fills a PostgreSQL database with `rows` validated activities of another
/// client (ids, keys and activities, as ingest writes them) across 10,000
/// gamers, received now, then ANALYZEs it; the time it took.
async fn preload(db: &TestDb, rows: usize) -> Duration {
    let store = db.store().await;
    let quest = testing::active_quest(&store, "history", ValidatorConfig::Manual).await;
    let client = testing::game_server(&store, "History").await.api_client_id;
    let now = payquest_domain::clock::now_ms();
    let started = Instant::now();
    db.execute(
        "INSERT INTO gamer (wallet, created_at_ms) \
         SELECT '0x' || lpad(to_hex(4000000000 + g), 40, '0'), 0 FROM generate_series(1, 10000) g",
    )
    .await;
    db.execute(&format!(
        "INSERT INTO activity_ref (api_client_id, external_id, payload_hash, received_at_ms) \
         SELECT {client}, 'history-' || i, md5(i::text), {now} FROM generate_series(1, {rows}) i"
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO activity (activity_id, api_client_id, external_id, payload_hash, quest_id, gamer_id, \
           game_account_id, evidence_json, status, attempts, next_attempt_at_ms, occurred_at_ms, \
           received_at_ms, validated_at_ms, rewarded_at_ms) \
         SELECT r.activity_id, {client}, r.external_id, r.payload_hash, {quest}, g.gamer_id, \
           'player-' || (r.activity_id % 10000), '{{\"score\":7}}', 'validated', 1, 0, {now}, {now}, {now}, {now} \
         FROM activity_ref r JOIN gamer g ON g.wallet = '0x' || lpad(to_hex(4000000000 + r.activity_id % 10000 + 1), 40, '0') \
         WHERE r.api_client_id = {client}"
    ))
    .await;
    // As autovacuum would have left a table that old: visibility map and statistics.
    db.execute("VACUUM ANALYZE").await;
    started.elapsed()
}

/// Activities per second through `POST /api/v1/activities`.
async fn through_the_api(db: &TestDb) -> f64 {
    let store = db.store().await;
    let before = store.count_activities().await.expect("count") as usize;
    let quest_id = testing::active_quest(&store, "bench", ValidatorConfig::Manual).await;
    let creds = ApiClients::new(store.clone())
        .create(ClientAdmin::Cli, "Bench", "activities:write")
        .await
        .expect("client");
    let (_server, base) = start_server::<&str, &str>(&db.url, &[]);
    let http = reqwest::Client::new();
    let token = access_token(&http, &base, &creds).await;
    let bodies: Vec<Vec<u8>> = (0..ACTIVITIES / BATCH)
        .map(|b| {
            let items: Vec<Value> = (b * BATCH..(b + 1) * BATCH)
                .map(|n| activity(quest_id, n))
                .collect();
            serde_json::to_vec(&json!({ "activities": items })).expect("json")
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENT_REQUESTS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let http = http.clone();
            let url = format!("{base}/api/v1/activities");
            let token = token.clone();
            tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().expect("lock").pop() else {
                        break;
                    };
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
                    assert_eq!(v["created"], BATCH, "every activity created");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("join");
    }
    let elapsed = started.elapsed();
    assert_eq!(
        store.count_activities().await.expect("count") as usize,
        before + ACTIVITIES
    );
    ACTIVITIES as f64 / elapsed.as_secs_f64()
}

async fn measure(backend: &str, baseline_name: &str, ours_db: TestDb, raw_db: TestDb) -> f64 {
    let ours = through_the_api(&ours_db).await;
    let raw = raw_load(&raw_db, ACTIVITIES, BATCH).await;
    println!(
        "{backend:<10} {ACTIVITIES} activities: HTTP batch API {ours:>9.0}/s | {baseline_name} {raw:>9.0}/s | ratio {:.2}",
        ours / raw
    );
    ours_db.cleanup().await;
    raw_db.cleanup().await;
    ours
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("ingest: {ACTIVITIES} activities in batches of {BATCH}, {CONCURRENT_REQUESTS} concurrent requests");
        measure("SQLite", "multi-row INSERT", TestDb::sqlite(), TestDb::sqlite()).await;
        match (TestDb::postgres().await, TestDb::postgres().await) {
            (Some(a), Some(b)) => {
                let empty = measure("PostgreSQL", "COPY FROM STDIN", a, b).await;
                let rows = existing_rows();
                let loaded = TestDb::postgres().await.expect("PostgreSQL");
                let took = preload(&loaded, rows).await;
                let at_scale = through_the_api(&loaded).await;
                println!(
                    "PostgreSQL {ACTIVITIES} activities onto {rows} existing rows (loaded in {:.0} s): \
                     HTTP batch API {at_scale:>9.0}/s | empty table {empty:>9.0}/s | ratio {:.2}",
                    took.as_secs_f64(),
                    at_scale / empty
                );
                loaded.cleanup().await;
            }
            _ => println!("PostgreSQL skipped: set {}", testing::POSTGRES_URL_VAR),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
}
