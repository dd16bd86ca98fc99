//! `payquest`: the server binary. `serve` (default) runs the web app and its
//! workers; `migrate` brings the database schema up to date; `create-admin`
//! adds an administrator and prints their one-time password.

mod api;
mod config;
mod demo;
mod http;
mod session_store;
mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use payquest_app::server::AppState;
use payquest_domain::activities::Activities;
use payquest_domain::audit::AuditActor;
use payquest_domain::auth::{Auth, SessionPolicy};
use payquest_domain::insights::BudgetAlerts;
use payquest_domain::machine_auth::{ApiClients, ClientAdmin, ClientCredentials, MachineAuth};
use payquest_domain::store::{self, DynStore};
use payquest_domain::users;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load().context("reading configuration")?;
    telemetry::init_logs(config.log_format);
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
    store::connect(url)
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
        // Printed once, to the terminal only: never logged.
        println!("first start: created admin {}", created.user.email);
        println!("one-time password: {}", created.one_time_password);
    }

    let policy = SessionPolicy {
        absolute_lifetime_ms: config.session_absolute_hours * 3_600_000,
    };
    let state = AppState::new(store.clone(), Auth::new(store.clone(), policy));

    let api_state = api::ApiState {
        machine: Arc::new(
            MachineAuth::load(store.clone())
                .await
                .map_err(domain_error)?,
        ),
        activities: Arc::new(Activities::new(store.clone())),
    };
    let leptos_options = get_configuration(None)
        .context("reading the site configuration")?
        .leptos_options;
    let app = http::router(state, api_state, leptos_options, &config, metrics);

    if config.validation_workers {
        let secrets =
            ValidatorSecrets::parse(config.validator_secrets.expose()).map_err(domain_error)?;
        let validation = Validation::new(store.clone(), ValidationPolicy::default(), secrets)
            .map_err(domain_error)?;
        let idle = Duration::from_millis(config.validation_idle_ms);
        tokio::spawn(Arc::new(validation).run(idle));
    }

    if let Some(url) = config.alert_webhook_url.clone() {
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

    let sweeper = session_store::DbSessionStore::new(store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SESSION_SWEEP_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.delete_expired().await {
                tracing::warn!(error = %e, "sweeping expired sessions failed");
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!("payquest listening on http://{addr}");
    tracing::info!(%addr, "listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
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
