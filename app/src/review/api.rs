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
            evidence: e.evidence_json,
            last_check: e.last_attempt_evidence_json,
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
