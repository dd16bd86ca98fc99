//! Configuration: defaults, then an optional TOML file (`PAYQUEST_CONFIG`),
//! then `PAYQUEST_*` environment variables. Secrets are wrapped so they never
//! print. Every setting is listed in the README with its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use payquest_domain::secret::{KeyedUrl, Secret};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// Where `/metrics` is served (never on the public listener); port 0 picks one.
    #[serde(default = "defaults::metrics_listen")]
    pub metrics_listen: SocketAddr,
    /// `sqlite://path` or `postgres://…`; may hold a password, hence secret.
    #[serde(default = "defaults::database_url")]
    pub database_url: Secret<String>,
    /// A read replica (`postgres://…`) for reads that tolerate lag: owners'
    /// figures and charts, staff's activity lists, leaderboards. Money
    /// decisions never read from it.
    #[serde(default)]
    pub database_read_url: Option<Secret<String>>,
    /// A file holding the read replica's URL; wins over `database_read_url`.
    #[serde(default)]
    pub database_read_url_file: Option<PathBuf>,
    /// Database connections per replica (default: 8 on SQLite, 16 on PostgreSQL).
    #[serde(default)]
    pub database_pool_size: Option<u32>,
    /// How long a request waits for a free database connection.
    #[serde(default = "defaults::database_acquire_timeout_ms")]
    pub database_acquire_timeout_ms: u64,
    /// PostgreSQL ends a statement running longer than this (0: no limit).
    #[serde(default = "defaults::database_statement_timeout_ms")]
    pub database_statement_timeout_ms: u64,
    /// Behind a transaction-mode pooler (PgBouncer, RDS Proxy): no named
    /// prepared statements.
    #[serde(default)]
    pub database_no_prepared_statements: bool,
    /// A file holding the database URL, as a secrets manager's CSI driver
    /// mounts it; wins over `database_url`.
    #[serde(default)]
    pub database_url_file: Option<PathBuf>,
    #[serde(default = "defaults::log_format")]
    pub log_format: LogFormat,
    /// The first admin's email, created on a first start with no accounts.
    #[serde(default = "defaults::bootstrap_admin_email")]
    pub bootstrap_admin_email: String,
    /// The key file that seals stored secrets (one `key_id=base64(32 bytes)`
    /// per line, the current one first; older ones still open what they
    /// sealed). Created on a first start when missing.
    #[serde(default = "defaults::secrets_key_file")]
    pub secrets_key_file: PathBuf,
    /// The same keys as text (wins over the file), e.g. from a secret store.
    #[serde(default)]
    pub secrets_key: Secret<String>,
    /// With JSON logs, the first admin's one-time password is written here
    /// (mode 0600) instead of to standard output.
    #[serde(default = "defaults::bootstrap_password_file")]
    pub bootstrap_password_file: PathBuf,
    /// Serve TLS (1.2 and 1.3, rustls) on `listen` with this certificate
    /// chain and key (PEM), for deployments without a terminating proxy.
    /// Both files are read again when they change.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// How often the TLS files are checked for a change.
    #[serde(default = "defaults::tls_reload_ms")]
    pub tls_reload_ms: u64,
    /// The URL people reach the app at. `https://` turns on Secure cookies and HSTS.
    #[serde(default = "defaults::public_url")]
    pub public_url: String,
    /// A session ends after this long without a request.
    #[serde(default = "defaults::session_idle_minutes")]
    pub session_idle_minutes: i64,
    /// A gamer's session (its own cookie, `pq_gamer`) ends after this long
    /// without a request: shorter than staff's, as gamers sign in from
    /// shared and public machines.
    #[serde(default = "defaults::gamer_session_idle_minutes")]
    pub gamer_session_idle_minutes: i64,
    /// A session ends this long after sign-in, however active.
    #[serde(default = "defaults::session_absolute_hours")]
    pub session_absolute_hours: i64,
    /// Largest request body accepted, in bytes.
    #[serde(default = "defaults::body_limit_bytes")]
    pub body_limit_bytes: usize,
    /// `NAME=value,…`: API keys and signing keys the validators refer to by name.
    #[serde(default)]
    pub validator_secrets: Secret<String>,
    /// `redis://…`: rate-limit counters shared by every replica (in process when unset).
    #[serde(default)]
    pub redis_url: Option<Secret<String>>,
    /// A file holding the Redis URL; wins over `redis_url`.
    #[serde(default)]
    pub redis_url_file: Option<PathBuf>,
    /// Prefix of every key this deployment keeps in Redis (two deployments
    /// may share one Redis under different prefixes).
    #[serde(default = "defaults::redis_prefix")]
    pub redis_prefix: String,
    /// Server-function calls (`POST /api/<name>`) per client IP per minute.
    #[serde(default = "defaults::rate_server_fn_per_minute")]
    pub rate_server_fn_per_minute: u64,
    /// Requests to the activity API per API client per minute.
    #[serde(default = "defaults::rate_activity_requests_per_minute")]
    pub rate_activity_requests_per_minute: u64,
    /// `ip,cidr,…`: reverse proxies whose forwarding headers are believed. A
    /// request from one of them is attributed to the address in
    /// `client_ip_header` if set (e.g. `cf-connecting-ip` behind Cloudflare),
    /// else to the nearest untrusted hop of `X-Forwarded-For`.
    #[serde(default)]
    pub trusted_proxies: String,
    #[serde(default)]
    pub client_ip_header: Option<String>,
    /// `host,host`: hosts validators may reach although they resolve to
    /// loopback, private or link-local addresses (none by default).
    #[serde(default)]
    pub validator_allow_private_hosts: String,
    /// `NAME=host|host:port,…`: where each named validator secret may be sent.
    /// `DISCORD_BOT_TOKEN` and `YOUTUBE_API_KEY` default to their base URL's host.
    #[serde(default)]
    pub validator_secret_hosts: String,
    /// The Discord API base URL (`https://discord.com/api/v10`).
    #[serde(default)]
    pub discord_base_url: Option<String>,
    /// The YouTube Data API base URL (`https://www.googleapis.com/youtube/v3`).
    #[serde(default)]
    pub youtube_base_url: Option<String>,
    /// Run the validation workers in this process.
    #[serde(default = "defaults::yes")]
    pub validation_workers: bool,
    /// Where budget threshold alerts are posted (signed); none when unset.
    #[serde(default)]
    pub alert_webhook_url: Option<KeyedUrl>,
    /// HMAC key for the alert webhook's `x-payquest-signature`.
    #[serde(default)]
    pub alert_webhook_secret: Secret<String>,
    /// How often budgets are checked against their alert thresholds.
    #[serde(default = "defaults::alert_interval_ms")]
    pub alert_interval_ms: u64,
    /// Activities one replica validates at a time.
    #[serde(default = "defaults::validation_concurrency")]
    pub validation_concurrency: usize,
    /// Activities a validation worker claims per round (at least the
    /// concurrency, at most 1,000).
    #[serde(default = "defaults::validation_claim_batch")]
    pub validation_claim_batch: u32,
    /// Transactions one replica's validation writes at once (1 to 16).
    #[serde(default = "defaults::validation_writers")]
    pub validation_writers: usize,
    /// How long an idle validation worker waits before looking again.
    #[serde(default = "defaults::validation_idle_ms")]
    pub validation_idle_ms: u64,
    /// Where content publish and unpublish events are posted (signed); none when unset.
    #[serde(default)]
    pub content_webhook_url: Option<KeyedUrl>,
    /// HMAC key of the content webhook's `payquest-signature` (16+ characters).
    #[serde(default)]
    pub content_webhook_secret: Secret<String>,
    /// The wait before a failed webhook's first retry; it doubles after each.
    #[serde(default = "defaults::webhook_backoff_ms")]
    pub content_webhook_backoff_ms: i64,
    /// How often due content schedules and webhooks are looked for.
    #[serde(default = "defaults::content_worker_interval_ms")]
    pub content_worker_interval_ms: u64,
    /// How often the pipeline's gauges (rows per state, open findings,
    /// reconciliation lag) are read from the database.
    #[serde(default = "defaults::gauges_interval_ms")]
    pub gauges_interval_ms: u64,
    /// Days validation evidence of decided activities is kept (0: for good).
    #[serde(default = "defaults::retention_evidence_days")]
    pub retention_evidence_days: u32,
    /// Days delivered or abandoned content webhooks are kept (0: for good).
    #[serde(default = "defaults::retention_webhook_days")]
    pub retention_webhook_days: u32,
    /// Days an uploaded image no content version names is kept (0: for good).
    #[serde(default = "defaults::retention_media_days")]
    pub retention_media_days: u32,
    /// How often the retention policy is applied.
    #[serde(default = "defaults::retention_interval_ms")]
    pub retention_interval_ms: u64,
    /// Where uploaded images are kept: a folder, or `s3://bucket/prefix`.
    #[serde(default = "defaults::media_store")]
    pub media_store: String,
    /// An S3-compatible endpoint (e.g. MinIO), for `s3://` media stores.
    #[serde(default)]
    pub media_s3_endpoint: Option<String>,

    /// EVM JSON-RPC endpoint; payouts are not sent without it.
    #[serde(default)]
    pub chain_rpc_url: Option<KeyedUrl>,
    /// The chain id the node must report at start.
    #[serde(default = "defaults::chain_id")]
    pub chain_id: u64,
    /// A JSON file with `token`, `payout_contract`, `treasury` and
    /// `start_block` (what `payquest chain deploy-dev` writes); the three
    /// address settings below override it.
    #[serde(default)]
    pub chain_deployment_file: Option<PathBuf>,
    #[serde(default)]
    pub chain_token_address: Option<String>,
    #[serde(default)]
    pub chain_payout_contract: Option<String>,
    #[serde(default)]
    pub chain_treasury_address: Option<String>,
    #[serde(default = "defaults::token_decimals")]
    pub chain_token_decimals: u8,
    /// The payout contract operator's private key (hex). Prefer the file.
    #[serde(default)]
    pub chain_signer_key: Secret<String>,
    /// A file holding the operator's private key (hex).
    #[serde(default)]
    pub chain_signer_key_file: Option<PathBuf>,
    /// Blocks deep a receipt must be before a payout counts as confirmed.
    #[serde(default = "defaults::confirmations")]
    pub chain_confirmations: u64,
    /// The highest max fee per gas paid, in gwei.
    #[serde(default = "defaults::max_fee_gwei")]
    pub chain_max_fee_gwei: u64,
    #[serde(default = "defaults::priority_fee_gwei")]
    pub chain_priority_fee_gwei: u64,
    /// An unmined payout is replaced at the same nonce after this long.
    #[serde(default = "defaults::stuck_after_ms")]
    pub chain_stuck_after_ms: i64,
    /// Blocks past a chunk's failure during which the contract is asked
    /// again whether a reorg brought it back; its items wait that long
    /// before they can be retried.
    #[serde(default = "defaults::reorg_window_blocks")]
    pub chain_reorg_window_blocks: u64,
    /// `https://explorer/tx/{hash}`: transaction links on the batch page.
    #[serde(default)]
    pub chain_explorer_tx_url: Option<String>,
    /// Run the disbursement and reconciliation workers in this process.
    #[serde(default = "defaults::yes")]
    pub disbursement_workers: bool,
    #[serde(default = "defaults::disburse_interval_ms")]
    pub disburse_interval_ms: u64,
    /// The signing wallet's lease: another replica takes over this long
    /// after its holder stops renewing it.
    #[serde(default = "defaults::wallet_lease_ms")]
    pub chain_wallet_lease_ms: i64,
    /// With the disbursement workers, also run the reconciliation worker
    /// here (false: another process reconciles).
    #[serde(default = "defaults::yes")]
    pub reconciliation_workers: bool,
    /// Recipients per chain transaction (at most `CHUNK_SIZE_MAX`); unset,
    /// sized from the chain's block gas limit (`payouts::fit_chunks`).
    #[serde(default)]
    pub payout_chunk_size: Option<u32>,
    /// Batches above this total (tokens) need two checkers. Written as a
    /// number or as text (`"1000000.5"`).
    #[serde(
        default = "defaults::two_checkers_above",
        deserialize_with = "text_or_number"
    )]
    pub payout_two_checkers_above: String,
    /// Start disbursement as soon as a batch is approved.
    #[serde(default)]
    pub payout_auto_disburse: bool,

    /// `PAYQUEST_*` variables that name no setting (a misspelt one would
    /// otherwise be ignored without a word): warned about at start.
    #[serde(skip)]
    pub unknown_settings: Vec<String>,
}

/// A setting read as text although a TOML file may write it as a number.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Whole(u64),
        Float(f64),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => t,
        Either::Whole(n) => n.to_string(),
        Either::Float(f) => f.to_string(),
    })
}

mod defaults {
    use super::*;
    pub fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 3000))
    }
    pub fn database_url() -> Secret<String> {
        Secret::new("sqlite://data/payquest.db".to_owned())
    }
    pub fn log_format() -> LogFormat {
        LogFormat::Text
    }
    pub fn bootstrap_admin_email() -> String {
        "admin@payquest.local".to_owned()
    }
    pub fn rate_server_fn_per_minute() -> u64 {
        1_200
    }
    pub fn rate_activity_requests_per_minute() -> u64 {
        6_000
    }
    pub fn secrets_key_file() -> PathBuf {
        PathBuf::from("data/secrets.key")
    }
    pub fn bootstrap_password_file() -> PathBuf {
        PathBuf::from("data/first-admin-password")
    }
    pub fn metrics_listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9100))
    }
    pub fn public_url() -> String {
        "http://127.0.0.1:3000".to_owned()
    }
    pub fn session_idle_minutes() -> i64 {
        30
    }
    pub fn gamer_session_idle_minutes() -> i64 {
        15
    }
    pub fn session_absolute_hours() -> i64 {
        12
    }
    pub fn body_limit_bytes() -> usize {
        1024 * 1024
    }
    pub fn yes() -> bool {
        true
    }
    pub fn alert_interval_ms() -> u64 {
        30_000
    }
    pub fn validation_concurrency() -> usize {
        16
    }
    pub fn validation_claim_batch() -> u32 {
        64
    }
    pub fn validation_writers() -> usize {
        2
    }
    pub fn validation_idle_ms() -> u64 {
        250
    }
    pub fn redis_prefix() -> String {
        "payquest:".to_owned()
    }
    pub fn webhook_backoff_ms() -> i64 {
        2_000
    }
    pub fn database_acquire_timeout_ms() -> u64 {
        5_000
    }
    pub fn database_statement_timeout_ms() -> u64 {
        0
    }
    pub fn tls_reload_ms() -> u64 {
        10_000
    }
    pub fn gauges_interval_ms() -> u64 {
        15_000
    }
    pub fn content_worker_interval_ms() -> u64 {
        1_000
    }
    pub fn retention_evidence_days() -> u32 {
        365
    }
    pub fn retention_webhook_days() -> u32 {
        90
    }
    pub fn retention_media_days() -> u32 {
        180
    }
    pub fn retention_interval_ms() -> u64 {
        3_600_000
    }
    pub fn media_store() -> String {
        "data/media".to_owned()
    }
    pub fn chain_id() -> u64 {
        31_337
    }
    pub fn token_decimals() -> u8 {
        6
    }
    pub fn reorg_window_blocks() -> u64 {
        64
    }
    pub fn confirmations() -> u64 {
        2
    }
    pub fn max_fee_gwei() -> u64 {
        200
    }
    pub fn priority_fee_gwei() -> u64 {
        1
    }
    pub fn stuck_after_ms() -> i64 {
        120_000
    }
    pub fn disburse_interval_ms() -> u64 {
        1_000
    }
    pub fn wallet_lease_ms() -> i64 {
        15_000
    }
    pub fn two_checkers_above() -> String {
        "10000".to_owned()
    }
}

/// The prefix of every setting's environment variable.
const ENV_PREFIX: &str = "PAYQUEST_";

/// `PAYQUEST_*` variables that are not fields of [`Config`]: the log filter
/// (read by the log set-up) and the test suites' own (`PAYQUEST_TEST_*`,
/// `PAYQUEST_CRASH_AT`).
fn read_elsewhere(key: &str) -> bool {
    key == "log" || key == "crash_at" || key.starts_with("test_")
}

impl Config {
    pub fn load() -> Result<Config, Box<figment::Error>> {
        Self::from_env(std::env::vars())
    }

    /// The configuration from these environment variables (and the TOML
    /// file `PAYQUEST_CONFIG` names among them).
    ///
    /// Every value is taken as the text it is and only read as a number or
    /// a switch where the setting is one (figment's lossy extraction), so a
    /// text setting that happens to be all digits (an amount, a secret)
    /// works exactly as written. figment's own `Env` provider guesses a type
    /// from the text first, and a text setting then refused a number. An
    /// empty variable counts as unset.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, Box<figment::Error>> {
        let mut file = None;
        let mut settings = std::collections::BTreeMap::new();
        for (name, value) in vars {
            if name == "PAYQUEST_CONFIG" {
                file = Some(PathBuf::from(value));
            } else if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                if !value.is_empty() {
                    settings.insert(key.to_ascii_lowercase(), value);
                }
            }
        }
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut config: Config = figment
            .merge(Serialized::defaults(&settings))
            .extract_lossy()
            .map_err(Box::new)?;
        // The field names as serde sees them (serde-aux reads them from the
        // derived Deserialize, so the list cannot drift from the struct).
        let known = serde_aux::serde_introspection::serde_introspect::<Config>();
        config.unknown_settings = settings
            .keys()
            .filter(|k| !known.contains(&k.as_str()) && !read_elsewhere(k))
            .map(|k| format!("{ENV_PREFIX}{}", k.to_ascii_uppercase()))
            .collect();
        config
            .read_secret_files()
            .and_then(|()| config.validate())
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(config)
    }

    /// Reads the URLs that are given as files (`*_file`), trimmed.
    fn read_secret_files(&mut self) -> Result<(), String> {
        fn read(path: &PathBuf, what: &str) -> Result<String, String> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {what} from {}: {e}", path.display()))?;
            let text = text.trim();
            if text.is_empty() {
                return Err(format!("{} holds no {what}", path.display()));
            }
            Ok(text.to_owned())
        }
        if let Some(path) = &self.database_url_file {
            self.database_url = Secret::new(read(path, "database URL")?);
        }
        if let Some(path) = &self.database_read_url_file {
            self.database_read_url = Some(Secret::new(read(path, "read replica URL")?));
        }
        if let Some(path) = &self.redis_url_file {
            self.redis_url = Some(Secret::new(read(path, "Redis URL")?));
        }
        Ok(())
    }

    /// The database pool as configured.
    pub fn pool_settings(&self) -> payquest_domain::store::PoolSettings {
        payquest_domain::store::PoolSettings {
            max_connections: self.database_pool_size,
            acquire_timeout_ms: self.database_acquire_timeout_ms,
            statement_timeout_ms: self.database_statement_timeout_ms,
            no_prepared_statements: self.database_no_prepared_statements,
        }
    }

    /// The certificate and key files, when TLS is on.
    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf)> {
        self.tls_cert_file.clone().zip(self.tls_key_file.clone())
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(read) = &self.database_read_url {
            let pg = |u: &str| u.starts_with("postgres:") || u.starts_with("postgresql:");
            if !pg(read.expose()) || !pg(self.database_url.expose()) {
                return Err(
                    "database_read_url is a PostgreSQL replica of a PostgreSQL database_url".into(),
                );
            }
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err("set both tls_cert_file and tls_key_file, or neither".into());
        }
        if self.session_idle_minutes <= 0
            || self.session_absolute_hours <= 0
            || self.gamer_session_idle_minutes <= 0
        {
            return Err("session lifetimes must be positive".into());
        }
        if self.validation_concurrency == 0
            || self.validation_concurrency > 256
            || (self.validation_claim_batch as usize) < self.validation_concurrency
            || self.validation_claim_batch > 1_000
        {
            return Err(
                "validation_concurrency must be 1 to 256 and validation_claim_batch from it to 1000"
                    .into(),
            );
        }
        if !(1..=16).contains(&self.validation_writers) {
            return Err("validation_writers must be 1 to 16".into());
        }
        if self.body_limit_bytes < 1024 {
            return Err("body_limit_bytes must be at least 1024".into());
        }
        if self
            .payout_chunk_size
            .is_some_and(|n| n == 0 || n > payquest_domain::payouts::CHUNK_SIZE_MAX)
        {
            return Err(format!(
                "payout_chunk_size must be 1 to {}",
                payquest_domain::payouts::CHUNK_SIZE_MAX
            ));
        }
        if self.chain_confirmations == 0 || self.chain_confirmations > 1_000 {
            return Err("chain_confirmations must be 1 to 1000".into());
        }
        if self.chain_reorg_window_blocks > 100_000 {
            return Err("chain_reorg_window_blocks must be at most 100000".into());
        }
        self.payout_settings()?;
        Ok(())
    }

    pub fn payout_settings(&self) -> Result<payquest_domain::payouts::PayoutSettings, String> {
        let two_checkers_above = self
            .payout_two_checkers_above
            .parse::<payquest_domain::types::Amount>()
            .map_err(|e| format!("payout_two_checkers_above: {e}"))?;
        Ok(payquest_domain::payouts::PayoutSettings {
            two_checkers_above,
            chunk_size: self
                .payout_chunk_size
                .unwrap_or(payquest_domain::payouts::CHUNK_SIZE_DEFAULT),
            auto_disburse: self.payout_auto_disburse,
        })
    }

    /// The chain settings, or `None` when no RPC URL is configured.
    pub fn chain_settings(&self) -> anyhow::Result<Option<payquest_domain::chain::ChainSettings>> {
        use anyhow::Context;
        use payquest_domain::chain::{Address, Deployment};
        let Some(rpc_url) = self.chain_rpc_url.as_ref().map(|u| u.as_str().to_owned()) else {
            return Ok(None);
        };
        let deployment: Option<Deployment> = match &self.chain_deployment_file {
            Some(path) => Some(
                serde_json::from_str(
                    &std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                )
                .with_context(|| format!("parsing {}", path.display()))?,
            ),
            None => None,
        };
        let pick =
            |explicit: &Option<String>, from_file: Option<Address>, what: &str| match explicit {
                Some(a) => a
                    .parse::<Address>()
                    .with_context(|| format!("{what} is not an address")),
                None => from_file.with_context(|| format!("{what} is not configured")),
            };
        let key = match &self.chain_signer_key_file {
            Some(path) => Secret::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => self.chain_signer_key.clone(),
        };
        anyhow::ensure!(
            !key.expose().is_empty(),
            "chain_signer_key or chain_signer_key_file is required with chain_rpc_url"
        );
        Ok(Some(payquest_domain::chain::ChainSettings {
            rpc_url,
            chain_id: self.chain_id,
            token: pick(
                &self.chain_token_address,
                deployment.map(|d| d.token),
                "chain_token_address",
            )?,
            payout_contract: pick(
                &self.chain_payout_contract,
                deployment.map(|d| d.payout_contract),
                "chain_payout_contract",
            )?,
            treasury: pick(
                &self.chain_treasury_address,
                deployment.map(|d| d.treasury),
                "chain_treasury_address",
            )?,
            token_decimals: self.chain_token_decimals,
            signer_key: key,
            confirmations: self.chain_confirmations,
            max_fee_cap_wei: u128::from(self.chain_max_fee_gwei) * 1_000_000_000,
            priority_fee_wei: u128::from(self.chain_priority_fee_gwei) * 1_000_000_000,
            stuck_after_ms: self.chain_stuck_after_ms,
            start_block: deployment.map(|d| d.start_block).unwrap_or(0),
            reorg_window_blocks: self.chain_reorg_window_blocks,
        }))
    }

    pub fn served_over_tls(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_url_never_prints() {
        let c: Config = Figment::new()
            .merge(("database_url", "postgres://u:hunter2@db/payquest"))
            .extract()
            .expect("config");
        assert!(!format!("{c:?}").contains("hunter2"));
        let c: Config = Figment::new()
            .merge((
                "chain_rpc_url",
                "https://eth.example/v3/0123456789abcdef0123",
            ))
            .merge(("alert_webhook_url", "https://hooks.example/x?token=s3cret"))
            .extract()
            .expect("config");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("0123456789abcdef0123") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert_eq!(c.listen, defaults::listen());
        assert!(!c.served_over_tls());
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn text_settings_may_be_all_digits() {
        let c = Config::from_env(vars(&[
            ("PAYQUEST_PAYOUT_TWO_CHECKERS_ABOVE", "1000000"),
            ("PAYQUEST_CONTENT_WEBHOOK_SECRET", "1234567890123456"),
            ("PAYQUEST_BOOTSTRAP_ADMIN_EMAIL", "7@8"),
            ("PAYQUEST_PAYOUT_CHUNK_SIZE", "50"),
            ("PAYQUEST_PAYOUT_AUTO_DISBURSE", "true"),
            ("PAYQUEST_DATABASE_POOL_SIZE", "3"),
            ("PAYQUEST_LOG_FORMAT", "json"),
            ("PAYQUEST_CHAIN_RPC_URL", ""),
            ("PAYQUEST_LOG", "warn"),
            ("PAYQUEST_TEST_POSTGRES_URL", "postgres://x"),
            ("PAYQUEST_PAYOUT_CHUNKSIZE", "7"),
            ("HOME", "/root"),
        ]))
        .expect("config");
        assert_eq!(c.payout_two_checkers_above, "1000000");
        assert_eq!(
            c.payout_settings().expect("payout").two_checkers_above,
            "1000000".parse().expect("amount")
        );
        assert_eq!(c.content_webhook_secret.expose(), "1234567890123456");
        assert_eq!(c.bootstrap_admin_email, "7@8");
        assert_eq!(c.payout_chunk_size, Some(50));
        assert!(c.payout_auto_disburse);
        assert_eq!(c.database_pool_size, Some(3));
        assert_eq!(c.log_format, LogFormat::Json);
        // Empty is unset; the misspelt one is named, the others are not.
        assert!(c.chain_rpc_url.is_none());
        assert_eq!(c.unknown_settings, vec!["PAYQUEST_PAYOUT_CHUNKSIZE"]);
        // A TOML file may write the amount as a number.
        let dir = std::env::temp_dir().join(format!("pq-config-toml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("payquest.toml");
        std::fs::write(
            &file,
            "payout_two_checkers_above = 250000\nchain_id = 8453\n",
        )
        .expect("write");
        let c = Config::from_env(vars(&[("PAYQUEST_CONFIG", &file.display().to_string())]))
            .expect("config");
        assert_eq!(c.payout_two_checkers_above, "250000");
        assert_eq!(c.chain_id, 8453);
        // Validation's concurrency and claim size are settings, in bounds.
        let c = Config::from_env(vars(&[
            ("PAYQUEST_VALIDATION_CONCURRENCY", "32"),
            ("PAYQUEST_VALIDATION_CLAIM_BATCH", "256"),
            ("PAYQUEST_VALIDATION_WRITERS", "4"),
        ]))
        .expect("config");
        assert_eq!(
            (
                c.validation_concurrency,
                c.validation_claim_batch,
                c.validation_writers
            ),
            (32, 256, 4)
        );
        assert!(Config::from_env(vars(&[("PAYQUEST_VALIDATION_WRITERS", "0")])).is_err());
        assert!(Config::from_env(vars(&[
            ("PAYQUEST_VALIDATION_CONCURRENCY", "64"),
            ("PAYQUEST_VALIDATION_CLAIM_BATCH", "32"),
        ]))
        .is_err());
        // A bad number still stops the start, naming the setting.
        let err = Config::from_env(vars(&[("PAYQUEST_PAYOUT_CHUNK_SIZE", "many")]))
            .expect_err("not a number");
        assert!(err.to_string().contains("payout_chunk_size"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn urls_may_come_from_mounted_files() {
        let dir = std::env::temp_dir().join(format!("pq-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let db = dir.join("database-url");
        let redis = dir.join("redis-url");
        std::fs::write(&db, "postgres://u:from-file@db/payquest\n").expect("write");
        std::fs::write(&redis, "redis://cache:6379\n").expect("write");
        let mut c: Config = Figment::new()
            .merge(("database_url", "sqlite://ignored.db"))
            .merge(("database_url_file", db.display().to_string()))
            .merge(("redis_url_file", redis.display().to_string()))
            .extract()
            .expect("config");
        c.read_secret_files().expect("read");
        assert_eq!(
            c.database_url.expose(),
            "postgres://u:from-file@db/payquest"
        );
        assert_eq!(
            c.redis_url.as_ref().map(|r| r.expose().as_str()),
            Some("redis://cache:6379")
        );
        // A missing or empty file stops the start with a message naming it.
        std::fs::write(&db, "  \n").expect("write");
        let err = c.read_secret_files().expect_err("empty");
        assert!(err.contains("database-url"), "{err}");
        c.database_url_file = Some(dir.join("missing"));
        assert!(c.read_secret_files().is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
