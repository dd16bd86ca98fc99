//! Server functions of reported activities.

use leptos::prelude::*;
use payquest_types::{ActivityId, ActivityRow, CampaignId};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[server(endpoint = "list_activities")]
pub async fn list_activities(
    campaign_id: Option<CampaignId>,
    status: Option<String>,
    before_id: Option<ActivityId>,
) -> Result<Vec<ActivityRow>, AppError> {
    use payquest_domain::clock::format_ms;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let filter = payquest_domain::store::ActivityFilter {
        owner_user_id: None,
        campaign_id,
        status: status.filter(|s| !s.is_empty()),
        before_id,
    };
    let rows = ctx
        .state
        .activities
        .list_for_staff(actor, filter, 100)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ActivityRow {
            activity_id: r.activity_id,
            external_id: r.external_id,
            campaign_name: r.campaign_name,
            quest_name: r.quest_name,
            wallet: r.wallet,
            status: r.status,
            reason: r.reason,
            attempts: r.attempts,
            occurred_at: format_ms(r.occurred_at_ms),
            received_at: format_ms(r.received_at_ms),
            payout: r.payout,
        })
        .collect())
}
