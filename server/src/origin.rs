//! Cross-site request forgery and open redirects, for the pages and server
//! functions (cookie sessions). A state-changing request must say where it
//! comes from: its `Origin` is our public URL's origin (or, for a server
//! reached on its own address, that address), or, without an `Origin`, the
//! browser says `Sec-Fetch-Site: same-origin`. Anything else (another site,
//! another port of this host, `Origin: null`, nothing at all) is refused with
//! the stable code `cross_origin` before any handler runs. Redirects only go
//! to our own origin. The machine API (`/api/v1`) uses bearer tokens, not
//! cookies, and is not behind this guard.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use payquest_types::{ApiError, ErrorCode};

/// The origins a state-changing request may come from.
#[derive(Debug, Clone)]
pub struct Origins {
    allowed: Vec<String>,
}

/// `scheme://host[:port]` of a URL, lower case, default ports dropped.
fn origin_of(url: &str) -> Option<String> {
    let origin = reqwest::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

impl Origins {
    pub fn new(public_url: &str, bound: SocketAddr) -> Origins {
        let public =
            origin_of(public_url).unwrap_or_else(|| public_url.trim_end_matches('/').into());
        let mut allowed = vec![public.clone()];
        let port = bound.port();
        // The server's own address, as a person reaching it directly would use.
        allowed.push(format!("http://127.0.0.1:{port}"));
        allowed.push(format!("http://localhost:{port}"));
        if !bound.ip().is_unspecified() {
            allowed.push(format!("http://{bound}"));
        }
        allowed.dedup();
        Origins { allowed }
    }

    fn allows(&self, origin: &str) -> bool {
        self.allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
    }

    /// A redirect target we may send a browser to: a path of ours, or an
    /// absolute URL on an allowed origin. Anything else becomes `/`.
    fn safe_location(&self, location: &str) -> bool {
        if location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\")
        {
            return true;
        }
        origin_of(location).is_some_and(|o| self.allows(&o))
    }
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(ApiError::new(
            ErrorCode::CrossOrigin,
            "this request did not come from a PayQuest page; reload the page and try again",
        )),
    )
        .into_response()
}

pub async fn guard(State(origins): State<Arc<Origins>>, req: Request, next: Next) -> Response {
    if !is_safe_method(req.method()) {
        let headers = req.headers();
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let ok = match origin {
            Some(o) if o != "null" => origins.allows(o),
            _ => fetch_site == Some("same-origin"),
        };
        if !ok {
            tracing::warn!(
                origin = origin.unwrap_or("-"),
                sec_fetch_site = fetch_site.unwrap_or("-"),
                path = %req.uri().path(),
                "refused a cross-origin request"
            );
            return refused();
        }
    }
    // A no-JS form post is sent back to its Referer, which a request may set
    // to anything: a Location off our origin becomes `/`.
    let mut res = next.run(req).await;
    let unsafe_target = res
        .headers()
        .get(header::LOCATION)
        .is_some_and(|l| l.to_str().map_or(true, |l| !origins.safe_location(l)));
    if unsafe_target {
        res.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_origins_and_paths() {
        let o = Origins::new(
            "https://payquest.example/",
            "0.0.0.0:3000".parse().expect("addr"),
        );
        assert!(o.allows("https://payquest.example"));
        assert!(o.allows("http://127.0.0.1:3000"));
        assert!(!o.allows("https://evil.example"));
        assert!(!o.allows("http://127.0.0.1:3001"));
        assert!(!o.allows("http://payquest.example"));
        assert!(o.safe_location("/admin/users"));
        assert!(o.safe_location("https://payquest.example/admin"));
        assert!(!o.safe_location("https://evil.example/phish"));
        assert!(!o.safe_location("//evil.example/phish"));
        assert!(!o.safe_location("/\\evil.example"));
        assert!(!o.safe_location("javascript:alert(1)"));
    }
}
