//! What the benchmarks share: the server started as a child process, and
//! the database's own fastest bulk load of activities (the baseline).

#![allow(dead_code)] // each benchmark uses its own part

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use payquest_domain::quests::ValidatorConfig;
use payquest_domain::store::Backend;
use payquest_domain::testing::{self, TestDb};
use sqlx::Connection;

pub const OCCURRED_AT: &str = "2026-11-01T10:00:00Z";
pub const OCCURRED_AT_MS: i64 = 1_793_527_200_000;

pub struct Server(Child);

impl Server {
    /// The server's peak resident memory so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `payquest serve` on `url` with `env` on top of the benchmark's
/// settings; the server and its base URL.
pub fn start_server<K: AsRef<str>, V: AsRef<str>>(url: &str, env: &[(K, V)]) -> (Server, String) {
    use std::io::{BufRead, BufReader};
    let mut command = Command::new(env!("CARGO_BIN_EXE_payquest"));
    command
        .arg("serve")
        .env("PAYQUEST_DATABASE_URL", url)
        .env("PAYQUEST_LISTEN", "127.0.0.1:0")
        .env("PAYQUEST_METRICS_LISTEN", "127.0.0.1:0")
        .env(
            "PAYQUEST_SECRETS_KEY",
            "bench=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("PAYQUEST_LOG", "warn")
        .env("PAYQUEST_VALIDATION_WORKERS", "false")
        .stdout(Stdio::piped());
    // The benchmark's own settings are not the server's.
    for (k, _) in std::env::vars() {
        if k.starts_with("PAYQUEST_BENCH_") {
            command.env_remove(k);
        }
    }
    for (k, v) in env {
        command.env(k.as_ref(), v.as_ref());
    }
    let mut child = command.spawn().expect("start payquest");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    // Read to the end on a thread of its own: a closed pipe would end the
    // server at its next line.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("payquest listening on ") {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("payquest did not start");
    (server, addr)
}

/// A bearer token for an API client, through the server's OAuth endpoint.
pub async fn access_token(
    http: &reqwest::Client,
    base: &str,
    creds: &payquest_domain::api_clients::ClientCredentials,
) -> String {
    let token: serde_json::Value = http
        .post(format!("{base}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    token["access_token"].as_str().expect("token").to_owned()
}

pub fn wallet(n: usize) -> String {
    format!("0x{:040x}", n + 1)
}

/// Activities per second loaded straight into the same tables, the engine's fastest way.
pub async fn raw_load(db: &TestDb, activities: usize, batch: usize) -> f64 {
    let store = db.store().await;
    let quest_id = testing::active_quest(&store, "raw", ValidatorConfig::Manual).await;
    let client_id = testing::game_server(&store, "Raw").await.api_client_id;
    let evidence = |n: usize| format!("{{\"score\":{}}}", n % 100);
    // Received now, as the API's rows are: the same month partition.
    let received = payquest_domain::clock::now_ms();
    let started = Instant::now();
    match db.backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            let mut gamers = String::new();
            for n in 0..activities {
                gamers.push_str(&format!("{},{OCCURRED_AT_MS}\n", wallet(n)));
            }
            let mut copy = conn
                .copy_in_raw("COPY gamer (wallet, created_at_ms) FROM STDIN WITH (FORMAT csv)")
                .await
                .expect("copy");
            copy.send(gamers.as_bytes()).await.expect("send");
            copy.finish().await.expect("finish");
            let first: i64 = sqlx::query_scalar("SELECT MIN(gamer_id) FROM gamer")
                .fetch_one(&mut conn)
                .await
                .expect("min");
            // The idempotency keys and ids first, as ingest claims them.
            let mut refs = String::new();
            for n in 0..activities {
                refs.push_str(&format!(
                    "{},{client_id},bench-{n},{n:064x},{received}\n",
                    n + 1
                ));
            }
            let mut copy = conn
                .copy_in_raw(
                    "COPY activity_ref (activity_id, api_client_id, external_id, payload_hash, received_at_ms) \
                     FROM STDIN WITH (FORMAT csv)",
                )
                .await
                .expect("copy");
            copy.send(refs.as_bytes()).await.expect("send");
            copy.finish().await.expect("finish");
            let mut rows = String::new();
            for n in 0..activities {
                rows.push_str(&format!(
                    "{},{client_id},bench-{n},{:064x},{quest_id},{},player-{n},\"{}\",received,{OCCURRED_AT_MS},{OCCURRED_AT_MS},{received}\n",
                    n + 1,
                    n,
                    first + n as i64,
                    evidence(n).replace('"', "\"\"")
                ));
            }
            let mut copy = conn
                .copy_in_raw(
                    "COPY activity (activity_id, api_client_id, external_id, payload_hash, quest_id, gamer_id, game_account_id, \
                     evidence_json, status, next_attempt_at_ms, occurred_at_ms, received_at_ms) FROM STDIN WITH (FORMAT csv)",
                )
                .await
                .expect("copy");
            copy.send(rows.as_bytes()).await.expect("send");
            copy.finish().await.expect("finish");
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", db.url))
                .await
                .expect("connect");
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut conn)
                .await
                .expect("pragma");
            for chunk in (0..activities).collect::<Vec<_>>().chunks(batch) {
                let mut tx = conn.begin().await.expect("begin");
                let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "INSERT INTO gamer (wallet, created_at_ms) ",
                );
                q.push_values(chunk, |mut b, n| {
                    b.push_bind(wallet(*n)).push_bind(OCCURRED_AT_MS);
                });
                q.push(" RETURNING gamer_id");
                let ids: Vec<i64> = q
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .expect("gamers");
                let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "INSERT INTO activity_ref (activity_id, api_client_id, external_id, payload_hash, received_at_ms) ",
                );
                q.push_values(chunk, |mut b, n| {
                    b.push_bind(*n as i64 + 1)
                        .push_bind(client_id)
                        .push_bind(format!("bench-{n}"))
                        .push_bind(format!("{n:064x}"))
                        .push_bind(received);
                });
                q.build().execute(&mut *tx).await.expect("refs");
                let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "INSERT INTO activity (activity_id, api_client_id, external_id, payload_hash, quest_id, gamer_id, game_account_id, \
                     evidence_json, status, next_attempt_at_ms, occurred_at_ms, received_at_ms) ",
                );
                q.push_values(chunk.iter().zip(ids), |mut b, (n, gamer_id)| {
                    b.push_bind(*n as i64 + 1)
                        .push_bind(client_id)
                        .push_bind(format!("bench-{n}"))
                        .push_bind(format!("{n:064x}"))
                        .push_bind(quest_id)
                        .push_bind(gamer_id)
                        .push_bind(format!("player-{n}"))
                        .push_bind(evidence(*n))
                        .push_bind("received")
                        .push_bind(OCCURRED_AT_MS)
                        .push_bind(OCCURRED_AT_MS)
                        .push_bind(received);
                });
                q.build().execute(&mut *tx).await.expect("activities");
                tx.commit().await.expect("commit");
            }
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(
        store.count_activities().await.expect("count") as usize,
        activities
    );
    activities as f64 / elapsed.as_secs_f64()
}
