//! Throwaway databases for integration tests, on SQLite always and on
//! PostgreSQL when `PAYQUEST_TEST_POSTGRES_URL` is set. Under CI (`CI=true`)
//! a missing or unreachable PostgreSQL fails the test instead of skipping it.

use sqlx::Connection;

use crate::store::{connect, Backend, DynStore};

pub const POSTGRES_URL_VAR: &str = "PAYQUEST_TEST_POSTGRES_URL";

pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    admin_url: Option<String>,
    name: String,
    _dir: Option<TempDir>,
}

/// A temporary directory removed on drop (kept tiny instead of a dependency).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique_name() -> String {
    format!("pq_test_{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let name = unique_name();
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TestDb {
            url: format!("sqlite://{}/payquest.db", dir.display()),
            backend: Backend::Sqlite,
            admin_url: None,
            name,
            _dir: Some(TempDir(dir)),
        }
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured
    /// outside CI. Panics under CI when it can't be had.
    pub async fn postgres() -> Option<TestDb> {
        let in_ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(
                !in_ci,
                "{POSTGRES_URL_VAR} must be set in CI: the PostgreSQL suite may not be skipped"
            );
            eprintln!("skipping PostgreSQL: {POSTGRES_URL_VAR} is not set");
            return None;
        };
        let name = unique_name();
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => panic!("PostgreSQL at {POSTGRES_URL_VAR} is unreachable: {e}"),
        };
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        Some(TestDb {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            admin_url: Some(admin_url),
            name,
            _dir: None,
        })
    }

    pub async fn store(&self) -> DynStore {
        connect(&self.url).await.expect("connect and migrate")
    }

    /// Drops a PostgreSQL test database; SQLite files go with the temp dir.
    pub async fn cleanup(self) {
        if let Some(admin) = &self.admin_url {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(&mut conn)
                .await;
            }
        }
    }
}

/// Runs `test` on SQLite, then on PostgreSQL when available.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite();
                $body(&db).await;
                db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = $crate::testing::TestDb::postgres().await {
                    $body(&db).await;
                    db.cleanup().await;
                }
            }
        }
    };
}
