//! The cache in front of the public site and the public content API: whole
//! responses by request key, in process by default, in Redis when several
//! replicas share one (`PAYQUEST_REDIS_URL`).
//!
//! Purging is a generation counter: every key is stored under the
//! generation it was read at, and a publish or unpublish moves the
//! generation on, so every replica misses on its next request. A response
//! is stored under the generation looked up *before* the content was read,
//! so a publish that lands in between leaves it under a dead generation
//! instead of serving it as new.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// A response as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub content_type: String,
    /// The ETag the response carries (strong for the API, weak for pages).
    pub etag: String,
    /// A page's CSP nonce, which is replaced by a fresh one on every hit.
    pub nonce: String,
    /// A page's Content-Security-Policy (naming the nonce).
    pub csp: String,
    pub body: Vec<u8>,
}

/// The largest response worth caching.
pub const CACHED_BODY_MAX_BYTES: usize = 1 << 20;
/// How long a cached response lives when nothing is published.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

#[async_trait]
pub trait PublicCache: Send + Sync {
    /// The current generation and the response stored under it, if any.
    /// `None` for the generation when the cache cannot be reached (serve
    /// from the database and store nothing).
    async fn lookup(&self, key: &str) -> (Option<u64>, Option<Arc<Cached>>);
    async fn store(&self, generation: u64, key: &str, value: Cached);
    /// Every replica misses from its next request on.
    async fn purge(&self);
}

/// One process's cache: bounded by bytes, oldest-unused out first
/// (quick_cache), each entry for at most `CACHE_TTL`.
pub struct LocalCache {
    generation: AtomicU64,
    entries: quick_cache::sync::Cache<String, (Arc<Cached>, std::time::Instant), ByBytes>,
}

#[derive(Clone)]
pub struct ByBytes;

impl quick_cache::Weighter<String, (Arc<Cached>, std::time::Instant)> for ByBytes {
    fn weight(&self, key: &String, value: &(Arc<Cached>, std::time::Instant)) -> u64 {
        (key.len() + value.0.body.len() + 128) as u64
    }
}

/// What the in-process cache may hold in all.
pub const LOCAL_CACHE_MAX_BYTES: u64 = 64 << 20;

impl Default for LocalCache {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(0),
            entries: quick_cache::sync::Cache::with_weighter(4_096, LOCAL_CACHE_MAX_BYTES, ByBytes),
        }
    }
}

#[async_trait]
impl PublicCache for LocalCache {
    async fn lookup(&self, key: &str) -> (Option<u64>, Option<Arc<Cached>>) {
        let generation = self.generation.load(Ordering::Acquire);
        let hit = self
            .entries
            .get(&format!("{generation}:{key}"))
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(v, _)| v);
        (Some(generation), hit)
    }

    async fn store(&self, generation: u64, key: &str, value: Cached) {
        if generation == self.generation.load(Ordering::Acquire) {
            self.entries.insert(
                format!("{generation}:{key}"),
                (Arc::new(value), std::time::Instant::now()),
            );
        }
    }

    async fn purge(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }
}

/// The cache every replica shares, in Redis, with a copy of what this
/// process has served in front of it: a lookup reads the shared
/// generation (one small round trip) and serves the local copy stored
/// under it, fetching the entry from Redis only when this process has no
/// copy for that generation. A purge on any replica moves the generation,
/// so every local copy is dead at once.
pub struct RedisCache {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    local: quick_cache::sync::Cache<String, (Arc<Cached>, std::time::Instant), ByBytes>,
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| format!("connecting to redis: {e}"))?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            local: quick_cache::sync::Cache::with_weighter(4_096, LOCAL_CACHE_MAX_BYTES, ByBytes),
        })
    }

    fn remember(&self, local_key: String, value: Arc<Cached>) {
        self.local
            .insert(local_key, (value, std::time::Instant::now()));
    }

    fn generation_key(&self) -> String {
        format!("{}gen", self.prefix)
    }
}

/// `etag \n content type \n nonce \n csp \n body`: the four headers are
/// plain text without newlines, the body is any bytes.
fn encode(v: &Cached) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.body.len() + 512);
    for part in [&v.etag, &v.content_type, &v.nonce, &v.csp] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(&v.body);
    out
}

fn decode(raw: &[u8]) -> Option<Cached> {
    let mut parts = raw.splitn(5, |b| *b == b'\n');
    let text = |p: Option<&[u8]>| {
        p.and_then(|p| std::str::from_utf8(p).ok())
            .map(str::to_owned)
    };
    let etag = text(parts.next())?;
    let content_type = text(parts.next())?;
    let nonce = text(parts.next())?;
    let csp = text(parts.next())?;
    let body = parts.next()?.to_vec();
    Some(Cached {
        content_type,
        etag,
        nonce,
        csp,
        body,
    })
}

#[async_trait]
impl PublicCache for RedisCache {
    async fn lookup(&self, key: &str) -> (Option<u64>, Option<Arc<Cached>>) {
        let mut conn = self.conn.clone();
        let unreachable = |e: redis::RedisError| {
            tracing::warn!(error = %e, "the shared cache is unreachable; serving from the database");
            (None, None)
        };
        let generation: Option<u64> = match redis::cmd("GET")
            .arg(self.generation_key())
            .query_async::<Option<u64>>(&mut conn)
            .await
        {
            Ok(g) => g,
            Err(e) => return unreachable(e),
        };
        let generation = generation.unwrap_or(0);
        let local_key = format!("{generation}:{key}");
        if let Some((hit, _)) = self
            .local
            .get(&local_key)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
        {
            return (Some(generation), Some(hit));
        }
        let raw: Option<Vec<u8>> = match redis::cmd("GET")
            .arg(format!("{}r:{local_key}", self.prefix))
            .query_async(&mut conn)
            .await
        {
            Ok(raw) => raw,
            Err(e) => return unreachable(e),
        };
        let hit = raw.as_deref().and_then(decode).map(Arc::new);
        if let Some(hit) = &hit {
            self.remember(local_key, hit.clone());
        }
        (Some(generation), hit)
    }

    async fn store(&self, generation: u64, key: &str, value: Cached) {
        let mut conn = self.conn.clone();
        let encoded = encode(&value);
        self.remember(format!("{generation}:{key}"), Arc::new(value));
        let stored: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("{}r:{generation}:{key}", self.prefix))
            .arg(encoded)
            .arg("EX")
            .arg(CACHE_TTL.as_secs())
            .query_async(&mut conn)
            .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "storing in the shared cache failed");
        }
    }

    async fn purge(&self) {
        let mut conn = self.conn.clone();
        let moved: redis::RedisResult<i64> = redis::cmd("INCR")
            .arg(self.generation_key())
            .query_async(&mut conn)
            .await;
        self.local.clear();
        if let Err(e) = moved {
            // The old responses live out their TTL at worst.
            metrics::counter!("payquest_cache_purge_failures_total").increment(1);
            tracing::error!(error = %e, "purging the shared cache failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Cached {
        Cached {
            content_type: "text/html".into(),
            etag: "W/\"1\"".into(),
            nonce: "abc".into(),
            csp: "script-src 'nonce-abc'".into(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_stored_response_decodes_as_it_was() {
        let v = page("line one\nline two");
        assert_eq!(decode(&encode(&v)), Some(v));
    }

    #[tokio::test]
    async fn a_purge_empties_the_local_cache_and_a_late_store_is_dropped() {
        let cache = LocalCache::default();
        let (generation, hit) = cache.lookup("/").await;
        assert!(hit.is_none());
        let generation = generation.expect("test input");
        cache.store(generation, "/", page("old")).await;
        assert_eq!(cache.lookup("/").await.1.expect("test input").body, b"old");
        // A render that read the old content finishes after the publish.
        let (before, _) = cache.lookup("/x").await;
        cache.purge().await;
        assert!(cache.lookup("/").await.1.is_none());
        cache
            .store(before.expect("test input"), "/x", page("stale"))
            .await;
        assert!(cache.lookup("/x").await.1.is_none());
    }
}
