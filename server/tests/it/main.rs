//! The server's one integration-test binary. Each test starts the real
//! `payquest` binary on a free port against a throwaway database (SQLite, and
//! PostgreSQL when configured) and talks to it over HTTP like a client would.

mod cli;
mod web;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_payquest");

/// A running `payquest serve`, killed on drop.
pub struct Server {
    pub url: String,
    pub one_time_password: Option<String>,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn command(database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PAYQUEST_DATABASE_URL", database_url)
        .env("PAYQUEST_LISTEN", "127.0.0.1:0")
        .env("PAYQUEST_LOG", "warn");
    cmd
}

/// Starts the server and waits for its "listening" line.
pub fn spawn(database_url: &str, extra_env: &[(&str, &str)]) -> Server {
    let mut cmd = command(database_url);
    cmd.args(["serve"]).envs(extra_env.iter().copied());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start payquest");
    // Owned by `Server` from here on, so every path (panics included) kills it.
    let mut server = Server {
        url: String::new(),
        one_time_password: None,
        child,
    };
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
        if let Some(p) = line.strip_prefix("one-time password: ") {
            server.one_time_password = Some(p.to_owned());
        }
        if let Some(url) = line.strip_prefix("payquest listening on ") {
            server.url = url.to_owned();
            return server;
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}
