//! The HTTP surface: health and metrics for machines, the Leptos pages and
//! server functions for people, and the layers every response goes through
//! (request id, one log line per request, security headers, body limit).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use payquest_app::server::AppState;
use payquest_app::{shell, App};
use payquest_types::{ApiError, ErrorCode};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use crate::config::Config;
use crate::session_store::DbSessionStore;
use crate::telemetry::{self, Metrics};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const SESSION_COOKIE: &str = "pq_session";
/// A gamer's session cookie: its own name, store rows and idle timeout, so
/// staff and gamer sessions never grant each other anything.
const GAMER_SESSION_COOKIE: &str = "pq_gamer";
/// How long /readyz waits for the database before calling it unready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);
/// Strict policy for everything that is not a page (pages set their own, with a nonce).
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(
    state: AppState,
    api_state: crate::api::ApiState,
    leptos_options: LeptosOptions,
    config: &Config,
    bound: std::net::SocketAddr,
    throttle: payquest_domain::session::throttle::Throttle,
    proxies: crate::client_ip::ProxyRules,
) -> Router {
    let proxies = Arc::new(proxies);
    let server_fn_rate = Arc::new(ServerFnRate {
        throttle,
        per_minute: config.rate_server_fn_per_minute,
    });
    let origins = Arc::new(crate::origin::Origins::new(&config.public_url, bound));

    // Pages name the bundle under a path carrying its content's hash, so a
    // browser keeps those files for good and a new release is new paths.
    let assets = Arc::new(AssetVersion::of_site(&leptos_options));
    let mut leptos_options = leptos_options;
    if let Some(v) = &assets.0 {
        leptos_options.site_pkg_dir = Arc::from(format!("{}/{v}", leptos_options.site_pkg_dir));
    }
    let routes = generate_route_list(App);
    let store = state.store.clone();
    let cache = api_state.content.cache();
    let media = Router::new()
        .route("/media/{name}", get(crate::media_http::get))
        .with_state(state.clone());
    let upload = Router::new()
        .route(
            "/admin/media",
            axum::routing::post(crate::media_http::upload),
        )
        .with_state(state.clone());

    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.store.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(config.served_over_tls())
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.session_idle_minutes,
        )));

    // Lax, not Strict: a gamer following a link to the public site from
    // elsewhere arrives signed in; every state change is still behind the
    // origin guard.
    let gamer_sessions = SessionManagerLayer::new(DbSessionStore::gamers(state.store.clone()))
        .with_name(GAMER_SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.served_over_tls())
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.gamer_session_idle_minutes,
        )));

    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(move || readyz(store.clone())))
        .merge(media)
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            move || provide_context(state.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .route_layer(middleware::from_fn(telemetry::track))
        // Pages and server functions may show a signed-in person's data:
        // never stored by a browser or a shared cache. (Static files, served
        // by the fallback, are not affected.)
        .route_layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Static files: compressed when the browser asks (br or gzip; the
        // wasm bundles shrink to about a third). Under `/pkg/<version>/` (the
        // paths pages use) they are immutable; under plain `/pkg/` kept but
        // checked again on every load (unchanged files answer 304).
        .fallback(
            leptos_axum::file_and_error_handler(shell)
                .layer(middleware::from_fn(telemetry::track_fallback))
                .layer(middleware::from_fn_with_state(assets, static_cache_control))
                .layer(
                    // Level 4: brotli's own default (11) spends seconds on a
                    // megabyte of wasm per request; 4 sends the 3 MB
                    // dashboard wasm as 0.32 of its bytes in about 0.1 s.
                    tower_http::compression::CompressionLayer::new()
                        .br(true)
                        .gzip(true)
                        .quality(tower_http::CompressionLevel::Precise(4)),
                ),
        )
        .layer(sessions.clone())
        // The gamer's session layer runs first; its `Session` is moved to a
        // type of its own before the staff layer inserts the staff one.
        .layer(middleware::from_fn(stash_gamer_session))
        .layer(gamer_sessions)
        .layer(middleware::from_fn_with_state(
            server_fn_rate,
            limit_server_fns,
        ))
        .layer(middleware::from_fn_with_state(
            origins.clone(),
            crate::origin::guard,
        ))
        .with_state(leptos_options)
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        // An image upload has a limit of its own (the image's and the form's).
        .merge(
            upload
                .layer(sessions)
                .layer(middleware::from_fn_with_state(
                    origins,
                    crate::origin::guard,
                ))
                .layer(axum::extract::DefaultBodyLimit::disable())
                .layer(RequestBodyLimitLayer::new(
                    crate::media_http::UPLOAD_BODY_MAX_BYTES,
                ))
                .route_layer(middleware::from_fn(telemetry::track)),
        )
        // The machine API has its own, larger body limit (batches of 1,000).
        .nest(
            "/api/v1",
            crate::api::router(api_state).route_layer(middleware::from_fn(telemetry::track)),
        );

    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .into_inner();
    let hsts = config.served_over_tls().then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        )
    });

    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<Body>| {
                        let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
                        {
                            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
                            // A caller's W3C trace continues here (ignored without one).
                            let _ = span.set_parent(crate::telemetry::remote_parent(req.headers()));
                        }
                        span
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(headers)
            .option_layer(hsts)
            .layer(middleware::from_fn_with_state(proxies, crate::client_ip::resolve))
            .layer(middleware::from_fn(json_payload_too_large))
            .layer(middleware::from_fn_with_state(cache, crate::public_cache::serve)),
    )
}

/// What a browser may do with a static bundle file: keep it, revalidate it.
const STATIC_CACHE_CONTROL: &str = "public, no-cache";
/// A bundle file under its content's version: keep it for good.
const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// A hash of every file in the site's `pkg` folder, read once at start
/// (`None` without a built site). Pages load the bundle from
/// `/pkg/<version>/…`; only this replica's own version is served there, so a
/// browser never keeps another release's bytes under this name.
pub struct AssetVersion(pub Option<String>);

impl AssetVersion {
    pub fn of_site(options: &LeptosOptions) -> Self {
        use sha2::{Digest, Sha256};
        let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Self(None);
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        if files.is_empty() {
            return Self(None);
        }
        files.sort();
        let mut hash = Sha256::new();
        for f in &files {
            let Ok(bytes) = std::fs::read(f) else {
                return Self(None);
            };
            hash.update(f.file_name().unwrap_or_default().as_encoded_bytes());
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(&bytes);
        }
        Self(Some(hex::encode(&hash.finalize()[..8])))
    }
}

/// Serves `/pkg/<version>/x` as `/pkg/x`, immutable; plain `/pkg/x` with
/// `STATIC_CACHE_CONTROL`. Another version's path is not found. Error pages
/// (which may show a signed-in gamer) get no caching header.
async fn static_cache_control(
    axum::extract::State(assets): axum::extract::State<Arc<AssetVersion>>,
    mut req: Request<Body>,
    next: middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let mut cache = None;
    if let Some(rest) = path.strip_prefix("/pkg/") {
        cache = Some(STATIC_CACHE_CONTROL);
        if let Some((first, file)) = rest.split_once('/') {
            if first.len() == 16 && first.bytes().all(|b| b.is_ascii_hexdigit()) {
                if assets.0.as_deref() != Some(first) {
                    return StatusCode::NOT_FOUND.into_response();
                }
                let Ok(uri) = format!("/pkg/{file}").parse::<axum::http::Uri>() else {
                    return StatusCode::NOT_FOUND.into_response();
                };
                *req.uri_mut() = uri;
                cache = Some(IMMUTABLE_CACHE_CONTROL);
            }
        }
    }
    let mut res = next.run(req).await;
    if let (Some(value), true) = (cache, res.status().is_success()) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    res
}

/// Moves the gamer session layer's `Session` out of the way of the staff
/// layer's: handlers reach it only as `GamerSessionHandle`.
async fn stash_gamer_session(mut req: Request<Body>, next: middleware::Next) -> Response {
    if let Some(session) = req.extensions_mut().remove::<tower_sessions::Session>() {
        req.extensions_mut()
            .insert(payquest_app::server::GamerSessionHandle(session));
    }
    next.run(req).await
}

/// `/metrics` for Prometheus, on its own listener (default 127.0.0.1:9100) so
/// the public address never shows it.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(move || async move { metrics.render() }))
}

/// 200 when the database answers, else 503 naming what failed.
async fn readyz(store: payquest_domain::store::DynStore) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => {
            Json(json!({ "status": "ready", "checks": { "database": "ok" } })).into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database failed");
            unready("database unreachable")
        }
        Err(_) => unready("database timed out"),
    }
}

fn unready(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unready", "checks": { "database": why } })),
    )
        .into_response()
}

struct ServerFnRate {
    throttle: payquest_domain::session::throttle::Throttle,
    per_minute: u64,
}

/// Server functions (`POST /api/<name>`) are limited per client IP, shared
/// across replicas when Redis is configured.
async fn limit_server_fns(
    axum::extract::State(rate): axum::extract::State<Arc<ServerFnRate>>,
    req: Request,
    next: Next,
) -> Response {
    let is_server_fn = req.method() == axum::http::Method::POST
        && req.uri().path().starts_with("/api/")
        && !req.uri().path().starts_with("/api/v1/");
    if is_server_fn {
        if let Some(ip) = req.extensions().get::<payquest_app::server::ClientIp>() {
            let key = format!("fn:ip:{}", ip.0);
            if let Some(wait_ms) = rate
                .throttle
                .rate(
                    &key,
                    rate.per_minute,
                    60_000,
                    payquest_domain::clock::now_ms(),
                )
                .await
            {
                return crate::api::too_many_requests(wait_ms);
            }
        }
    }
    next.run(req).await
}

/// The body limit answers 413 with a plain body; give it our stable error shape.
async fn json_payload_too_large(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return res;
    }
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is too large",
        )),
    )
        .into_response()
}
