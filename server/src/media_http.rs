//! Images over HTTP: `GET /media/<sha256>.<ext>` for anyone (immutable, so
//! cached for a year), and `POST /admin/media`, the media page's upload
//! form (a signed-in community member; a plain multipart form post, so it
//! works before the page has hydrated).

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use payquest_app::server::{set_flash, staff_actor_of, AppState, ClientIp};
use payquest_domain::media::MEDIA_MAX_BYTES;
use payquest_domain::DomainError;
use payquest_types::ApiError;
use tower_sessions::Session;

/// The upload's body: the image and the form's framing.
pub const UPLOAD_BODY_MAX_BYTES: usize = MEDIA_MAX_BYTES + 64 * 1024;

pub async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.media.get(&name).await {
        Ok((bytes, mime)) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            res
        }
        Err(e) => error(e),
    }
}

fn error(e: DomainError) -> Response {
    if let DomainError::Internal(detail) = &e {
        tracing::error!(error = %detail, "internal error serving media");
    }
    let api: ApiError = e.to_api();
    let status =
        StatusCode::from_u16(api.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(api)).into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Reads the form's `file` part, at most `MEDIA_MAX_BYTES` of it.
async fn file_part(mut form: Multipart) -> Result<(String, Vec<u8>), DomainError> {
    let too_big = || DomainError::InvalidField {
        field: "file",
        message: format!("images are at most {} MiB", MEDIA_MAX_BYTES / (1024 * 1024)),
    };
    let bad_form = || DomainError::InvalidInput("send the image as the form's `file` part".into());
    while let Some(mut field) = form.next_field().await.map_err(|_| bad_form())? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("image").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| too_big())? {
            if bytes.len() + chunk.len() > MEDIA_MAX_BYTES {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((name, bytes));
    }
    Err(bad_form())
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let ip = ip.map(|Extension(ClientIp(ip))| ip.to_string());
    let json = wants_json(&headers);
    let actor = match staff_actor_of(&state, &session, ip.as_deref()).await {
        Ok(actor) => actor,
        Err(e) if json => return error(e),
        Err(_) => return Redirect::to(payquest_app::routes::SIGN_IN).into_response(),
    };
    let outcome = match form {
        Ok(form) => match file_part(form).await {
            Ok((name, bytes)) => state.media.upload(&actor, &name, bytes).await,
            Err(e) => Err(e),
        },
        Err(_) => Err(DomainError::InvalidInput(
            "send a multipart/form-data body with a `file` part".into(),
        )),
    };
    match (outcome, json) {
        (Ok(media), true) => (StatusCode::CREATED, Json(media)).into_response(),
        (Err(e), true) => error(e),
        (Ok(media), false) => {
            set_flash(
                &session,
                true,
                format!(
                    "Uploaded {} ({} × {} px): use {} in content.",
                    media.file_name, media.width, media.height, media.url
                ),
            )
            .await;
            Redirect::to(payquest_app::routes::MEDIA).into_response()
        }
        (Err(e), false) => {
            set_flash(
                &session,
                false,
                format!("Not uploaded: {}.", e.to_api().message),
            )
            .await;
            Redirect::to(payquest_app::routes::MEDIA).into_response()
        }
    }
}
