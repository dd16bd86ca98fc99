//! Throttling of guesses (sign-in, second factor, client secrets) per account
//! and per client IP, shared by every replica when Redis is configured.
//!
//! A key gets a few free attempts; after that each attempt doubles a waiting
//! time, capped low for accounts (an attacker can slow a real user down but
//! not lock them out for long) and a little higher for IPs. The attempt is
//! counted when its slot is *taken*, before the password is hashed, in one
//! atomic step with the check, so parallel guesses can't all be evaluated
//! before the first failure is recorded. A success forgets the account's
//! record and gives the IP its attempt back. Records are forgotten after a
//! quiet window.
//!
//! Backends: in process (one replica), or Redis (a Lua script does the check
//! and the count atomically; keys expire with the window). If Redis fails,
//! the in-process counters take over for that call, so sign-in degrades to
//! per-replica limits instead of failing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::limits::{
    THROTTLE_ACCOUNT_FREE_FAILURES, THROTTLE_ACCOUNT_MAX_DELAY_MS, THROTTLE_IP_FREE_FAILURES,
    THROTTLE_IP_MAX_DELAY_MS, THROTTLE_MAX_KEYS, THROTTLE_WINDOW_MS,
};

/// One counter and its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    /// Attempts allowed before any waiting.
    pub free: u32,
    /// The longest wait this key imposes.
    pub cap_ms: i64,
}

impl Key {
    pub fn account(scope: &str, account: &str) -> Key {
        Key {
            name: format!("{scope}:acct:{account}"),
            free: THROTTLE_ACCOUNT_FREE_FAILURES,
            cap_ms: THROTTLE_ACCOUNT_MAX_DELAY_MS,
        }
    }

    pub fn ip(scope: &str, ip: &str) -> Key {
        Key {
            name: format!("{scope}:ip:{ip}"),
            free: THROTTLE_IP_FREE_FAILURES,
            cap_ms: THROTTLE_IP_MAX_DELAY_MS,
        }
    }
}

/// Where the counters live.
#[async_trait]
pub trait ThrottleBackend: Send + Sync {
    /// If any key is waiting, the milliseconds left; otherwise counts one
    /// attempt on every key and returns `None`. Atomic across the keys.
    async fn take(&self, keys: &[Key], now_ms: i64) -> Result<Option<i64>, String>;
    /// A success: `forget` loses its record, `refund` gets its attempt back.
    async fn succeeded(&self, forget: &str, refund: Option<&str>) -> Result<(), String>;
    /// Counts one request on `key` in its current fixed window of
    /// `window_ms`; returns the count so far and the milliseconds left.
    async fn count(&self, key: &str, window_ms: i64, now_ms: i64) -> Result<(u64, i64), String>;
}

fn delay_ms(free: u32, cap_ms: i64, attempts: u32) -> i64 {
    if attempts <= free {
        return 0;
    }
    let doublings = (attempts - free - 1).min(30);
    (1_000i64 << doublings).min(cap_ms)
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    attempts: u32,
    last_ms: i64,
    blocked_until_ms: i64,
}

/// In-process counters (one replica).
#[derive(Debug, Default)]
pub struct LocalThrottle {
    entries: Mutex<HashMap<String, Entry>>,
    /// Rate windows: key → (count, window end).
    windows: Mutex<HashMap<String, (u64, i64)>>,
}

impl LocalThrottle {
    fn count_now(&self, key: &str, window_ms: i64, now_ms: i64) -> (u64, i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= THROTTLE_MAX_KEYS {
            windows.retain(|_, (_, end)| *end > now_ms);
            if windows.len() >= THROTTLE_MAX_KEYS {
                windows.clear();
            }
        }
        let slot = windows
            .entry(key.to_owned())
            .or_insert((0, now_ms + window_ms));
        if slot.1 <= now_ms {
            *slot = (0, now_ms + window_ms);
        }
        slot.0 += 1;
        (slot.0, slot.1 - now_ms)
    }

    pub fn take_now(&self, keys: &[Key], now_ms: i64) -> Option<i64> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = |e: &Entry| now_ms - e.last_ms < THROTTLE_WINDOW_MS;
        let wait = keys
            .iter()
            .filter_map(|k| entries.get(&k.name))
            .filter(|e| fresh(e))
            .map(|e| e.blocked_until_ms - now_ms)
            .max()
            .unwrap_or(0);
        if wait > 0 {
            return Some(wait);
        }
        if entries.len() >= THROTTLE_MAX_KEYS {
            entries.retain(|_, e| fresh(e));
            if entries.len() >= THROTTLE_MAX_KEYS {
                // Still full of fresh keys: forget the lot rather than grow without bound.
                entries.clear();
            }
        }
        for k in keys {
            let e = entries.entry(k.name.clone()).or_insert(Entry {
                attempts: 0,
                last_ms: now_ms,
                blocked_until_ms: 0,
            });
            if !fresh(e) {
                e.attempts = 0;
            }
            e.attempts = e.attempts.saturating_add(1);
            e.last_ms = now_ms;
            e.blocked_until_ms = now_ms + delay_ms(k.free, k.cap_ms, e.attempts);
        }
        None
    }

    fn succeeded_now(&self, forget: &str, refund: Option<&str>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(forget);
        if let Some(e) = refund.and_then(|r| entries.get_mut(r)) {
            e.attempts = e.attempts.saturating_sub(1);
        }
    }
}

#[async_trait]
impl ThrottleBackend for LocalThrottle {
    async fn take(&self, keys: &[Key], now_ms: i64) -> Result<Option<i64>, String> {
        Ok(self.take_now(keys, now_ms))
    }

    async fn succeeded(&self, forget: &str, refund: Option<&str>) -> Result<(), String> {
        self.succeeded_now(forget, refund);
        Ok(())
    }

    async fn count(&self, key: &str, window_ms: i64, now_ms: i64) -> Result<(u64, i64), String> {
        Ok(self.count_now(key, window_ms, now_ms))
    }
}

/// The same rule as `LocalThrottle`, run inside Redis so it is atomic across
/// replicas. ARGV: now, window, then (free, cap) per key.
const TAKE_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'n', 'last', 'until')
  local last = tonumber(v[2])
  if last and now - last < window then
    local w = tonumber(v[3]) - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, k in ipairs(KEYS) do
  local free = tonumber(ARGV[1 + 2 * i])
  local cap = tonumber(ARGV[2 + 2 * i])
  local v = redis.call('HMGET', k, 'n', 'last')
  local n = tonumber(v[1]) or 0
  local last = tonumber(v[2])
  if (not last) or now - last >= window then n = 0 end
  n = n + 1
  local delay = 0
  if n > free then delay = math.floor(math.min(1000 * 2 ^ math.min(n - free - 1, 30), cap)) end
  redis.call('HSET', k, 'n', n, 'last', now, 'until', now + delay)
  redis.call('PEXPIRE', k, window)
end
return 0
";

const SUCCEEDED_SCRIPT: &str = r"
redis.call('DEL', KEYS[1])
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  local n = tonumber(redis.call('HGET', KEYS[2], 'n')) or 0
  if n > 0 then redis.call('HSET', KEYS[2], 'n', n - 1) end
end
return 0
";

const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// One request in a fixed window: INCR, an expiry on the first, and the time left.
const COUNT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// Counters in Redis, shared by every replica.
pub struct RedisThrottle {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    take: redis::Script,
    succeeded: redis::Script,
    count: redis::Script,
}

impl RedisThrottle {
    /// Connects (the connection manager reconnects by itself later).
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisThrottle, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis URL: {e}"))?;
        // Generous timeouts: a slow answer under load must not drop a guess
        // to the per-replica fallback.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_connection_timeout(Some(REDIS_TIMEOUT));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| format!("connecting to redis: {e}"))?;
        Ok(RedisThrottle {
            conn,
            prefix: prefix.to_owned(),
            take: redis::Script::new(TAKE_SCRIPT),
            succeeded: redis::Script::new(SUCCEEDED_SCRIPT),
            count: redis::Script::new(COUNT_SCRIPT),
        })
    }
}

#[async_trait]
impl ThrottleBackend for RedisThrottle {
    async fn take(&self, keys: &[Key], now_ms: i64) -> Result<Option<i64>, String> {
        let mut inv = self.take.prepare_invoke();
        for k in keys {
            inv.key(format!("{}{}", self.prefix, k.name));
        }
        inv.arg(now_ms).arg(THROTTLE_WINDOW_MS);
        for k in keys {
            inv.arg(k.free).arg(k.cap_ms);
        }
        let mut conn = self.conn.clone();
        let wait: i64 = inv
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok((wait > 0).then_some(wait))
    }

    async fn succeeded(&self, forget: &str, refund: Option<&str>) -> Result<(), String> {
        let mut inv = self.succeeded.prepare_invoke();
        inv.key(format!("{}{forget}", self.prefix));
        if let Some(r) = refund {
            inv.key(format!("{}{r}", self.prefix));
        }
        let mut conn = self.conn.clone();
        let _: i64 = inv
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn count(&self, key: &str, window_ms: i64, _now_ms: i64) -> Result<(u64, i64), String> {
        let mut inv = self.count.prepare_invoke();
        inv.key(format!("{}{key}", self.prefix)).arg(window_ms);
        let mut conn = self.conn.clone();
        let (n, ttl): (u64, i64) = inv
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok((n, ttl))
    }
}

/// The throttle the domain holds: a backend, and the in-process counters
/// that stand in when the backend fails.
#[derive(Clone)]
pub struct Throttle {
    backend: Option<Arc<dyn ThrottleBackend>>,
    local: Arc<LocalThrottle>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new()
    }
}

impl Throttle {
    /// In process only.
    pub fn new() -> Throttle {
        Throttle {
            backend: None,
            local: Arc::new(LocalThrottle::default()),
        }
    }

    /// Shared counters (Redis), with the in-process ones as the fallback.
    pub fn shared(backend: Arc<dyn ThrottleBackend>) -> Throttle {
        Throttle {
            backend: Some(backend),
            local: Arc::new(LocalThrottle::default()),
        }
    }

    /// Takes an attempt's slot: `Some(wait_ms)` if it must wait instead.
    pub async fn take(&self, keys: &[Key], now_ms: i64) -> Option<i64> {
        if let Some(b) = &self.backend {
            match b.take(keys, now_ms).await {
                Ok(wait) => return wait,
                Err(e) => tracing::warn!(error = %e, "shared throttle failed; counting in process"),
            }
        }
        self.local.take_now(keys, now_ms)
    }

    /// A request against a rate of `limit` per `window_ms` on `key`:
    /// `Some(wait_ms)` when the window is full.
    pub async fn rate(&self, key: &str, limit: u64, window_ms: i64, now_ms: i64) -> Option<i64> {
        let counted = match &self.backend {
            Some(b) => match b.count(key, window_ms, now_ms).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "shared rate counter failed; counting in process");
                    None
                }
            },
            None => None,
        };
        let (n, left_ms) = counted.unwrap_or_else(|| self.local.count_now(key, window_ms, now_ms));
        (n > limit).then_some(left_ms.max(1))
    }

    pub async fn succeeded(&self, forget: &Key, refund: Option<&Key>) {
        if let Some(b) = &self.backend {
            if let Err(e) = b
                .succeeded(&forget.name, refund.map(|k| k.name.as_str()))
                .await
            {
                tracing::warn!(error = %e, "shared throttle failed; counting in process");
            }
        }
        self.local
            .succeeded_now(&forget.name, refund.map(|k| k.name.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(account: &str, ip: Option<&str>) -> Vec<Key> {
        let mut k = vec![Key::account("t", account)];
        k.extend(ip.map(|ip| Key::ip("t", ip)));
        k
    }

    #[test]
    fn free_attempts_then_growing_but_capped_delay() {
        let t = LocalThrottle::default();
        let mut now = 0;
        for _ in 0..=THROTTLE_ACCOUNT_FREE_FAILURES {
            assert_eq!(t.take_now(&keys("a@x.io", None), now), None);
        }
        assert_eq!(t.take_now(&keys("a@x.io", None), now), Some(1_000));
        for _ in 0..20 {
            now += 100_000;
            t.take_now(&keys("a@x.io", None), now);
        }
        let wait = t.take_now(&keys("a@x.io", None), now).expect("waits");
        assert!(wait <= THROTTLE_ACCOUNT_MAX_DELAY_MS);
        // A real user is never locked out for longer than the cap.
        assert_eq!(
            t.take_now(&keys("a@x.io", None), now + THROTTLE_ACCOUNT_MAX_DELAY_MS),
            None
        );
        // Other accounts are unaffected; success clears the account.
        assert_eq!(t.take_now(&keys("b@x.io", None), now), None);
        t.succeeded_now("t:acct:a@x.io", None);
        assert_eq!(t.take_now(&keys("a@x.io", None), now + 1), None);
    }

    #[test]
    fn parallel_guesses_take_slots_before_any_is_evaluated() {
        let t = LocalThrottle::default();
        let allowed = (0..30)
            .filter(|_| t.take_now(&keys("victim@x.io", None), 0).is_none())
            .count();
        assert_eq!(allowed as u32, THROTTLE_ACCOUNT_FREE_FAILURES + 1);
    }

    #[test]
    fn an_ip_spraying_many_accounts_is_slowed() {
        let t = LocalThrottle::default();
        for i in 0..=THROTTLE_IP_FREE_FAILURES {
            t.take_now(&keys(&format!("user{i}@x.io"), Some("203.0.113.9")), 0);
        }
        assert!(t
            .take_now(&keys("fresh@x.io", Some("203.0.113.9")), 0)
            .is_some());
        assert_eq!(
            t.take_now(&keys("fresh@x.io", Some("198.51.100.1")), 0),
            None
        );
    }

    #[tokio::test]
    async fn a_rate_refuses_past_its_limit_until_the_window_ends() {
        let t = Throttle::new();
        for _ in 0..3 {
            assert_eq!(t.rate("k", 3, 1_000, 0).await, None);
        }
        assert_eq!(t.rate("k", 3, 1_000, 10).await, Some(990));
        assert_eq!(t.rate("other", 3, 1_000, 10).await, None);
        assert_eq!(t.rate("k", 3, 1_000, 1_000).await, None, "a new window");
    }

    #[test]
    fn successes_give_the_ip_its_attempt_back() {
        let t = LocalThrottle::default();
        for i in 0..100 {
            let k = keys(&format!("colleague{i}@x.io"), Some("198.51.100.7"));
            assert_eq!(t.take_now(&k, 0), None, "colleague {i} behind one NAT");
            t.succeeded_now(&k[0].name, Some(&k[1].name));
        }
    }
}
