//! Server functions of quests.

use leptos::prelude::*;
use payquest_types::{CampaignId, QuestId};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{fail, StaffCtx};

/// Adds a quest. `validator` is the validator's JSON configuration, e.g.
/// `{"kind":"manual"}` (see the README for every kind).
#[server(endpoint = "create_quest")]
pub async fn create_quest(
    campaign_id: CampaignId,
    name: String,
    reward: String,
    max_completions: Option<i64>,
    max_per_gamer: Option<i64>,
    repeat_period_s: Option<i64>,
    validator: String,
) -> Result<QuestId, AppError> {
    use payquest_domain::DomainError;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let reward = crate::campaigns::api::parse_amount(&reward, "reward")?;
    if validator.len() > 4_096 {
        return Err(fail(DomainError::InvalidField {
            field: "validator",
            message: "the validator configuration is too long".into(),
        }));
    }
    let validator = serde_json::from_str(&validator).map_err(|e| {
        fail(DomainError::InvalidField {
            field: "validator",
            message: format!("validator: {e}"),
        })
    })?;
    let q = ctx
        .state
        .campaigns
        .create_quest(
            actor,
            payquest_domain::quests::QuestInput {
                campaign_id,
                name: &name,
                reward,
                max_completions,
                max_per_gamer,
                repeat_period_s,
                validator,
            },
        )
        .await?;
    Ok(q.quest_id)
}

#[server(endpoint = "set_quest_active")]
pub async fn set_quest_active(quest_id: QuestId, active: bool) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .campaigns
        .set_quest_active(actor, quest_id, active)
        .await?)
}
