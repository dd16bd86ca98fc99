//! `POST /api/v1/activities` and `GET /api/v1/activities/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use payquest_domain::activities::{ActivityIn, ActivityView, ItemOutcome};
use payquest_domain::limits::ACTIVITY_BATCH_MAX;
use payquest_types::ActivityId;
use payquest_types::ErrorCode;
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiState, Failure, Machine};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    #[schema(min_items = 1, max_items = 1000)]
    activities: Vec<ActivityIn>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    created: usize,
    existing: usize,
    rejected: usize,
    conflicts: usize,
    results: Vec<ItemOutcome>,
}

fn invalid(message: impl Into<String>) -> Failure {
    // Serde names fields in backticks; messages quote them.
    Failure::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidInput,
        message.into().replace('`', "\""),
    )
}

fn too_many() -> Failure {
    invalid(format!(
        "send 1 to {ACTIVITY_BATCH_MAX} activities per request"
    ))
}

/// Reads `{"activities": [...]}`, a single activity object, or NDJSON (one per line).
fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<(Vec<ActivityIn>, bool), Failure> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-ndjson") {
        let mut items = Vec::new();
        for (n, line) in body.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if items.len() == ACTIVITY_BATCH_MAX {
                return Err(too_many());
            }
            items.push(
                serde_json::from_slice(line)
                    .map_err(|e| invalid(format!("line {}: {e}", n + 1)))?,
            );
        }
        return Ok((items, false));
    }
    if !content_type.starts_with("application/json") {
        return Err(invalid("send application/json or application/x-ndjson"));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(invalid("the body must be a JSON object"));
    }
    // A batch has exactly one key, `activities`; anything else is one activity.
    match serde_json::from_slice::<Batch>(body) {
        Ok(batch) => Ok((batch.activities, false)),
        Err(batch_err) => match serde_json::from_slice::<ActivityIn>(body) {
            Ok(one) => Ok((vec![one], true)),
            Err(_) if body.windows(12).any(|w| w == b"\"activities\"") => {
                Err(invalid(batch_err.to_string()))
            }
            Err(one_err) => Err(invalid(one_err.to_string())),
        },
    }
}

#[utoipa::path(post, path = "/api/v1/activities", tag = "activities",
    request_body(content = Batch, description = "A batch `{\"activities\": [...]}` of 1 to 1,000, one activity object, \
        or NDJSON (`application/x-ndjson`). Per item, not all-or-nothing: valid items are stored, invalid ones \
        answered with their error; retrying the whole batch is safe."),
    responses((status = 200, body = BatchResult, description = "Batch: each item's own status in `results`"),
              (status = 201, body = ItemOutcome, description = "Single activity created"),
              (status = 409, body = ItemOutcome, description = "Single activity: external_id reused with another payload"),
              (status = 401, body = payquest_types::ApiError, description = "Missing or invalid token"),
              (status = 403, body = payquest_types::ApiError, description = "Scope missing"),
              (status = 413, body = payquest_types::ApiError, description = "Body too large"),
              (status = 422, body = payquest_types::ApiError, description = "invalid_input: unreadable body, wrong content type, or 0 or more than 1,000 activities"),
              (status = 429, body = payquest_types::ApiError, description = "throttled: this client's requests per minute are used up; see Retry-After")),
    security(("bearer" = ["activities:write"])))]
pub async fn report(
    State(state): State<ApiState>,
    Machine(principal): Machine,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if let Some(wait_ms) = state
        .throttle
        .rate(
            &format!("activities:client:{}", principal.api_client_id),
            state.activity_requests_per_minute,
            60_000,
            payquest_domain::clock::now_ms(),
        )
        .await
    {
        return Ok(super::too_many_requests(wait_ms));
    }
    let (items, single) = parse_body(&headers, &body)?;
    if items.is_empty() || items.len() > ACTIVITY_BATCH_MAX {
        return Err(too_many());
    }
    let results = match state.activities.ingest(&principal, &items).await {
        Ok(r) => r,
        Err(e) => {
            return Err(state
                .refused(&principal, "POST /api/v1/activities", e)
                .await)
        }
    };
    if single {
        let item = results.into_iter().next().ok_or_else(|| invalid("empty"))?;
        let status = StatusCode::from_u16(item.http_status).unwrap_or(StatusCode::OK);
        return Ok((status, Json(item)).into_response());
    }
    let count = |s: u16| results.iter().filter(|r| r.http_status == s).count();
    Ok(Json(BatchResult {
        created: count(201),
        existing: count(200),
        rejected: count(422),
        conflicts: count(409),
        results,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/activities/{activity_id}", tag = "activities",
    params(("activity_id" = i64, Path, description = "The id returned when the activity was reported")),
    responses((status = 200, body = ActivityView),
              (status = 400, body = payquest_types::ApiError, description = "invalid_input: the id is not a 64-bit integer"),
              (status = 401, body = payquest_types::ApiError, description = "Missing or invalid token"),
              (status = 403, body = payquest_types::ApiError, description = "Scope missing"),
              (status = 404, body = payquest_types::ApiError, description = "Unknown, or reported by another client")),
    security(("bearer" = ["activities:read"])))]
pub async fn status(
    State(state): State<ApiState>,
    Machine(principal): Machine,
    activity_id: Result<Path<ActivityId>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<ActivityView>> {
    let Path(activity_id) = activity_id.map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            "the activity id must be a 64-bit integer",
        )
    })?;
    match state.activities.get(&principal, activity_id).await {
        Ok(v) => Ok(Json(v)),
        Err(e) => Err(state
            .refused(&principal, "GET /api/v1/activities/{id}", e)
            .await),
    }
}
