//! TLS on the server's own listener: a client gets TLS 1.2 or 1.3 with the
//! configured (self-signed) certificate, a TLS 1.1 client is refused, and a
//! renewed certificate is served without a restart.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use payquest_domain::testing::TestDb;

use crate::spawn;

/// A self-signed certificate for 127.0.0.1 named `name`, written by openssl.
pub(crate) fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(status.success(), "openssl made a certificate");
    (cert, key)
}

/// `openssl s_client` against the server: whether the handshake completed,
/// and what it printed.
fn handshake(port: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("BEGIN CERTIFICATE"),
        text,
    )
}

#[tokio::test]
async fn tls_1_2_and_up_with_a_certificate_reloaded_on_change() {
    let db = TestDb::sqlite();
    let dir = std::env::temp_dir().join(format!("pq-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (first_cert, first_key) = certificate(&dir, "first");
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::copy(&first_cert, &cert).expect("copy");
    std::fs::copy(&first_key, &key).expect("copy");
    let server = spawn(
        &db.url,
        &[
            ("PAYQUEST_TLS_CERT_FILE", cert.to_str().expect("path")),
            ("PAYQUEST_TLS_KEY_FILE", key.to_str().expect("path")),
            ("PAYQUEST_TLS_RELOAD_MS", "100"),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let port = server.url.rsplit(':').next().expect("port").to_owned();

    // The certificate's expiry is on /metrics for the expiry alert: the
    // self-signed one is good for two days.
    let metrics = reqwest::get(&server.metrics_url)
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let expiry: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("payquest_tls_certificate_expiry_timestamp_seconds "))
        .expect("expiry gauge")
        .trim()
        .parse()
        .expect("number");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let left = expiry - now;
    assert!(
        (86_400.0..=2.0 * 86_400.0 + 60.0).contains(&left),
        "{left} s left"
    );

    // A client that trusts the certificate and wants TLS 1.2 at least.
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&first_cert).expect("read"))
                .expect("pem"),
        )
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .expect("client");
    let health = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("https request");
    assert_eq!(health.status(), 200);

    // TLS 1.2 and 1.3 handshake; TLS 1.1 is refused by the server (the
    // client is allowed to offer it).
    for version in ["-tls1_2", "-tls1_3"] {
        let (ok, text) = handshake(&port, &[version]);
        assert!(ok, "{version}: {text}");
        assert!(
            text.contains("CN=first") || text.contains("CN = first"),
            "{text}"
        );
    }
    let (ok, text) = handshake(&port, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    assert!(!ok, "TLS 1.1 must be refused: {text}");
    assert!(
        !text.contains("no protocols available"),
        "the client offered TLS 1.1: {text}"
    );

    // A renewed certificate: written over the files, served without a restart.
    let (second_cert, second_key) = certificate(&dir, "renewed");
    std::fs::copy(&second_key, &key).expect("copy");
    std::fs::copy(&second_cert, &cert).expect("copy");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (ok, text) = handshake(&port, &["-tls1_3"]);
        if ok && (text.contains("CN=renewed") || text.contains("CN = renewed")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
    db.cleanup().await;
}
