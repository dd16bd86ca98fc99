//! SQLite backend: a WAL-mode file, the default for one machine.
//!
//! SQLite lets one writer in at a time. Write transactions come from a pool
//! of one connection, so writers wait their turn in the pool's queue (first
//! come, first served, woken the moment the last one commits) instead of
//! sleeping in SQLite's busy handler, and start with `BEGIN IMMEDIATE` so a
//! writer outside that pool can never make one deadlock on a lock upgrade.
//! Reads use the other pool, beside the writer (WAL).

use std::str::FromStr;
use std::time::Duration;

// The shared SQL bodies (the `impl_*` macros) name the id types unqualified.
use payquest_types::ids::*;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::activity_sql::impl_activities;
use super::campaigns_sql::impl_campaigns;
use super::chain_sql::impl_chain;
use super::content_sql::impl_content;
use super::leaderboard_sql::impl_leaderboards;
use super::ledger_sql::impl_ledger;
use super::machine_sql::impl_machine;
use super::payout_sql::impl_payouts;
use super::sql::impl_store;
use super::validation_sql::impl_validation;
use super::StoreResult;

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection write transactions use.
    writer: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, &super::PoolSettings::default()).await
    }

    /// SQLite takes the pool size and acquire timeout; its statements need
    /// no server-side limit.
    pub async fn connect_with(url: &str, settings: &super::PoolSettings) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it returns. With NORMAL a power
            // loss in WAL mode can drop the last commits, such as a chunk's
            // signed bytes, and a restarted sender would pay again.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Migrations run on a connection of their own, closed before the
        // pool opens: a migration that edits the schema text (see
        // 20261201000003) must not leave a pooled connection with the old
        // schema cached.
        {
            use sqlx::Connection as _;
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
            MIGRATOR.run(&mut conn).await?;
            conn.close().await?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.unwrap_or(8))
            .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
            .connect_with(options.clone())
            .await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(BUSY_TIMEOUT.max(Duration::from_millis(settings.acquire_timeout_ms)))
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }

    /// One file, no partitions.
    async fn create_partitions(
        &self,
        _now_ms: i64,
        _months_ahead: u32,
    ) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    /// One writer at a time on SQLite, so claims need no row locks.
    const CLAIM_LOCK: &'static str = "";

    /// A validation that scores a leaderboard holds its row (a redefinition
    /// waits for it); SQLite has one writer at a time.
    const SHARE_LOCK: &'static str = "";

    /// A chunk's writes hold the rows whose claims they checked; on SQLite
    /// their write transaction already excludes every other writer.
    const ROW_LOCK: &'static str = "";

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// SQLite plans key lookups by its indexes whatever its statistics.
    async fn begin_keyed_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }
}

impl_activities!(SqliteStore, Sqlite);
impl_campaigns!(SqliteStore, Sqlite);
impl_content!(SqliteStore, Sqlite);
impl_chain!(SqliteStore, Sqlite);
impl_leaderboards!(SqliteStore, Sqlite);
impl_ledger!(SqliteStore, Sqlite);
impl_machine!(SqliteStore, Sqlite);
impl_payouts!(SqliteStore, Sqlite);
impl_validation!(SqliteStore, Sqlite);
impl_store!(SqliteStore, Sqlite);
