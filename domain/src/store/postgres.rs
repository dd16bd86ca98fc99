//! PostgreSQL backend, for production and for several replicas on one database.

use std::time::Duration;

// The shared SQL bodies (the `impl_*` macros) name the id types unqualified.
use payquest_types::ids::*;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

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

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, &super::PoolSettings::default()).await
    }

    pub async fn connect_with(url: &str, settings: &super::PoolSettings) -> StoreResult<Self> {
        let pool = Self::pool_options(settings)
            .connect_with(Self::connect_options(url, settings)?)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// A read replica: no migrations (a standby cannot run them; the
    /// primary's reach it by replication), and every transaction read-only
    /// (`default_transaction_read_only`, a startup parameter), so a write
    /// sent there by mistake fails instead of landing.
    pub async fn connect_replica(url: &str, settings: &super::PoolSettings) -> StoreResult<Self> {
        let options = Self::connect_options(url, settings)?
            .options([("default_transaction_read_only", "on")]);
        let pool = Self::pool_options(settings).connect_with(options).await?;
        Ok(Self { pool })
    }

    /// The pool as `settings` say.
    pub fn pool_options(settings: &super::PoolSettings) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(settings.max_connections.unwrap_or(16))
            .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
    }

    /// Each connection as `settings` say: the statement timeout as a
    /// startup parameter, and no statement cache (unnamed statements only)
    /// when a transaction-mode pooler sits in between.
    pub fn connect_options(
        url: &str,
        settings: &super::PoolSettings,
    ) -> StoreResult<sqlx::postgres::PgConnectOptions> {
        use std::str::FromStr;
        let mut options = sqlx::postgres::PgConnectOptions::from_str(url)?;
        if settings.statement_timeout_ms > 0 {
            options = options.options([(
                "statement_timeout",
                settings.statement_timeout_ms.to_string(),
            )]);
        }
        if settings.no_prepared_statements {
            options = options.statement_cache_capacity(0);
        }
        Ok(options)
    }

    /// The month partitions that are missing, created one by one (replicas
    /// may race here: a partition another replica created meanwhile counts
    /// as there).
    async fn create_partitions(&self, now_ms: i64, months_ahead: u32) -> StoreResult<Vec<String>> {
        let exists = |name: String| async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = $1 AND n.nspname = current_schema())",
            )
            .bind(name)
            .fetch_one(&self.pool)
            .await
        };
        let mut created = Vec::new();
        for (month, from_ms, to_ms) in crate::partitions::months(now_ms, months_ahead) {
            for table in ["activity", "activity_attempt"] {
                let name = format!("{table}_{month}");
                if exists(name.clone()).await? {
                    continue;
                }
                let made = sqlx::query(&format!(
                    "CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({from_ms}) TO ({to_ms})"
                ))
                .execute(&self.pool)
                .await;
                match made {
                    Ok(_) => created.push(name),
                    Err(_) if exists(name.clone()).await? => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(created)
    }

    /// Workers on several replicas skip the rows another worker holds.
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";

    /// A validation that scores a leaderboard holds its row (a redefinition
    /// waits for it); SQLite has one writer at a time.
    const SHARE_LOCK: &'static str = " FOR SHARE OF l";

    /// A chunk's writes hold the rows whose claims they checked, so a
    /// worker taking over an expired lease waits for them.
    const ROW_LOCK: &'static str = " FOR UPDATE OF activity";

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.pool.begin().await
    }

    /// A write transaction whose statements reach their rows by key (the
    /// validation worker's claims and batched writes). The planner is told
    /// not to scan: a new month's partition has no statistics until
    /// autovacuum first analyzes it, and meanwhile a join of a few hundred
    /// keys was planned as a scan of every row in it (230 ms a chunk at a
    /// million rows, against 15 ms by index). The scan's penalty then makes
    /// every plan look dear, and a dear plan is run by parallel workers and
    /// compiled by JIT: for a few hundred rows that costs more than the
    /// query (a 64-key load took 11 ms with two workers, 1.4 ms without, and
    /// tens of ms once JIT compiled it), so both are off here too. So are
    /// hash and merge joins: with no statistics a key was thought to match
    /// thousands of rows, and the claimed activities were joined to their
    /// gamers by hashing the whole gamer table (4.6 ms for 10,000 gamers,
    /// 0.9 ms by nested lookups; it grows with the table, the lookups don't).
    async fn begin_keyed_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true), \
             set_config('max_parallel_workers_per_gather', '0', true), \
             set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
        )
        .execute(&mut *tx)
        .await?;
        Ok(tx)
    }
}

impl_activities!(PgStore, Postgres);
impl_campaigns!(PgStore, Postgres);
impl_content!(PgStore, Postgres);
impl_chain!(PgStore, Postgres);
impl_leaderboards!(PgStore, Postgres);
impl_ledger!(PgStore, Postgres);
impl_machine!(PgStore, Postgres);
impl_payouts!(PgStore, Postgres);
impl_validation!(PgStore, Postgres);
impl_store!(PgStore, Postgres);
