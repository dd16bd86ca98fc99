//! `GET /api/v1/content/{type}` and `/api/v1/content/{type}/{slug}`:
//! published CMS content for anyone (drafts never), in a locale with a
//! per-field fallback, with a strong ETag.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use payquest_domain::content::{locale_or_default, CONTENT_PAGE_MAX, SLUG_MAX_CHARS};
use payquest_types::{ContentType, ErrorCode, PublishedContent};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ApiResult, ApiState, Failure};

/// How long a CDN may serve a response, and serve it stale while it refetches.
const CACHE_CONTROL: &str = "public, max-age=0, s-maxage=60, stale-while-revalidate=300";

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `en` (default) or `es`; a field with no translation falls back to `en`.
    locale: Option<String>,
    /// The last slug of the previous page.
    after: Option<String>,
    /// 1 to 100 (default 20).
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntryQuery {
    /// `en` (default) or `es`.
    locale: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContentPage {
    items: Vec<PublishedContent>,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<String>,
}

fn content_type(raw: &str) -> Result<ContentType, Failure> {
    raw.parse().map_err(|_| {
        Failure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such content type (banner, header, footer, k_quest, k_drop, leaderboard)",
        )
    })
}

fn bad(message: &str) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, message)
}

/// The body with a strong ETag over it; 304 when the client has it already.
fn cached<T: Serialize>(headers: &HeaderMap, value: &T) -> ApiResult<Response> {
    let body = serde_json::to_vec(value)
        .map_err(|e| Failure::from(payquest_domain::DomainError::internal(e)))?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok(res)
}

/// Published entries of a type, by slug.
#[utoipa::path(get, path = "/api/v1/content/{type}", tag = "content",
    params(("type" = String, Path, description = "banner, header, footer, k_quest, k_drop or leaderboard"), ListQuery),
    responses(
        (status = 200, body = ContentPage, description = "A page of published entries"),
        (status = 304, description = "Not modified (the ETag matched)"),
        (status = 400, body = payquest_types::ApiError, description = "A bad locale, cursor or page size"),
        (status = 404, body = payquest_types::ApiError, description = "No such content type"),
        (status = 429, body = payquest_types::ApiError, description = "Too many requests")))]
pub async fn list(
    State(state): State<ApiState>,
    Path(kind): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let content_type = content_type(&kind)?;
    let Query(q) = query.map_err(|_| bad("the query parameters are locale, after and limit"))?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > CONTENT_PAGE_MAX {
        return Err(bad("limit is 1 to 100"));
    }
    let after = q.after.unwrap_or_default();
    if after.len() > SLUG_MAX_CHARS {
        return Err(bad("after is a slug"));
    }
    let locale = locale_or_default(q.locale.as_deref());
    let items = state
        .content
        .published_list(content_type, locale, &after, limit)
        .await?;
    let next_after = (items.len() == limit as usize)
        .then(|| items.last().map(|i| i.slug.clone()))
        .flatten();
    cached(&headers, &ContentPage { items, next_after })
}

/// One published entry.
#[utoipa::path(get, path = "/api/v1/content/{type}/{slug}", tag = "content",
    params(("type" = String, Path, description = "banner, header, footer, k_quest, k_drop or leaderboard"),
           ("slug" = String, Path, description = "The entry's slug (a singleton's is its type)"), EntryQuery),
    responses(
        (status = 200, body = PublishedContent, description = "The published entry"),
        (status = 304, description = "Not modified (the ETag matched)"),
        (status = 400, body = payquest_types::ApiError, description = "A bad query parameter"),
        (status = 404, body = payquest_types::ApiError, description = "No such type, or nothing published under that slug"),
        (status = 429, body = payquest_types::ApiError, description = "Too many requests")))]
pub async fn entry(
    State(state): State<ApiState>,
    Path((kind, slug)): Path<(String, String)>,
    query: Result<Query<EntryQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let content_type = content_type(&kind)?;
    let Query(q) = query.map_err(|_| bad("the query parameter is locale"))?;
    let locale = locale_or_default(q.locale.as_deref());
    match state.content.published(content_type, &slug, locale).await? {
        Some(c) => cached(&headers, &c),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "nothing is published under that slug",
        )),
    }
}
