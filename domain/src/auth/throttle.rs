//! Sign-in throttling per account and per client IP.
//!
//! A key gets a few free failures; after that each failure doubles a waiting
//! time, capped low for accounts (an attacker can slow a real user down but not
//! lock them out for long) and higher for IPs. Failures are forgotten after a
//! quiet window, and a successful sign-in clears the account's record.
//! Counters live in process (one replica); at scale they move to Redis.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::limits::{
    THROTTLE_ACCOUNT_FREE_FAILURES, THROTTLE_ACCOUNT_MAX_DELAY_MS, THROTTLE_IP_FREE_FAILURES,
    THROTTLE_IP_MAX_DELAY_MS, THROTTLE_MAX_KEYS, THROTTLE_WINDOW_MS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Account,
    Ip,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure_ms: i64,
    blocked_until_ms: i64,
}

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<(Kind, String), Entry>>,
}

impl Throttle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Milliseconds to wait before another attempt is allowed, if any.
    pub fn wait_ms(&self, account: &str, ip: Option<&str>, now_ms: i64) -> Option<i64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0;
        for key in keys(account, ip) {
            if let Some(e) = entries.get(&key) {
                if now_ms - e.last_failure_ms < THROTTLE_WINDOW_MS {
                    wait = wait.max(e.blocked_until_ms - now_ms);
                }
            }
        }
        (wait > 0).then_some(wait)
    }

    pub fn record_failure(&self, account: &str, ip: Option<&str>, now_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= THROTTLE_MAX_KEYS {
            entries.retain(|_, e| now_ms - e.last_failure_ms < THROTTLE_WINDOW_MS);
            if entries.len() >= THROTTLE_MAX_KEYS {
                // Still full of fresh keys: forget the lot rather than grow without bound.
                entries.clear();
            }
        }
        for key in keys(account, ip) {
            let kind = key.0;
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                last_failure_ms: now_ms,
                blocked_until_ms: 0,
            });
            if now_ms - e.last_failure_ms >= THROTTLE_WINDOW_MS {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last_failure_ms = now_ms;
            e.blocked_until_ms = now_ms + delay_ms(kind, e.failures);
        }
    }

    pub fn record_success(&self, account: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&(Kind::Account, account.to_owned()));
    }
}

fn keys(account: &str, ip: Option<&str>) -> Vec<(Kind, String)> {
    let mut k = vec![(Kind::Account, account.to_owned())];
    if let Some(ip) = ip {
        k.push((Kind::Ip, ip.to_owned()));
    }
    k
}

fn delay_ms(kind: Kind, failures: u32) -> i64 {
    let (free, cap) = match kind {
        Kind::Account => (
            THROTTLE_ACCOUNT_FREE_FAILURES,
            THROTTLE_ACCOUNT_MAX_DELAY_MS,
        ),
        Kind::Ip => (THROTTLE_IP_FREE_FAILURES, THROTTLE_IP_MAX_DELAY_MS),
    };
    if failures <= free {
        return 0;
    }
    let doublings = (failures - free - 1).min(30);
    (1_000i64 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_growing_but_capped_delay() {
        let t = Throttle::new();
        let mut now = 0;
        for _ in 0..THROTTLE_ACCOUNT_FREE_FAILURES {
            t.record_failure("a@x.io", None, now);
            assert_eq!(t.wait_ms("a@x.io", None, now), None);
        }
        t.record_failure("a@x.io", None, now);
        assert_eq!(t.wait_ms("a@x.io", None, now), Some(1_000));
        for _ in 0..20 {
            now += 1;
            t.record_failure("a@x.io", None, now);
        }
        assert_eq!(
            t.wait_ms("a@x.io", None, now),
            Some(THROTTLE_ACCOUNT_MAX_DELAY_MS)
        );
        // A real user is never locked out for longer than the cap.
        assert_eq!(
            t.wait_ms("a@x.io", None, now + THROTTLE_ACCOUNT_MAX_DELAY_MS),
            None
        );
        // Other accounts are unaffected; success clears the account.
        assert_eq!(t.wait_ms("b@x.io", None, now), None);
        t.record_success("a@x.io");
        assert_eq!(t.wait_ms("a@x.io", None, now), None);
    }

    #[test]
    fn an_ip_spraying_many_accounts_is_slowed() {
        let t = Throttle::new();
        for i in 0..=THROTTLE_IP_FREE_FAILURES {
            t.record_failure(&format!("user{i}@x.io"), Some("203.0.113.9"), 0);
        }
        assert!(t.wait_ms("fresh@x.io", Some("203.0.113.9"), 0).is_some());
        assert_eq!(t.wait_ms("fresh@x.io", Some("198.51.100.1"), 0), None);
    }
}
