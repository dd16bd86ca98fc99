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

const POOL_MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Workers on several replicas skip the rows another worker holds.
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";

    /// A validation that scores a leaderboard holds its row (a redefinition
    /// waits for it); SQLite has one writer at a time.
    const SHARE_LOCK: &'static str = " FOR SHARE OF l";

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.pool.begin().await
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
