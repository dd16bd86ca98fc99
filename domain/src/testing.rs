//! Throwaway databases for integration tests, on SQLite and on PostgreSQL
//! (`PAYQUEST_TEST_POSTGRES_URL`, by default the local server). An
//! unreachable PostgreSQL fails the test instead of skipping it.

use payquest_types::{ActivityId, CampaignId, CostCentreId, QuestId};
use sqlx::Connection;

use std::collections::BTreeSet;

use payquest_types::{Amount, Role};

use crate::audit::{AuditActor, AuditRecord};
use crate::budgets::Budgets;
use crate::campaigns::{CampaignInput, Campaigns};
use crate::quests::{QuestInput, ValidatorConfig};
use crate::session::Actor;
use crate::store::{connect, Backend, DynStore, NewStaff};

pub const POSTGRES_URL_VAR: &str = "PAYQUEST_TEST_POSTGRES_URL";
/// The machine's own PostgreSQL (trust authentication), used when the variable is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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

    /// A fresh PostgreSQL database on the server at `PAYQUEST_TEST_POSTGRES_URL`
    /// (default: the local server, as `make test` and CI expect). Panics with
    /// the reason when it can't be had: the PostgreSQL suite never skips.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url =
            std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let name = unique_name();
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => panic!(
                "PostgreSQL at {admin_url} ({POSTGRES_URL_VAR}) is unreachable: {e}. \
                 Start it (see README, Tools) or point {POSTGRES_URL_VAR} at a server."
            ),
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

    /// A copy of the database as it is now, as a backup taken at this moment
    /// would hold (for restore drills): SQLite `VACUUM INTO`; PostgreSQL a
    /// database made from this one as its template.
    pub async fn copy(&self) -> TestDb {
        let name = unique_name();
        match self.backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let path = dir.join("payquest.db");
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query(&format!("VACUUM INTO '{}'", path.display()))
                    .execute(&mut conn)
                    .await
                    .expect("vacuum into");
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    backend: Backend::Sqlite,
                    admin_url: None,
                    name,
                    _dir: Some(TempDir(dir)),
                }
            }
            Backend::Postgres => {
                let admin_url = self.admin_url.clone().expect("admin url");
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect");
                // The template may have no other sessions: end them (the
                // pools reconnect), then copy; retry if one came back between.
                let mut last_error = None;
                for _ in 0..20 {
                    sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&self.name)
                    .execute(&mut conn)
                    .await
                    .expect("terminate");
                    match sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {}", self.name))
                        .execute(&mut conn)
                        .await
                    {
                        Ok(_) => {
                            last_error = None;
                            break;
                        }
                        Err(e) => last_error = Some(e),
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                if let Some(e) = last_error {
                    panic!("copying the test database: {e}");
                }
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or_else(|| admin_url.clone());
                TestDb {
                    url: format!("{base}/{name}"),
                    backend: Backend::Postgres,
                    admin_url: Some(admin_url),
                    name,
                    _dir: None,
                }
            }
        }
    }

    /// The database restored from a backup taken now, the way the README's
    /// operations section says: SQLite through `payquest backup`'s
    /// `export::backup`; PostgreSQL with `pg_dump -Fc` into a file and
    /// `pg_restore` into a new database.
    pub async fn restore_from_backup(&self) -> TestDb {
        let name = unique_name();
        match self.backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let path = dir.join("payquest.db");
                crate::export::backup(&self.url, &path)
                    .await
                    .expect("payquest backup");
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    backend: Backend::Sqlite,
                    admin_url: None,
                    name,
                    _dir: Some(TempDir(dir)),
                }
            }
            Backend::Postgres => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let dump = dir.join("payquest.dump");
                let run = |cmd: &mut std::process::Command| {
                    let out = cmd.output().expect("run a PostgreSQL client tool");
                    assert!(
                        out.status.success(),
                        "{cmd:?}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                };
                run(std::process::Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--file"])
                    .arg(&dump)
                    .arg(&self.url));
                let admin_url = self.admin_url.clone().expect("admin url");
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create the restore target");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or_else(|| admin_url.clone());
                let url = format!("{base}/{name}");
                run(std::process::Command::new("pg_restore")
                    .args(["--no-owner", "--exit-on-error", "--dbname"])
                    .arg(&url)
                    .arg(&dump));
                std::fs::remove_dir_all(&dir).ok();
                TestDb {
                    url,
                    backend: Backend::Postgres,
                    admin_url: Some(admin_url),
                    name,
                    _dir: None,
                }
            }
        }
    }

    pub async fn store(&self) -> DynStore {
        // Stored secrets are sealed in tests as in production (one key for
        // the test process; installing it again is a no-op).
        let _ =
            crate::sealed::Sealer::parse(TEST_SECRETS_KEY).and_then(crate::sealed::Sealer::install);
        connect(&self.url).await.expect("connect and migrate")
    }

    /// Runs one SQL statement directly (for tests that must put the
    /// database in a state the product itself never writes, such as the
    /// records a buggy release or a bad restore would leave).
    pub async fn execute(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query(sql).execute(&mut conn).await.expect("execute");
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query(sql).execute(&mut conn).await.expect("execute");
            }
        }
    }

    /// Runs a query whose columns are all whole numbers; its rows (for
    /// tests that check the product against a plain SQL statement).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<i64>> {
        self.rows_of(sql).await
    }

    /// Runs a query whose columns are all of one type `T` (e.g. text).
    pub async fn rows_of<T>(&self, sql: &str) -> Vec<Vec<T>>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        use sqlx::Row;
        fn read<R: Row, T>(rows: Vec<R>) -> Vec<Vec<T>>
        where
            usize: sqlx::ColumnIndex<R>,
            T: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<T, usize>(i).expect("a value of the asked type"))
                        .collect()
                })
                .collect()
        }
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                read(sqlx::query(sql).fetch_all(&mut conn).await.expect("query"))
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                read(sqlx::query(sql).fetch_all(&mut conn).await.expect("query"))
            }
        }
    }

    /// Whether this is the PostgreSQL database (for SQL written per dialect).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres)
    }

    /// The values a column's CHECK allows (`CHECK (column IN ('a', 'b'))`),
    /// as the database itself reports its schema now.
    pub async fn check_values(&self, table: &str, column: &str) -> Vec<String> {
        let clause = match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let sql: String = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = $1",
                )
                .bind(table)
                .fetch_one(&mut conn)
                .await
                .expect("schema");
                let start = sql
                    .find(&format!("CHECK ({column} IN"))
                    .unwrap_or_else(|| panic!("{table}.{column} has no CHECK"));
                let end = sql[start..].find("))").expect("end of CHECK") + start;
                sql[start..end].to_owned()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let defs: Vec<String> = sqlx::query_scalar(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE conrelid = $1::regclass AND contype = 'c'",
                )
                .bind(table)
                .fetch_all(&mut conn)
                .await
                .expect("constraints");
                defs.into_iter()
                    .find(|d| {
                        d.contains(&format!("({column} = ANY"))
                            || d.contains(&format!("(({column})::text = ANY"))
                    })
                    .unwrap_or_else(|| panic!("{table}.{column} has no CHECK"))
            }
        };
        clause
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
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

/// The sealing key of the test process (32 bytes, base64).
pub const TEST_SECRETS_KEY: &str = "test=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub const REDIS_URL_VAR: &str = "PAYQUEST_TEST_REDIS_URL";
/// The machine's own Redis, used when the variable is unset.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Throttle counters in the test Redis under a fresh prefix. Panics with the
/// reason when Redis can't be reached: the Redis suite never skips.
pub async fn redis_throttle() -> crate::session::throttle::RedisThrottle {
    let url = std::env::var(REDIS_URL_VAR).unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    let prefix = format!("pq_test:{}:", uuid::Uuid::new_v4().simple());
    match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        crate::session::throttle::RedisThrottle::connect(&url, &prefix),
    )
    .await
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => panic!("Redis at {url} ({REDIS_URL_VAR}) is unreachable: {e}"),
        Err(_) => panic!("Redis at {url} ({REDIS_URL_VAR}) did not answer in 5 s"),
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

/// A staff member with one role, created straight in the store.
/// A world for domain tests in one line: an active campaign with one quest
/// paying 1 token, its budget funded with `fund_tokens`, `rewards` eligible
/// payout items, and the people who move money (a maker, two checkers,
/// finance).
pub struct World {
    pub store: DynStore,
    pub quest_id: QuestId,
    pub campaign_id: CampaignId,
    pub cost_centre_id: CostCentreId,
    pub maker: Actor,
    pub checker: Actor,
    pub checker2: Actor,
    pub finance: Actor,
}

impl World {
    /// Manual validation; `rewards` items made eligible directly.
    pub async fn new(db: &TestDb, rewards: u64, fund_tokens: i64) -> World {
        World::with_validator(db, ValidatorConfig::Manual, rewards, fund_tokens).await
    }

    /// The same world with the quest's validator of the test's choosing.
    pub async fn with_validator(
        db: &TestDb,
        validator: ValidatorConfig,
        rewards: u64,
        fund_tokens: i64,
    ) -> World {
        let store = db.store().await;
        let quest_id = active_quest(&store, "world", validator).await;
        let campaign = quest_campaign(&store, quest_id).await;
        let finance = staff(&store, "fin@example.com", Role::Finance).await;
        if fund_tokens > 0 {
            Budgets::new(store.clone())
                .fund(
                    &finance,
                    campaign.budget.cost_centre_id,
                    Amount::from_minor(fund_tokens * 1_000_000),
                    "fund-1",
                )
                .await
                .expect("fund");
        }
        for n in 0..rewards {
            earn_reward(&store, quest_id, n).await;
        }
        World {
            maker: staff(&store, "maker@example.com", Role::Maker).await,
            checker: staff(&store, "checker@example.com", Role::Checker).await,
            checker2: staff(&store, "checker2@example.com", Role::Checker).await,
            finance,
            quest_id,
            campaign_id: campaign.campaign_id,
            cost_centre_id: campaign.budget.cost_centre_id,
            store,
        }
    }
}

/// The campaign a quest belongs to (with its budget's cost centre).
pub async fn quest_campaign(store: &DynStore, quest_id: QuestId) -> crate::store::CampaignRecord {
    let quest = store.quest(quest_id).await.expect("read").expect("quest");
    store
        .campaign(quest.campaign_id)
        .await
        .expect("read")
        .expect("campaign")
}

pub async fn staff(store: &DynStore, email: &str, role: Role) -> Actor {
    let user = store
        .create_staff(
            &NewStaff {
                email,
                display_name: "Test Person",
                password_hash: "not-a-hash",
                must_change_password: false,
                roles: &[role],
                now_ms: 1,
                role_request: None,
            },
            &AuditRecord::new(&AuditActor::system("test"), "staff.created", "staff:new"),
        )
        .await
        .expect("create staff");
    Actor {
        user_id: user.staff_user_id,
        email: email.to_owned(),
        roles: BTreeSet::from([role]),
        ip: None,
        via: None,
    }
}

/// An active campaign (with its owner, cost centre and finance user) and one
/// quest paying 1 token, validated by `validator`. Returns the quest id.
pub async fn active_quest(store: &DynStore, tag: &str, validator: ValidatorConfig) -> QuestId {
    let finance = staff(store, &format!("finance-{tag}@example.com"), Role::Finance).await;
    let owner = staff(
        store,
        &format!("owner-{tag}@example.com"),
        Role::CampaignOwner,
    )
    .await;
    let cc = Budgets::new(store.clone())
        .create_cost_centre(&finance, &format!("CC-{tag}"), "Test budget")
        .await
        .expect("cost centre");
    let campaigns = Campaigns::new(store.clone());
    let campaign = campaigns
        .create(
            &finance,
            CampaignInput {
                name: "Test campaign",
                owner_user_id: owner.user_id,
                cost_centre_id: cc.cost_centre_id,
                starts_at_ms: 0,
                ends_at_ms: i64::MAX / 2,
                alert_threshold_pct: 80,
            },
        )
        .await
        .expect("campaign");
    campaigns
        .set_status(&finance, campaign.campaign_id, "active")
        .await
        .expect("activate");
    campaigns
        .create_quest(
            &finance,
            QuestInput {
                campaign_id: campaign.campaign_id,
                name: "Win a match",
                reward: Amount::from_minor(1_000_000),
                max_completions: None,
                max_per_gamer: None,
                repeat_period_s: None,
                validator,
            },
        )
        .await
        .expect("quest")
        .quest_id
}

/// A fresh API client allowed to report activities, as the machine API
/// would see it after its token is checked.
pub async fn game_server(store: &DynStore, name: &str) -> crate::api_clients::MachinePrincipal {
    use crate::api_clients::{ApiClients, ClientAdmin, MachinePrincipal, Scope};
    let creds = ApiClients::new(store.clone())
        .create(ClientAdmin::Cli, name, "activities:write")
        .await
        .expect("client");
    let client = store
        .api_client(&creds.client_id)
        .await
        .expect("read")
        .expect("exists");
    MachinePrincipal {
        api_client_id: client.api_client_id,
        client_id: client.client_id,
        scopes: BTreeSet::from([Scope::ActivitiesWrite]),
    }
}

/// Reports one activity for a manual quest as a fresh API client, lets a
/// validation round send it to review, and approves it: the quest's reward
/// becomes an eligible payout item. Returns the activity id.
pub async fn earn_reward(store: &DynStore, quest_id: QuestId, n: u64) -> ActivityId {
    use crate::activities::{Activities, ActivityIn};
    use crate::review::Reviews;
    use crate::validation::{Validation, ValidationPolicy, ValidatorSecrets};
    let principal = game_server(store, &format!("Reward {n}")).await;
    let item = ActivityIn {
        external_id: format!("earned-{n}"),
        quest_id,
        wallet: format!("0x{:040x}", 0xbeef_0000 + n),
        game_account_id: None,
        social_handle: None,
        occurred_at: crate::clock::format_ms(crate::clock::now_ms() - 60_000),
        evidence: None,
        signature: None,
    };
    let out = Activities::new(store.clone())
        .ingest(&principal, &[item])
        .await
        .expect("ingest");
    let id = out[0].activity_id.expect("stored");
    Validation::new(
        store.clone(),
        ValidationPolicy::default(),
        ValidatorSecrets::default(),
    )
    .expect("validation")
    .run_once()
    .await
    .expect("round");
    let reviewer = staff(store, &format!("reviewer-{n}@example.com"), Role::Community).await;
    let decided = Reviews::new(store.clone())
        .decide(&reviewer, &[id], true, "checked")
        .await
        .expect("approve");
    assert_eq!(decided[0].status.as_deref(), Some("validated"));
    id
}

/// A leaderboard's ranking as one plain statement over the validated,
/// rewarded activities of a campaign: (gamer, points, tokens, reached at),
/// best first, ties by the earliest to reach the score, then the lower
/// gamer id. What the score table must agree with.
pub fn plain_ranking(campaign: CampaignId, tokens: bool, ends_at_ms: Option<i64>) -> String {
    let score = if tokens {
        "CAST(SUM(p.amount_minor) AS BIGINT)"
    } else {
        "COUNT(*)"
    };
    let window = ends_at_ms
        .map(|e| format!(" AND a.occurred_at_ms < {e} AND a.validated_at_ms < {e}"))
        .unwrap_or_default();
    format!(
        "SELECT p.gamer_id, COUNT(*), CAST(SUM(p.amount_minor) AS BIGINT), MAX(a.occurred_at_ms) \
         FROM payout_item p JOIN activity a ON a.activity_id = p.activity_id \
         WHERE p.campaign_id = {campaign}{window} GROUP BY p.gamer_id \
         ORDER BY {score} DESC, MAX(a.occurred_at_ms) ASC, p.gamer_id ASC"
    )
}

/// `activities` validated, rewarded activities of `quest` across `gamers`
/// new gamers, written straight to the tables (one statement each, for
/// tests and benchmarks at scale). Every gamer has one; the rest go
/// unevenly (i² mod gamers); times repeat every 500, so full ties are
/// common; rewards are 1 to 3 tokens.
pub async fn seed_validated_activities(
    db: &TestDb,
    store: &DynStore,
    quest: QuestId,
    campaign: CampaignId,
    activities: u32,
    gamers: u32,
) {
    let client = game_server(store, "Seeded activities").await.api_client_id;
    let hex = |e: &str| {
        if db.is_postgres() {
            format!("lpad(to_hex({e}), 40, '0')")
        } else {
            format!("printf('%040x', {e})")
        }
    };
    let n = |max: u32| {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {max})")
    };
    db.execute(&format!(
        "{} INSERT INTO gamer (wallet, created_at_ms) SELECT '0x' || {}, 0 FROM n",
        n(gamers),
        hex("i")
    ))
    .await;
    db.execute(&format!(
        "{} INSERT INTO activity_ref (api_client_id, external_id, payload_hash, received_at_ms) \
         SELECT {client}, 'seed-' || i, 'x', 1000000 FROM n",
        n(activities),
    ))
    .await;
    db.execute(&format!(
        "{} INSERT INTO activity (activity_id, api_client_id, external_id, payload_hash, quest_id, gamer_id, status, \
         next_attempt_at_ms, occurred_at_ms, received_at_ms, validated_at_ms, rewarded_at_ms) \
         SELECT r.activity_id, {client}, r.external_id, 'x', {quest}, g.gamer_id, 'validated', 0, \
           1000000 + (i % 500) * 1000, 1000000, 2000000, 2000000 \
         FROM n JOIN activity_ref r ON r.api_client_id = {client} AND r.external_id = 'seed-' || i \
         JOIN gamer g ON g.wallet = '0x' || {}",
        n(activities),
        hex(&format!(
            "CASE WHEN i <= {gamers} THEN i ELSE (CAST(i AS BIGINT) * i) % {gamers} + 1 END"
        )),
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO payout_item (activity_id, quest_id, campaign_id, gamer_id, amount_minor, state, created_at_ms) \
         SELECT activity_id, quest_id, {campaign}, gamer_id, (activity_id % 3 + 1) * 1000000, 'eligible', 2000000 \
         FROM activity WHERE external_id LIKE 'seed-%'"
    ))
    .await;
}

/// The anvil binary the npm package `@foundry-rs/anvil` ships (see `make tools`).
pub fn anvil_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("PAYQUEST_ANVIL") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// A throwaway anvil on a free port of 127.0.0.1 with the token and payout
/// contracts deployed; account 0 is owner, treasury and operator. Stops on drop.
pub struct DevChain {
    pub anvil: alloy::node_bindings::AnvilInstance,
    pub key: crate::secret::Secret<String>,
    pub deployment: crate::chain::Deployment,
}

impl DevChain {
    /// The settings a `payquest serve` needs to pay on this chain (its
    /// node, chain id, contracts, treasury and signer).
    pub fn server_env(&self) -> Vec<(String, String)> {
        [
            ("PAYQUEST_CHAIN_RPC_URL", self.anvil.endpoint()),
            ("PAYQUEST_CHAIN_ID", self.anvil.chain_id().to_string()),
            (
                "PAYQUEST_CHAIN_TOKEN_ADDRESS",
                self.deployment.token.to_string(),
            ),
            (
                "PAYQUEST_CHAIN_PAYOUT_CONTRACT",
                self.deployment.payout_contract.to_string(),
            ),
            (
                "PAYQUEST_CHAIN_TREASURY_ADDRESS",
                self.deployment.treasury.to_string(),
            ),
            ("PAYQUEST_CHAIN_SIGNER_KEY", self.key.expose().clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub async fn start() -> DevChain {
        DevChain::start_with(&[]).await
    }

    /// The same chain with anvil's own options added, e.g. a block time and
    /// gas limit like a real chain's.
    pub async fn start_with(args: &[&str]) -> DevChain {
        let anvil = alloy::node_bindings::Anvil::at(anvil_path())
            .arg("--enable-tx-gas-limit")
            .args(args.iter().copied())
            .spawn();
        let key = crate::secret::Secret::new(hex::encode(anvil.keys()[0].to_bytes()));
        let deployment =
            crate::chain::deploy_dev(&anvil.endpoint(), &key, 1_000_000_000 * 1_000_000)
                .await
                .expect("deploy the dev contracts");
        DevChain {
            anvil,
            key,
            deployment,
        }
    }

    pub fn settings(&self, confirmations: u64) -> crate::chain::ChainSettings {
        crate::chain::ChainSettings {
            rpc_url: self.anvil.endpoint(),
            chain_id: self.anvil.chain_id(),
            token: self.deployment.token,
            payout_contract: self.deployment.payout_contract,
            treasury: self.deployment.treasury,
            token_decimals: 6,
            signer_key: self.key.clone(),
            confirmations,
            max_fee_cap_wei: 100_000_000_000,
            priority_fee_wei: 1_000_000_000,
            stuck_after_ms: 30_000,
            start_block: self.deployment.start_block,
            reorg_window_blocks: 3,
        }
    }

    /// Mines `n` empty blocks.
    pub async fn mine(&self, n: u64) {
        use alloy::providers::Provider;
        let provider = alloy::providers::RootProvider::<alloy::network::Ethereum>::new_http(
            self.anvil.endpoint_url(),
        );
        for _ in 0..n {
            let _: serde_json::Value = provider
                .raw_request("evm_mine".into(), ())
                .await
                .expect("evm_mine");
        }
    }
}

/// Eligible rewards in bulk for a manual quest: reports one activity per
/// wallet as one API client, lets validation send them to review, and
/// approves them all. Returns the activity ids.
pub async fn reviewed_rewards(
    store: &DynStore,
    quest_id: QuestId,
    tag: &str,
    wallets: &[String],
) -> Vec<ActivityId> {
    use crate::activities::{Activities, ActivityIn};
    use crate::review::Reviews;
    use crate::validation::{Validation, ValidationPolicy, ValidatorSecrets};
    let principal = game_server(store, &format!("Bulk {tag}")).await;
    let items: Vec<ActivityIn> = wallets
        .iter()
        .enumerate()
        .map(|(n, w)| ActivityIn {
            external_id: format!("{tag}-{n}"),
            quest_id,
            wallet: w.clone(),
            game_account_id: None,
            social_handle: None,
            occurred_at: crate::clock::format_ms(crate::clock::now_ms() - 60_000),
            evidence: None,
            signature: None,
        })
        .collect();
    let out = Activities::new(store.clone())
        .ingest(&principal, &items)
        .await
        .expect("ingest");
    let ids: Vec<ActivityId> = out.iter().map(|o| o.activity_id.expect("stored")).collect();
    let validation = Validation::new(
        store.clone(),
        ValidationPolicy {
            claim_batch: 500,
            ..ValidationPolicy::default()
        },
        ValidatorSecrets::default(),
    )
    .expect("validation");
    while validation.run_once().await.expect("round") > 0 {}
    let reviewer = staff(
        store,
        &format!("bulk-reviewer-{tag}@example.com"),
        Role::Community,
    )
    .await;
    for chunk in ids.chunks(100) {
        Reviews::new(store.clone())
            .decide(&reviewer, chunk, true, "checked")
            .await
            .expect("approve");
    }
    ids
}
