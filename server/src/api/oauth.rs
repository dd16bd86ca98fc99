//! `POST /api/v1/oauth/token` (client credentials, RFC 6749 §4.4) and the JWKS.

use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use payquest_app::server::ClientIp;
use payquest_domain::api_clients::TokenError;
use payquest_domain::session::throttle::Key;
use serde::Deserialize;
use serde_json::json;

use super::{ApiState, Failure};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    #[schema(pattern = "^client_credentials$")]
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; all of them when absent.
    scope: Option<String>,
}

/// OAuth errors use the RFC's `error` codes, plus our `code`/`message` pair.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        Json(json!({ "error": error, "error_description": description, "code": error, "message": description })),
    )
        .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"payquest\""),
        );
    }
    res
}

/// Credentials from HTTP Basic auth, if sent that way.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(raw.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[utoipa::path(post, path = "/api/v1/oauth/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "An access token (JWT, EdDSA, 10 minutes)"),
              (status = 400, description = "unsupported_grant_type or invalid_scope"),
              (status = 401, description = "invalid_client"),
              (status = 413, description = "payload_too_large"),
              (status = 415, description = "the body is not form-encoded"),
              (status = 422, description = "the form is missing grant_type or malformed"),
              (status = 429, description = "slow_down: too many attempts for this client or address; see Retry-After")))]
pub async fn token(
    State(state): State<ApiState>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    Form(req): Form<TokenRequest>,
) -> Response {
    if req.grant_type != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let (id, secret) = match (
        basic_credentials(&headers),
        req.client_id,
        req.client_secret,
    ) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client credentials are required",
            )
        }
    };
    // The slot is taken before the secret is checked, so parallel guesses
    // can't all be evaluated; a success forgets the client's record.
    let client_key = Key::account("token", &id.chars().take(64).collect::<String>());
    let ip_key = ip.map(|Extension(ClientIp(ip))| Key::ip("token", &ip.to_string()));
    let keys: Vec<Key> = std::iter::once(client_key.clone())
        .chain(ip_key.clone())
        .collect();
    if let Some(wait_ms) = state
        .throttle
        .take(&keys, payquest_domain::clock::now_ms())
        .await
    {
        let mut res = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "too many attempts; wait before trying again",
        );
        let secs = (wait_ms + 999) / 1000;
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let issued = state
        .machine
        .issue(&id, &secret, req.scope.as_deref())
        .await;
    if issued.is_ok() {
        state.throttle.succeeded(&client_key, ip_key.as_ref()).await;
    }
    match issued {
        Ok(token) => {
            let mut res = Json(token).into_response();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            res
        }
        Err(TokenError::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client id or secret is wrong",
        ),
        Err(TokenError::InvalidScope) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "that scope is not granted",
        ),
        Err(TokenError::InvalidToken) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client id or secret is wrong",
        ),
        Err(TokenError::Domain(e)) => Failure::from(e).into_response(),
    }
}

#[utoipa::path(get, path = "/api/v1/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "Current, next and recently retired Ed25519 public keys")))]
pub async fn jwks(State(state): State<ApiState>) -> Response {
    match state.machine.jwks().await {
        Ok(keys) => {
            let mut res = Json(keys).into_response();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("max-age=60"),
            );
            res
        }
        Err(e) => Failure::from(e).into_response(),
    }
}
