//! TLS on the server's own listener (rustls: TLS 1.2 and 1.3 only), for
//! deployments without a terminating proxy. The certificate and key are
//! read again whenever either file changes, so a renewed certificate needs
//! no restart; a file that does not parse keeps the previous one in use.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;

/// Loads the PEM certificate chain and key.
pub async fn load(cert: &Path, key: &Path) -> anyhow::Result<RustlsConfig> {
    // One process-wide crypto provider (rustls is built with aws-lc-rs).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "loading the TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })?;
    record_expiry(cert);
    Ok(config)
}

/// When the served certificate (the chain's first) stops being valid, in
/// Unix seconds, or `None` when the file holds no readable certificate.
pub fn expires_at(cert: &Path) -> Option<u64> {
    use rustls_pki_types::pem::PemObject;
    use x509_cert::der::Decode;
    let first = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .ok()?
        .next()?
        .ok()?;
    let parsed = x509_cert::Certificate::from_der(&first).ok()?;
    Some(
        parsed
            .tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs(),
    )
}

/// `payquest_tls_certificate_expiry_timestamp_seconds`, for the alert that
/// fires two weeks before the certificate runs out.
fn record_expiry(cert: &Path) {
    if let Some(at) = expires_at(cert) {
        metrics::gauge!("payquest_tls_certificate_expiry_timestamp_seconds").set(at as f64);
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Checks both files every `every` and reloads them when either changed.
pub async fn reload_on_change(tls: RustlsConfig, cert: PathBuf, key: PathBuf, every: Duration) {
    let mut seen = (modified(&cert), modified(&key));
    loop {
        tokio::time::sleep(every).await;
        let now = (modified(&cert), modified(&key));
        if now == seen {
            continue;
        }
        match tls.reload_from_pem_file(&cert, &key).await {
            Ok(()) => {
                seen = now;
                record_expiry(&cert);
                tracing::info!(cert = %cert.display(), "reloaded the TLS certificate");
            }
            // Half-written files: keep the old certificate, try again.
            Err(e) => {
                tracing::warn!(error = %e, "the new TLS certificate did not load; keeping the old one")
            }
        }
    }
}
