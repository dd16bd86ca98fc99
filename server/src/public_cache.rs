//! Serves the public site's pages and the public content API from the cache
//! (`payquest_domain::cache`): a hit answers without touching the database
//! or rendering, a miss renders once and keeps the response until the next
//! publish or unpublish purges it.
//!
//! Only anonymous `GET`s of the public routes with no query but `locale`
//! are cached, so a signed-in person's page is never stored and a visitor
//! cannot fill the cache with made-up URLs. A page's CSP nonce is replaced
//! by a fresh one on every hit (its ETag is weak for that reason: the
//! bytes differ, the content does not).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use payquest_domain::cache::{Cached, PublicCache, CACHED_BODY_MAX_BYTES};
use sha2::{Digest, Sha256};

/// What a CDN may do with a public response: keep it a minute, serve it
/// stale for five while it refetches.
pub const PUBLIC_CACHE_CONTROL: &str = "public, max-age=0, s-maxage=60, stale-while-revalidate=300";
const X_CACHE: &str = "x-cache";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Page,
    Api,
}

fn plain_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The cache key of a request, or `None` when it must not be cached.
fn cache_key(req: &Request) -> Option<(String, Kind)> {
    if req.method() != Method::GET {
        return None;
    }
    // Anyone with a session of ours may see a page made for them.
    let signed_in = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(';').any(|c| c.trim_start().starts_with("pq_")));
    if signed_in {
        return None;
    }
    let locale = match req.uri().query() {
        None | Some("") => "",
        Some("locale=en") => "en",
        Some("locale=es") => "es",
        Some(_) => return None,
    };
    let path = req.uri().path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let kind = match segments.as_slice() {
        // A leaderboard's ranking is not here: its scores move with every
        // validation, not with a publish (the domain keeps it a few seconds).
        [""] | ["quests"] | ["drops"] | ["leaderboards"] => Kind::Page,
        ["quests" | "drops", slug] if plain_segment(slug) => Kind::Page,
        ["api", "v1", "content", t] if plain_segment(t) => Kind::Api,
        ["api", "v1", "content", t, slug] if plain_segment(t) && plain_segment(slug) => Kind::Api,
        _ => return None,
    };
    Some((format!("{path}?{locale}"), kind))
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = bare(etag);
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "*" || bare(t) == ours))
}

fn nonce_of(csp: &str) -> Option<String> {
    let start = csp.find("'nonce-")? + "'nonce-".len();
    let len = csp[start..].find('\'')?;
    Some(csp[start..start + len].to_owned())
}

fn fresh_nonce() -> String {
    use rand::RngCore;
    let mut bytes = [0_u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The cached response as this request gets it: 304 when the client has
/// it, else the body (a page with a new nonce).
fn answer(request: &HeaderMap, cached: &Cached, kind: Kind, hit: bool) -> Response {
    let mut res = if etag_matches(request, &cached.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if kind == Kind::Page && hit && !cached.nonce.is_empty() {
        let nonce = fresh_nonce();
        let body = String::from_utf8_lossy(&cached.body).replace(&cached.nonce, &nonce);
        let mut res = Response::new(Body::from(body));
        if let Ok(v) = HeaderValue::from_str(&cached.csp.replace(&cached.nonce, &nonce)) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        res
    } else {
        let mut res = Response::new(Body::from(cached.body.clone()));
        if let Ok(v) = HeaderValue::from_str(&cached.csp) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        res
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cached.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cached.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PUBLIC_CACHE_CONTROL),
    );
    h.insert(
        X_CACHE,
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    res
}

pub async fn serve(
    State(cache): State<Arc<dyn PublicCache>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some((key, kind)) = cache_key(&req) else {
        return next.run(req).await;
    };
    let (generation, hit) = cache.lookup(&key).await;
    if let Some(hit) = hit {
        metrics::counter!("payquest_public_cache_total", "result" => "hit").increment(1);
        return answer(req.headers(), &hit, kind, true);
    }
    metrics::counter!("payquest_public_cache_total", "result" => "miss").increment(1);
    let conditional = req.headers().clone();
    // The whole body is needed to keep it: render as if unconditional.
    req.headers_mut().remove(header::IF_NONE_MATCH);
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CACHED_BODY_MAX_BYTES).await else {
        // Larger than anything the public site renders: never cached.
        tracing::warn!(%key, "a public response exceeded the cache's size limit");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = if kind == Kind::Page {
        text(header::CONTENT_SECURITY_POLICY)
    } else {
        String::new()
    };
    let digest = hex::encode(&Sha256::digest(&bytes)[..16]);
    let etag = match kind {
        Kind::Api => Some(text(header::ETAG))
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| format!("\"{digest}\"")),
        Kind::Page => format!("W/\"{digest}\""),
    };
    let cached = Cached {
        content_type: text(header::CONTENT_TYPE),
        etag,
        nonce: nonce_of(&csp).unwrap_or_default(),
        csp,
        body: bytes.to_vec(),
    };
    let res = answer(&conditional, &cached, kind, false);
    if let Some(generation) = generation {
        cache.store(generation, &key, cached).await;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str, cookie: Option<&str>) -> Request {
        let mut b = Request::builder().uri(uri);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b.body(Body::empty()).expect("test input")
    }

    #[test]
    fn only_anonymous_public_reads_without_other_queries_are_cached() {
        let key = |uri: &str| cache_key(&get(uri, None)).map(|(k, _)| k);
        assert_eq!(key("/").as_deref(), Some("/?"));
        assert_eq!(key("/quests?locale=es").as_deref(), Some("/quests?es"));
        assert_eq!(
            key("/drops/launch-drop").as_deref(),
            Some("/drops/launch-drop?")
        );
        assert!(key("/api/v1/content/banner").is_some());
        assert!(key("/api/v1/content/k_quest/first").is_some());
        assert!(key("/?x=1").is_none());
        assert!(key("/api/v1/content/k_quest?after=a").is_none());
        assert!(key("/preview/abc").is_none());
        assert!(key("/admin").is_none());
        assert!(key("/quests/Bad%20Slug").is_none());
        assert!(cache_key(&get("/", Some("theme=dark; pq_session=abc"))).is_none());
        assert!(cache_key(&get("/", Some("theme=dark"))).is_some());
    }

    #[test]
    fn the_nonce_is_read_from_the_policy() {
        assert_eq!(
            nonce_of("script-src 'self' 'nonce-AbC123' 'wasm-unsafe-eval'").as_deref(),
            Some("AbC123")
        );
        assert_eq!(nonce_of("default-src 'none'"), None);
    }
}
