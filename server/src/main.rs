//! `payquest`: the server binary. `serve` (default) runs the web app and its
//! workers; `migrate` brings the database schema up to date; `create-admin`
//! adds an administrator and prints their one-time password.

mod api;
mod client_ip;
mod config;
mod demo;
mod http;
mod media_http;
mod origin;
mod public_cache;
mod session_store;
mod telemetry;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use payquest_app::server::AppState;
use payquest_domain::activities::Activities;
use payquest_domain::api_clients::{ApiClients, ClientAdmin, ClientCredentials, MachineAuth};
use payquest_domain::audit::AuditActor;
use payquest_domain::insights::BudgetAlerts;
use payquest_domain::session::throttle::{RedisThrottle, Throttle};
use payquest_domain::session::{Auth, SessionPolicy};
use payquest_domain::store::{self, DynStore};
use payquest_domain::users;
use payquest_domain::validation::outbound::OutboundPolicy;
use payquest_domain::validation::{Validation, ValidationPolicy, ValidatorSecrets};
use tower_sessions::ExpiredDeletion;

use crate::config::Config;

/// How often expired browser sessions are swept from the database.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

#[derive(Parser)]
#[command(
    name = "payquest",
    version,
    about = "PayQuest: pays gamers for what they do, and proves it."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web app (the default). Migrates the database first.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an administrator and print their one-time password.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Manage machine API clients (game servers, social bridges).
    #[command(subcommand)]
    ApiClient(ApiClientCommand),
    /// Add demo data: staff with one-time passwords, a funded campaign,
    /// quests, an API client and activities waiting for review.
    Demo {
        /// Email domain of the demo staff.
        #[arg(long, default_value = "payquest.local")]
        email_domain: String,
    },
    /// Manage the keys that sign machine access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Dev chain helpers.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Copy the SQLite database, consistent as of one moment, while the
    /// app runs (PostgreSQL: pg_dump or point-in-time recovery).
    Backup {
        /// The new file to write.
        out: std::path::PathBuf,
    },
    /// Write a SQLite copy of the database (SQLite or PostgreSQL) for
    /// non-production use: personal data masked consistently, secrets removed.
    Export {
        /// Mask by the columns' classification (the only kind of export).
        #[arg(long)]
        masked: bool,
        /// The new file to write.
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ChainCommand {
    /// Deploy the dev token and payout contract with the configured signer
    /// key (owner, treasury and operator), mint to the treasury, approve the
    /// payout contract, and write the addresses as JSON.
    DeployDev {
        #[arg(long)]
        rpc_url: String,
        /// Where to write the deployment (`chain_deployment_file`).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Tokens minted to the treasury.
        #[arg(long, default_value_t = 1_000_000_000)]
        mint_tokens: i64,
    },
    /// Read the treasury's Transfer logs of a block range again and reconcile.
    Reconcile {
        #[arg(long)]
        from_block: u64,
        #[arg(long)]
        to_block: u64,
    },
}

#[derive(Subcommand)]
enum ApiClientCommand {
    /// Create a client and print its id and secret (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Space- or comma-separated: activities:write, activities:read, content:read.
        #[arg(long)]
        scopes: String,
        /// Print `{"client_id": …, "client_secret": …}` only.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new secret; every token of the client stops working at once.
    RotateSecret {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a client; its tokens stop working at once.
    Disable {
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Promote the published next key to current and publish a new next key.
    Rotate,
    /// Seal every stored secret (TOTP seeds, signing keys) again under the
    /// first key of the secrets key file; afterwards older keys can be
    /// removed from it. To rotate: put a new key on the first line, keep the
    /// old one below it, restart, run this, then drop the old line.
    Reseal,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load().context("reading configuration")?;
    // Before the runtime: the trace exporter's client lives on its own thread.
    let telemetry = telemetry::init(config.log_format)?;
    for name in &config.unknown_settings {
        tracing::warn!(setting = %name, "unknown setting ignored (the README lists every setting)");
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(cli, config));
    // The runtime is gone: the spans still queued are sent now.
    telemetry.shutdown();
    result
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    install_sealer(&config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::CreateAdmin { email } => {
            let store = open_store(&config).await?;
            let created = users::create_admin_from_cli(&store, &email)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.to_api().message))?;
            println!("created admin {}", created.user.email);
            println!("one-time password: {}", created.one_time_password);
            Ok(())
        }
        Command::ApiClient(cmd) => api_client_command(&config, cmd).await,
        Command::Demo { email_domain } => {
            let store = open_store(&config).await?;
            demo::seed(&store, &email_domain)
                .await
                .map_err(domain_error)
        }
        Command::Chain(cmd) => chain_command(&config, cmd).await,
        Command::Backup { out } => {
            payquest_domain::export::backup(config.database_url.expose(), &out).await?;
            println!("backed up to {}", out.display());
            Ok(())
        }
        Command::Export { masked, out } => {
            anyhow::ensure!(
                masked,
                "only masked exports leave the database: add --masked (a full copy is `payquest backup`)"
            );
            // Migrated first, so the copy has every table the source has.
            open_store(&config).await?;
            let masker = payquest_domain::export::Masker::random();
            let r =
                payquest_domain::export::export_masked(config.database_url.expose(), &out, &masker)
                    .await?;
            println!(
                "exported {} rows of {} tables to {}: {} values masked, {} secrets removed",
                r.rows,
                r.tables,
                out.display(),
                r.masked,
                r.removed
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let store = open_store(&config).await?;
            let machine = MachineAuth::load(store).await.map_err(domain_error)?;
            machine
                .rotate_keys(&AuditActor::system("cli"))
                .await
                .map_err(domain_error)?;
            println!(
                "signing keys rotated: the former next key now signs; a new next key is published"
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Reseal) => {
            let store = open_store(&config).await?;
            let r = payquest_domain::sealed::reseal_all(&store)
                .await
                .map_err(domain_error)?;
            println!(
                "{} stored secrets sealed again under the current key; {} were current already",
                r.resealed, r.current
            );
            Ok(())
        }
    }
}

fn domain_error(e: payquest_domain::DomainError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.to_api().message)
}

fn print_credentials(c: &ClientCredentials, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "client_id": c.client_id, "client_secret": c.client_secret })
        );
    } else {
        let scopes: Vec<_> = c.scopes.iter().map(|s| s.as_str()).collect();
        println!("client: {} ({})", c.name, scopes.join(" "));
        println!("client_id: {}", c.client_id);
        println!("client_secret: {}", c.client_secret);
        println!("The secret is shown only now; store it in the game server's secret store.");
    }
}

async fn api_client_command(config: &Config, cmd: ApiClientCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let clients = ApiClients::new(store);
    match cmd {
        ApiClientCommand::Create { name, scopes, json } => {
            let c = clients
                .create(ClientAdmin::Cli, &name, &scopes)
                .await
                .map_err(domain_error)?;
            print_credentials(&c, json);
        }
        ApiClientCommand::RotateSecret { client_id, json } => {
            let c = clients
                .rotate_secret(ClientAdmin::Cli, &client_id)
                .await
                .map_err(domain_error)?;
            print_credentials(&c, json);
        }
        ApiClientCommand::Disable { client_id } => {
            clients
                .set_disabled(ClientAdmin::Cli, &client_id, true)
                .await
                .map_err(domain_error)?;
            println!("disabled {client_id}; its tokens no longer work");
        }
    }
    Ok(())
}

async fn chain_command(config: &Config, cmd: ChainCommand) -> anyhow::Result<()> {
    match cmd {
        ChainCommand::DeployDev {
            rpc_url,
            out,
            mint_tokens,
        } => {
            let key = if let Some(path) = &config.chain_signer_key_file {
                payquest_domain::secret::Secret::new(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?
                        .trim()
                        .to_owned(),
                )
            } else {
                config.chain_signer_key.clone()
            };
            anyhow::ensure!(
                !key.expose().is_empty(),
                "set PAYQUEST_CHAIN_SIGNER_KEY first"
            );
            let d = payquest_domain::chain::deploy_dev(
                &rpc_url,
                &key,
                mint_tokens.saturating_mul(1_000_000),
            )
            .await?;
            std::fs::write(&out, serde_json::to_string_pretty(&d)?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "deployed token {} and payout contract {}; treasury {}",
                d.token, d.payout_contract, d.treasury
            );
            Ok(())
        }
        ChainCommand::Reconcile {
            from_block,
            to_block,
        } => {
            let settings = config
                .chain_settings()?
                .context("chain_rpc_url is not configured")?;
            let store = open_store(config).await?;
            let chain = Arc::new(payquest_domain::chain::Chain::connect(settings).await?);
            let reconciler = payquest_domain::reconcile::Reconciler::new(store, chain);
            let n = reconciler.scan(from_block, to_block).await?;
            let report = reconciler.round().await?;
            println!(
                "read {n} transfers; reconciled {} chunks; {} new findings",
                report.chunks, report.findings
            );
            Ok(())
        }
    }
}

/// Connects and migrates. A failed migration stops the start.
async fn open_store(config: &Config) -> anyhow::Result<DynStore> {
    let url = config.database_url.expose();
    if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
        }
    }
    store::connect_with(url, &config.pool_settings())
        .await
        .context("opening and migrating the database")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let metrics = Arc::new(telemetry::Metrics::install()?);
    let store = open_store(&config).await?;

    if let Some(created) = users::ensure_first_admin(&store, &config.bootstrap_admin_email)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {}", e.to_api().message))?
    {
        println!("first start: created admin {}", created.user.email);
        match config.log_format {
            // A terminal: printed once, never logged.
            config::LogFormat::Text => {
                println!("one-time password: {}", created.one_time_password)
            }
            // JSON logs go to a log pipeline: the password goes to a file
            // only the server's user can read instead.
            config::LogFormat::Json => {
                let path = &config.bootstrap_password_file;
                write_private(path, &created.one_time_password)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!(
                    "the first admin's one-time password is in {} (readable by this user only)",
                    path.display()
                );
            }
        }
    }

    let policy = SessionPolicy {
        absolute_lifetime_ms: config.session_absolute_hours * 3_600_000,
    };
    let proxies =
        client_ip::ProxyRules::parse(&config.trusted_proxies, config.client_ip_header.as_deref())
            .map_err(anyhow::Error::msg)?;
    let throttle = match &config.redis_url {
        Some(url) => {
            let shared =
                RedisThrottle::connect(url.expose(), &format!("{}throttle:", config.redis_prefix))
                    .await
                    .map_err(anyhow::Error::msg)?;
            tracing::info!("rate-limit counters are shared through Redis");
            Throttle::shared(Arc::new(shared))
        }
        None => Throttle::new(),
    };
    let chain = match config.chain_settings()? {
        Some(settings) => {
            let chain = Arc::new(
                payquest_domain::chain::Chain::connect(settings)
                    .await
                    .context("connecting to the chain")?,
            );
            tracing::info!(sender = %chain.sender(), "chain connected");
            Some(chain)
        }
        None => None,
    };
    // Chunks fill the chain's blocks: sized from its block gas limit unless
    // configured, and as many in flight as keep each block full while the
    // oldest wait for their confirmations.
    let mut payout_settings = config.payout_settings().map_err(anyhow::Error::msg)?;
    let mut chunk_fit = None;
    if let Some(chain) = &chain {
        let block_gas = chain
            .block_gas_limit()
            .await
            .context("reading the chain's block gas limit")?;
        let fit = match config.payout_chunk_size {
            None => payquest_domain::payouts::fit_chunks(block_gas),
            Some(chunk_size) => payquest_domain::payouts::ChunkFit::of(chunk_size, block_gas),
        };
        payout_settings.chunk_size = fit.chunk_size;
        tracing::info!(
            block_gas,
            chunk_size = fit.chunk_size,
            chunks_per_block = fit.per_block,
            "payout chunks sized"
        );
        chunk_fit = Some(fit);
    }
    let cache: Arc<dyn payquest_domain::cache::PublicCache> = match &config.redis_url {
        Some(url) => {
            let shared = payquest_domain::cache::RedisCache::connect(
                url.expose(),
                &format!("{}cache:", config.redis_prefix),
            )
            .await
            .map_err(anyhow::Error::msg)?;
            tracing::info!("public content is cached in Redis, shared by every replica");
            Arc::new(shared)
        }
        None => Arc::new(payquest_domain::cache::LocalCache::default()),
    };
    let endpoint = match &config.content_webhook_url {
        Some(url) => Some(
            payquest_domain::webhooks::Endpoint::new(
                url.as_str(),
                config.content_webhook_secret.clone(),
            )
            .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let content = Arc::new(
        payquest_domain::content::Content::new(store.clone())
            .with_cache(cache.clone())
            .with_webhooks(endpoint.is_some()),
    );
    let webhooks = Arc::new(
        payquest_domain::webhooks::Webhooks::new(store.clone(), endpoint)
            .with_backoff_base_ms(config.content_webhook_backoff_ms),
    );
    let media = Arc::new(payquest_domain::media::Media::new(
        store.clone(),
        payquest_domain::media::open_store(
            &config.media_store,
            config.media_s3_endpoint.as_deref(),
        )
        .map_err(anyhow::Error::msg)?,
    ));
    let state = AppState::new(
        store.clone(),
        Auth::with_throttle(store.clone(), policy, throttle.clone()),
    )
    .with_payouts(
        payout_settings,
        config.chain_explorer_tx_url.clone(),
        chain.clone(),
    )
    .with_content(content.clone(), webhooks.clone(), media.clone())
    .with_siwe(
        payquest_domain::siwe::Expectations::from_public_url(&config.public_url, config.chain_id)
            .context("PAYQUEST_PUBLIC_URL is not a URL with a host")?,
    );

    let state = match &config.database_read_url {
        Some(url) => {
            let reads = store::connect_replica(url.expose(), &config.pool_settings())
                .await
                .context("opening the read replica")?;
            tracing::info!("lag-tolerant reads go to the read replica");
            state.with_read_replica(reads)
        }
        None => state,
    };

    let api_state = api::ApiState {
        machine: Arc::new(
            MachineAuth::load(store.clone())
                .await
                .map_err(domain_error)?,
        ),
        activities: Arc::new(Activities::new(store.clone())),
        content: content.clone(),
        throttle: throttle.clone(),
        activity_requests_per_minute: config.rate_activity_requests_per_minute,
        store: store.clone(),
    };
    let leptos_options = get_configuration(None)
        .context("reading the site configuration")?
        .leptos_options;
    // Bound before the router is built: the CSRF guard accepts the server's own address.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let metrics_listener = tokio::net::TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("binding the metrics listener {}", config.metrics_listen))?;
    println!(
        "payquest metrics on http://{}/metrics",
        metrics_listener.local_addr()?
    );
    let metrics_app = http::metrics_router(metrics);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(metrics_listener, metrics_app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    let app = http::router(
        state,
        api_state,
        leptos_options,
        &config,
        addr,
        throttle,
        proxies,
    );

    // On SIGTERM the workers stop taking work, finish the round in hand and
    // give their claims and the wallet lease back (see the end of `serve`).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    if config.validation_workers {
        let secrets =
            ValidatorSecrets::parse(config.validator_secrets.expose()).map_err(domain_error)?;
        let outbound = OutboundPolicy::parse(
            &config.validator_allow_private_hosts,
            &config.validator_secret_hosts,
            config.discord_base_url.as_deref(),
            config.youtube_base_url.as_deref(),
        )
        .map_err(domain_error)?;
        let policy = ValidationPolicy {
            outbound,
            concurrency: config.validation_concurrency,
            claim_batch: config.validation_claim_batch,
            writers: config.validation_writers,
            ..ValidationPolicy::default()
        };
        let validation = Validation::new(store.clone(), policy, secrets).map_err(domain_error)?;
        let idle = Duration::from_millis(config.validation_idle_ms);
        workers.push(tokio::spawn(
            Arc::new(validation).run(idle, stop_rx.clone()),
        ));
    }

    if config.alert_webhook_url.is_some() && config.alert_webhook_secret.expose().is_empty() {
        anyhow::bail!(
            "PAYQUEST_ALERT_WEBHOOK_URL is set but PAYQUEST_ALERT_WEBHOOK_SECRET is empty: \
             the receiver could not tell our alerts from forged ones"
        );
    }
    if let Some(url) = config
        .alert_webhook_url
        .as_ref()
        .map(|u| u.as_str().to_owned())
    {
        let alerts = BudgetAlerts::new(store.clone(), url, config.alert_webhook_secret.clone())
            .map_err(domain_error)?;
        let every = Duration::from_millis(config.alert_interval_ms);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = alerts.run_once().await {
                    tracing::warn!(error = %e, "checking budget alerts failed");
                }
            }
        });
    }

    // Every replica runs both: a schedule or an event is claimed by one.
    let content_every = Duration::from_millis(config.content_worker_interval_ms);
    workers.push(tokio::spawn(
        content.run_schedules(content_every, stop_rx.clone()),
    ));
    workers.push(tokio::spawn(
        webhooks.run_shared(content_every, stop_rx.clone()),
    ));
    workers.push(tokio::spawn(payquest_domain::gauges::run(
        store.clone(),
        Duration::from_millis(config.gauges_interval_ms),
        stop_rx.clone(),
    )));
    workers.push(tokio::spawn(payquest_domain::partitions::run(
        store.clone(),
        Duration::from_secs(6 * 3600),
        stop_rx.clone(),
    )));
    workers.push(tokio::spawn(payquest_domain::retention::run(
        store.clone(),
        media.clone(),
        payquest_domain::retention::RetentionPolicy {
            evidence_days: config.retention_evidence_days,
            webhook_days: config.retention_webhook_days,
            media_days: config.retention_media_days,
        },
        Duration::from_millis(config.retention_interval_ms),
        stop_rx.clone(),
    )));
    if let Some(chain) = chain {
        if config.disbursement_workers {
            let every = Duration::from_millis(config.disburse_interval_ms);
            let holder = format!("{}:{}", hostname(), std::process::id());
            workers.push(tokio::spawn(
                payquest_domain::disburse::Disburser::new(store.clone(), chain.clone(), holder)
                    .with_lease_ms(config.chain_wallet_lease_ms)
                    .with_max_inflight(
                        chunk_fit.map_or(payquest_domain::disburse::MAX_INFLIGHT_CHUNKS, |f| {
                            f.in_flight(config.chain_confirmations)
                        }),
                    )
                    .run(every, stop_rx.clone()),
            ));
            if config.reconciliation_workers {
                workers.push(tokio::spawn(
                    payquest_domain::reconcile::Reconciler::new(store.clone(), chain)
                        .run(every, stop_rx.clone()),
                ));
            }
        }
    }

    let nonces = store.clone();
    let sweeper = session_store::DbSessionStore::new(store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SESSION_SWEEP_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.delete_expired().await {
                tracing::warn!(error = %e, "sweeping expired sessions failed");
            }
            if let Err(e) = nonces
                .sweep_siwe_nonces(payquest_domain::clock::now_ms())
                .await
            {
                tracing::warn!(error = %e, "sweeping expired sign-in nonces failed");
            }
        }
    });

    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Some((cert, key)) = config.tls_files() {
        let tls = tls::load(&cert, &key).await?;
        tokio::spawn(tls::reload_on_change(
            tls.clone(),
            cert,
            key,
            Duration::from_millis(config.tls_reload_ms),
        ));
        println!("payquest listening on https://{addr}");
        println!("staff dashboard: https://{addr}/admin");
        tracing::info!(%addr, "listening with TLS");
        let handle = axum_server::Handle::new();
        let stop = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stop.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        axum_server::from_tcp_rustls(listener.into_std()?, tls)?
            .handle(handle)
            .serve(service)
            .await?;
    } else {
        println!("payquest listening on http://{addr}");
        println!("staff dashboard: http://{addr}/admin");
        tracing::info!(%addr, "listening");
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
    }
    // Let the workers finish their round and give the wallet lease back.
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
    }
    Ok(())
}

/// Loads the key that seals stored secrets (TOTP seeds, signing keys):
/// `PAYQUEST_SECRETS_KEY` if set, else the key file, which a first start
/// creates (mode 0600) so one machine needs no set-up. The file must be
/// kept, and backed up, apart from the database.
fn install_sealer(config: &Config) -> anyhow::Result<()> {
    use payquest_domain::sealed::Sealer;
    let text = if !config.secrets_key.expose().is_empty() {
        config.secrets_key.expose().clone()
    } else {
        let path = &config.secrets_key_file;
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            write_private(path, Sealer::generate("k1").trim_end())
                .with_context(|| format!("creating the secrets key {}", path.display()))?;
            tracing::info!(path = %path.display(), "created a key for stored secrets; keep it with, but apart from, the database backups");
        }
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    Sealer::parse(&text)
        .and_then(Sealer::install)
        .map_err(|e| anyhow::anyhow!("the secrets key: {}", e.to_api().message))
}

/// Writes `text` to a new file readable and writable by this user only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "payquest".into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
