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
