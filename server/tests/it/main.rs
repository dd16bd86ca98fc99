//! The server's one integration-test binary. Each test starts the real
//! `payquest` binary on a free port against a throwaway database (SQLite, and
//! PostgreSQL when configured) and talks to it over HTTP like a client would.

mod batch_race;
mod budget_race;
mod cli;
mod content;
mod content_ops;
mod gamer_sign_in;
mod machine_api;
mod payout_crash;
mod read_replica;
mod tls;
mod traces;
mod web;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_payquest");

/// A running `payquest serve`, killed on drop.
pub struct Server {
    pub url: String,
    /// `http://…/metrics` on the metrics listener.
    pub metrics_url: String,
    pub one_time_password: Option<String>,
    child: Child,
}

impl Server {
    /// SIGTERM, as Kubernetes sends before a spot node goes; waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sealing key for every server a test starts (two replicas share it).
const TEST_SECRETS_KEY: &str = "test=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn command(database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PAYQUEST_DATABASE_URL", database_url)
        .env("PAYQUEST_LISTEN", "127.0.0.1:0")
        .env("PAYQUEST_METRICS_LISTEN", "127.0.0.1:0")
        .env("PAYQUEST_SECRETS_KEY", TEST_SECRETS_KEY)
        .env("PAYQUEST_LOG", "warn");
    cmd
}

/// Starts the server and waits for its "listening" line.
pub fn spawn(database_url: &str, extra_env: &[(&str, &str)]) -> Server {
    start(database_url, extra_env, None)
}

/// The same, with every line the server logs (standard error) kept in
/// `logs` for the test to read.
pub fn spawn_with_logs(
    database_url: &str,
    extra_env: &[(&str, &str)],
) -> (Server, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let server = start(database_url, extra_env, Some(logs.clone()));
    (server, logs)
}

fn start(
    database_url: &str,
    extra_env: &[(&str, &str)],
    logs: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
) -> Server {
    let mut cmd = command(database_url);
    cmd.args(["serve"]).envs(extra_env.iter().copied());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(if logs.is_some() {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .expect("start payquest");
    // Owned by `Server` from here on, so every path (panics included) kills it.
    let mut server = Server {
        url: String::new(),
        metrics_url: String::new(),
        one_time_password: None,
        child,
    };
    if let (Some(logs), Some(stderr)) = (logs, server.child.stderr.take()) {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().expect("lock").push(line);
            }
        });
    }
    let stdout = server.child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its address in time");
        if let Some(m) = line.strip_prefix("payquest metrics on ") {
            server.metrics_url = m.to_owned();
        }
        if let Some(p) = line.strip_prefix("one-time password: ") {
            server.one_time_password = Some(p.to_owned());
        }
        if let Some(url) = line.strip_prefix("payquest listening on ") {
            server.url = url.to_owned();
            return server;
        }
    }
}

/// A client that behaves like a page of ours in a browser: it keeps cookies
/// and says its requests are same-origin (as a browser's fetch does), so the
/// CSRF guard lets it through. `bare_client` sends no such header.
pub fn client() -> reqwest::Client {
    let mut same_origin = reqwest::header::HeaderMap::new();
    same_origin.insert(
        "sec-fetch-site",
        reqwest::header::HeaderValue::from_static("same-origin"),
    );
    reqwest::Client::builder()
        .default_headers(same_origin)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Sends only the head of a POST that declares a `Content-Length` of `len`
/// bytes and returns the status and body of the answer. A limit must refuse
/// such a request from its head alone, before any body is read; sending the
/// body too would race the server closing the connection.
pub async fn post_head_only(
    base_url: &str,
    path: &str,
    headers: &[(&str, &str)],
    len: usize,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}
