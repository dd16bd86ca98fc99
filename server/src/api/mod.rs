//! The machine API under `/api/v1`: OAuth client credentials, the JWKS, and
//! activity reporting. Handlers only parse, call the domain and map the
//! answer; errors are `{"code", "message"}` with a matching status.

mod activities;
mod content;
mod oauth;
mod openapi;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use payquest_domain::activities::Activities;
use payquest_domain::api_clients::{MachineAuth, MachinePrincipal, TokenError};
use payquest_domain::DomainError;
use payquest_types::{ApiError, ErrorCode};
use tower_http::limit::RequestBodyLimitLayer;

/// A 1,000-activity batch with evidence fits with room to spare.
pub const API_BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub machine: Arc<MachineAuth>,
    pub activities: Arc<Activities>,
    /// Published CMS content, for anyone.
    pub content: Arc<payquest_domain::content::Content>,
    /// Guesses of client secrets, per client and per IP, and request rates
    /// (shared across replicas).
    pub throttle: payquest_domain::session::throttle::Throttle,
    /// Activity API requests per client per minute.
    pub activity_requests_per_minute: u64,
    /// Where refused requests (a missing scope) are audited.
    pub store: payquest_domain::store::DynStore,
}

impl ApiState {
    /// A missing scope is audited (capped per client and path), then answered.
    pub async fn refused(&self, who: &MachinePrincipal, path: &str, e: DomainError) -> Failure {
        if matches!(e, DomainError::Forbidden) {
            payquest_domain::audit::audit_refusal(
                &self.store,
                &self.throttle,
                &who.audit_actor(),
                path,
            )
            .await;
        }
        e.into()
    }
}

/// 429 with our error shape and `Retry-After`.
pub fn too_many_requests(wait_ms: i64) -> Response {
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(ApiError::new(
            ErrorCode::Throttled,
            "too many requests; slow down and retry after the time in Retry-After",
        )),
    )
        .into_response();
    let secs = (wait_ms + 999) / 1000;
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/.well-known/jwks.json", get(oauth::jwks))
        .route("/activities", post(activities::report))
        .route("/activities/{activity_id}", get(activities::status))
        .route("/content/{type}", get(content::list))
        .route("/content/{type}/{slug}", get(content::entry))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::docs))
        .fallback(|| async {
            Failure::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such API endpoint",
            )
        })
        .layer(RequestBodyLimitLayer::new(API_BODY_LIMIT_BYTES))
        .with_state(state)
}

/// An API error response.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    body: ApiError,
}

impl Failure {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError::new(code, message),
        }
    }
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        if let DomainError::Internal(detail) = &e {
            tracing::error!(error = %detail, "internal error in API");
        }
        let body = e.to_api();
        Self {
            status: StatusCode::from_u16(body.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        res
    }
}

/// The machine behind a valid `Authorization: Bearer` token.
pub struct Machine(pub MachinePrincipal);

impl FromRequestParts<ApiState> for Machine {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = || {
            Failure::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "a valid bearer token is required",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthenticated)?;
        match state.machine.verify(token.trim()).await {
            Ok(principal) => Ok(Machine(principal)),
            Err(TokenError::Domain(e)) => Err(e.into()),
            Err(_) => Err(unauthenticated()),
        }
    }
}

pub type ApiResult<T> = Result<T, Failure>;
