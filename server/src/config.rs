//! Configuration: defaults, then an optional TOML file (`PAYQUEST_CONFIG`),
//! then `PAYQUEST_*` environment variables. Secrets are wrapped so they never
//! print. Every setting is listed in the README with its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use payquest_domain::secret::Secret;
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
    /// `sqlite://path` or `postgres://…`; may hold a password, hence secret.
    #[serde(default = "defaults::database_url")]
    pub database_url: Secret<String>,
    #[serde(default = "defaults::log_format")]
    pub log_format: LogFormat,
    /// The first admin's email, created on a first start with no accounts.
    #[serde(default = "defaults::bootstrap_admin_email")]
    pub bootstrap_admin_email: String,
    /// The URL people reach the app at. `https://` turns on Secure cookies and HSTS.
    #[serde(default = "defaults::public_url")]
    pub public_url: String,
    /// A session ends after this long without a request.
    #[serde(default = "defaults::session_idle_minutes")]
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however active.
    #[serde(default = "defaults::session_absolute_hours")]
    pub session_absolute_hours: i64,
    /// Largest request body accepted, in bytes.
    #[serde(default = "defaults::body_limit_bytes")]
    pub body_limit_bytes: usize,
    /// `NAME=value,…`: API keys and signing keys the validators refer to by name.
    #[serde(default)]
    pub validator_secrets: Secret<String>,
    /// Run the validation workers in this process.
    #[serde(default = "defaults::yes")]
    pub validation_workers: bool,
    /// Where budget threshold alerts are posted (signed); none when unset.
    #[serde(default)]
    pub alert_webhook_url: Option<String>,
    /// HMAC key for the alert webhook's `x-payquest-signature`.
    #[serde(default)]
    pub alert_webhook_secret: Secret<String>,
    /// How often budgets are checked against their alert thresholds.
    #[serde(default = "defaults::alert_interval_ms")]
    pub alert_interval_ms: u64,
    /// How long an idle validation worker waits before looking again.
    #[serde(default = "defaults::validation_idle_ms")]
    pub validation_idle_ms: u64,
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
    pub fn public_url() -> String {
        "http://127.0.0.1:3000".to_owned()
    }
    pub fn session_idle_minutes() -> i64 {
        30
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
    pub fn validation_idle_ms() -> u64 {
        250
    }
}

impl Config {
    pub fn load() -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::new();
        if let Ok(path) = std::env::var("PAYQUEST_CONFIG") {
            figment = figment.merge(Toml::file_exact(PathBuf::from(path)));
        }
        let config: Config = figment
            .merge(Env::prefixed("PAYQUEST_"))
            .extract()
            .map_err(Box::new)?;
        config
            .validate()
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.session_idle_minutes <= 0 || self.session_absolute_hours <= 0 {
            return Err("session lifetimes must be positive".into());
        }
        if self.body_limit_bytes < 1024 {
            return Err("body_limit_bytes must be at least 1024".into());
        }
        Ok(())
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
        assert_eq!(c.listen, defaults::listen());
        assert!(!c.served_over_tls());
    }
}
