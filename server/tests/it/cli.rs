//! The command line: help, migrate, create-admin, and a failed migration
//! stopping the start.

use payquest_domain::testing::TestDb;
use sqlx::Connection;

use crate::{command, BIN};

#[test]
fn help_lists_the_commands() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "create-admin"] {
        assert!(text.contains(word), "help lacks {word}: {text}");
    }
}

#[tokio::test]
async fn migrate_then_create_admin_prints_a_one_time_password() {
    let db = TestDb::sqlite();
    let out = command(&db.url).arg("migrate").output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command(&db.url)
        .args(["create-admin", "--email", "Ops@Example.com"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("created admin ops@example.com"), "{text}");
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .expect("password printed");
    assert_eq!(password.len(), 20);
    // The same email again is refused with a clear message and a failing exit.
    let again = command(&db.url)
        .args(["create-admin", "--email", "ops@example.com"])
        .output()
        .expect("run");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn a_failed_migration_stops_the_start() {
    let db = TestDb::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}?mode=rwc"))
        .await
        .expect("create db");
    // A table in the way of the first migration.
    sqlx::query("CREATE TABLE staff_user (x INTEGER)")
        .execute(&mut conn)
        .await
        .expect("create");
    conn.close().await.expect("close");
    let out = command(&db.url).arg("serve").output().expect("run");
    assert!(
        !out.status.success(),
        "the server must not start on a failed migration"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("migrat"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

/// The README's settings table: each `PAYQUEST_*` name with the default
/// column's value when that is a literal (`8`, `true`), paired by position
/// when a row names several settings.
fn documented_settings() -> Vec<(String, Option<String>)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    let section = &readme[readme
        .find("## Configuration")
        .expect("configuration section")..];
    let code = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut out = Vec::new();
    for row in section
        .lines()
        .skip_while(|l| !l.starts_with("| variable"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = row.split('|').collect();
        let names: Vec<String> = code(cells[1])
            .into_iter()
            .filter(|n| n.starts_with("PAYQUEST_"))
            .collect();
        let defaults = if cells[2].trim_start().starts_with('`') {
            code(cells[2])
        } else {
            Vec::new()
        };
        for (i, name) in names.iter().enumerate() {
            let default = if defaults.len() == names.len() {
                defaults.get(i)
            } else {
                defaults.first()
            };
            out.push((name.clone(), default.cloned()));
        }
    }
    assert!(out.len() > 50, "the settings table was found: {out:?}");
    out
}

/// Every setting the README lists, set from the environment exactly as the
/// README writes it (its default, or an example for those unset by
/// default), starts a working server at once: TLS, Redis, the dev chain,
/// mounted files and all. A number where a text setting is expected (the
/// two-checker threshold, an all-digit secret) is read as the text it is. No
/// documented name is unknown to the server, and the chart only sets
/// documented names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_setting_starts_the_server() {
    use payquest_domain::testing::{DevChain, DEFAULT_REDIS_URL, REDIS_URL_VAR};
    // PostgreSQL, so the read replica can be set too (the primary stands in
    // for it here; `read_replica` tests the routing).
    let db = TestDb::postgres().await.expect("PostgreSQL");
    let dir = std::env::temp_dir().join(format!("pq-settings-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = |name: &str, text: &str| -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let dev = DevChain::start().await;
    let (cert, key) = crate::tls::certificate(&dir, "settings");
    let redis = std::env::var(REDIS_URL_VAR).unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    let at = |name: &str| dir.join(name).display().to_string();
    // The values that must differ from the README's defaults on a test
    // machine (free ports, this test's files), and examples for the
    // settings that are unset by default.
    let given: Vec<(&str, String)> = vec![
        ("PAYQUEST_LISTEN", "127.0.0.1:0".into()),
        ("PAYQUEST_METRICS_LISTEN", "127.0.0.1:0".into()),
        (
            "PAYQUEST_DATABASE_URL",
            "postgres://not-this-one/payquest".into(),
        ),
        (
            "PAYQUEST_DATABASE_URL_FILE",
            file("database-url", &format!("{}\n", db.url)),
        ),
        (
            "PAYQUEST_DATABASE_READ_URL",
            "postgres://not-this-one/replica".into(),
        ),
        ("PAYQUEST_DATABASE_READ_URL_FILE", file("read-url", &db.url)),
        ("PAYQUEST_TLS_CERT_FILE", cert.display().to_string()),
        ("PAYQUEST_TLS_KEY_FILE", key.display().to_string()),
        ("PAYQUEST_SECRETS_KEY_FILE", at("secrets.key")),
        (
            "PAYQUEST_SECRETS_KEY",
            payquest_domain::testing::TEST_SECRETS_KEY.into(),
        ),
        (
            "PAYQUEST_BOOTSTRAP_PASSWORD_FILE",
            at("first-admin-password"),
        ),
        ("PAYQUEST_VALIDATOR_SECRETS", "GAME_KEY=2718281828".into()),
        (
            "PAYQUEST_VALIDATOR_ALLOW_PRIVATE_HOSTS",
            "game.internal".into(),
        ),
        (
            "PAYQUEST_VALIDATOR_SECRET_HOSTS",
            "GAME_KEY=game.internal".into(),
        ),
        ("PAYQUEST_REDIS_URL", "redis://not-this-one:6379".into()),
        ("PAYQUEST_REDIS_URL_FILE", file("redis-url", &redis)),
        (
            "PAYQUEST_REDIS_PREFIX",
            format!("pq_test:{}:", uuid::Uuid::new_v4().simple()),
        ),
        ("PAYQUEST_TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.1".into()),
        ("PAYQUEST_CLIENT_IP_HEADER", "cf-connecting-ip".into()),
        (
            "PAYQUEST_ALERT_WEBHOOK_URL",
            "http://127.0.0.1:9/alerts".into(),
        ),
        (
            "PAYQUEST_ALERT_WEBHOOK_SECRET",
            "31415926535897932384".into(),
        ),
        (
            "PAYQUEST_CONTENT_WEBHOOK_URL",
            "http://127.0.0.1:9/content".into(),
        ),
        ("PAYQUEST_CONTENT_WEBHOOK_SECRET", "1234567890123456".into()),
        ("PAYQUEST_MEDIA_STORE", at("media")),
        ("PAYQUEST_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9".into()),
        ("PAYQUEST_CHAIN_RPC_URL", dev.anvil.endpoint()),
        ("PAYQUEST_CHAIN_ID", dev.anvil.chain_id().to_string()),
        (
            "PAYQUEST_CHAIN_DEPLOYMENT_FILE",
            file(
                "deployment.json",
                &serde_json::to_string(&dev.deployment).expect("json"),
            ),
        ),
        (
            "PAYQUEST_CHAIN_TOKEN_ADDRESS",
            dev.deployment.token.to_string(),
        ),
        (
            "PAYQUEST_CHAIN_PAYOUT_CONTRACT",
            dev.deployment.payout_contract.to_string(),
        ),
        (
            "PAYQUEST_CHAIN_TREASURY_ADDRESS",
            dev.deployment.treasury.to_string(),
        ),
        (
            "PAYQUEST_CHAIN_SIGNER_KEY_FILE",
            file("signer.key", dev.key.expose()),
        ),
        ("PAYQUEST_CHAIN_SIGNER_KEY", dev.key.expose().clone()),
        (
            "PAYQUEST_CHAIN_EXPLORER_TX_URL",
            "https://explorer.example/tx/{hash}".into(),
        ),
        ("PAYQUEST_PAYOUT_TWO_CHECKERS_ABOVE", "1000000".into()),
        ("PAYQUEST_PAYOUT_CHUNK_SIZE", "300".into()),
        ("PAYQUEST_LOG", "warn".into()),
    ];
    let documented = documented_settings();
    let mut env: Vec<(String, String)> = Vec::new();
    for (name, default) in &documented {
        let value = given
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| default.clone())
            .unwrap_or_else(|| panic!("{name} has no default in the README and no example here"));
        env.push((name.clone(), value));
    }
    for (name, _) in &given {
        assert!(
            documented.iter().any(|(n, _)| n == name),
            "{name} is set here but not in the README's settings"
        );
    }

    let mut cmd = crate::command(&db.url);
    cmd.arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start payquest");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for pipe in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut seen = Vec::new();
    let url = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("payquest listening on ") {
                    break url.to_owned();
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start: {}", seen.join("\n"));
            }
        }
    };
    assert!(url.starts_with("https://"), "{url}");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).expect("cert")).expect("pem");
    let https = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let ready = https
        .get(format!("{url}/readyz"))
        .send()
        .await
        .expect("readyz");
    let status = ready.status();
    let body = ready.text().await.unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = rx.try_recv() {
        seen.push(line);
    }
    assert_eq!(status, 200, "{body}");
    assert!(
        !seen.iter().any(|l| l.contains("unknown setting")),
        "a documented setting is unknown to the server: {seen:?}"
    );

    // The chart sets documented names only.
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/helm/payquest");
    let mut chart_text = std::fs::read_to_string(format!("{chart}/values.yaml")).expect("values");
    for entry in std::fs::read_dir(format!("{chart}/templates")).expect("templates") {
        chart_text.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("read"));
    }
    let mut in_chart: Vec<&str> = chart_text
        .match_indices("PAYQUEST_")
        .map(|(at, _)| {
            let rest = &chart_text[at..];
            &rest[..rest
                .find(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
                .unwrap_or(rest.len())]
        })
        .collect();
    in_chart.retain(|n| n.len() > "PAYQUEST_".len());
    in_chart.sort_unstable();
    in_chart.dedup();
    assert!(in_chart.len() > 8, "{in_chart:?}");
    for name in in_chart {
        assert!(
            documented.iter().any(|(n, _)| n == name),
            "the chart sets {name}, which the README does not list"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    db.cleanup().await;
}
