//! Server functions of the review queue.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use payquest_types::{ActivityId, ReviewItem, ReviewOutcome};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[server(endpoint = "review_queue")]
pub async fn review_queue() -> Result<Vec<ReviewItem>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let entries = ctx
        .state
        .reviews
        .queue(actor, payquest_types::ActivityId::default(), 100)
        .await?;
    Ok(entries
        .into_iter()
        .map(|e| ReviewItem {
            activity_id: e.activity_id,
            external_id: e.external_id,
            quest_name: e.quest_name,
            wallet: e.wallet,
            reason: e.reason,
            evidence: fields(e.evidence_json.as_deref()),
            last_check: fields(e.last_attempt_evidence_json.as_deref()),
            occurred_at: e.occurred_at,
        })
        .collect())
}

#[server(endpoint = "decide_reviews", input = Json)]
pub async fn decide_reviews(
    activity_ids: Vec<ActivityId>,
    approve: bool,
    reason: String,
) -> Result<Vec<ReviewOutcome>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let decided = ctx
        .state
        .reviews
        .decide(actor, &activity_ids, approve, &reason)
        .await?;
    Ok(decided
        .into_iter()
        .map(|d| ReviewOutcome {
            activity_id: d.activity_id,
            status: d.status,
            reason: d.reason,
        })
        .collect())
}

/// Evidence text as fields; text that is not JSON shows as one field.
#[cfg(feature = "ssr")]
fn fields(text: Option<&str>) -> Vec<payquest_types::EvidenceField> {
    let Some(text) = text else {
        return Vec::new();
    };
    let value =
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()));
    evidence_fields(&value)
}

/// Flattens evidence JSON into fields; a bare value is one field named
/// "value".
#[cfg(feature = "ssr")]
pub fn evidence_fields(value: &serde_json::Value) -> Vec<payquest_types::EvidenceField> {
    use payquest_types::{EvidenceField, EVIDENCE_FIELDS_MAX, EVIDENCE_VALUE_MAX_CHARS};
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<EvidenceField>) {
        if out.len() >= EVIDENCE_FIELDS_MAX {
            return;
        }
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            other => {
                let text = match other {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                let value: String = text.chars().take(EVIDENCE_VALUE_MAX_CHARS).collect();
                let lower = value.to_ascii_lowercase();
                let is_url = (lower.starts_with("https://") || lower.starts_with("http://"))
                    && !value.chars().any(|c| {
                        c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>'
                    });
                // Our own media (the page's policy loads images from here
                // only) is previewed; other images are links.
                let own_media = value.starts_with("/media/")
                    && value[1..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
                let is_url = is_url || own_media;
                let image = own_media
                    && [".png", ".jpg", ".jpeg", ".gif", ".webp"]
                        .iter()
                        .any(|ext| lower.split(['?', '#']).next().unwrap_or("").ends_with(ext));
                out.push(EvidenceField {
                    key: if prefix.is_empty() {
                        "value".to_owned()
                    } else {
                        prefix.chars().take(100).collect()
                    },
                    link: is_url.then(|| value.clone()),
                    value,
                    image,
                });
            }
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}
