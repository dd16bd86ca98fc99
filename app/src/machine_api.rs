//! Server functions for API clients (admin), the activities list (staff) and
//! the quests editor.

use leptos::prelude::*;
use payquest_types::{ActivityRow, ApiClientSecret, ApiClientSummary};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{fail, StaffCtx};

#[cfg(feature = "ssr")]
fn secret(c: payquest_domain::machine_auth::ClientCredentials) -> ApiClientSecret {
    ApiClientSecret {
        client_id: c.client_id,
        client_secret: c.client_secret,
    }
}

#[server(endpoint = "list_api_clients")]
pub async fn list_api_clients() -> Result<Vec<ApiClientSummary>, AppError> {
    use payquest_domain::machine_auth::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let list = ctx
        .state
        .api_clients
        .list(ClientAdmin::Staff(actor), 0, 200)
        .await?;
    Ok(list
        .into_iter()
        .map(|c| ApiClientSummary {
            client_id: c.client_id,
            name: c.name,
            scopes: c.scopes,
            disabled: c.disabled,
            created_at: payquest_domain::clock::format_ms(c.created_at_ms),
        })
        .collect())
}

/// Creates a client; the secret is in the answer and nowhere else.
#[server(endpoint = "create_api_client")]
pub async fn create_api_client(name: String, scopes: String) -> Result<ApiClientSecret, AppError> {
    use payquest_domain::machine_auth::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let c = ctx
        .state
        .api_clients
        .create(ClientAdmin::Staff(actor), &name, &scopes)
        .await?;
    Ok(secret(c))
}

#[server(endpoint = "rotate_api_client")]
pub async fn rotate_api_client(client_id: String) -> Result<ApiClientSecret, AppError> {
    use payquest_domain::machine_auth::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let c = ctx
        .state
        .api_clients
        .rotate_secret(ClientAdmin::Staff(actor), &client_id)
        .await?;
    Ok(secret(c))
}

#[server(endpoint = "disable_api_client")]
pub async fn disable_api_client(client_id: String) -> Result<(), AppError> {
    use payquest_domain::machine_auth::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .api_clients
        .set_disabled(ClientAdmin::Staff(actor), &client_id, true)
        .await?;
    Ok(())
}

#[server(endpoint = "list_activities")]
pub async fn list_activities(
    campaign_id: Option<i64>,
    status: Option<String>,
    before_id: Option<i64>,
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
        })
        .collect())
}

/// Adds a quest. `validator` is the validator's JSON configuration, e.g.
/// `{"kind":"manual"}` (see the README for every kind).
#[server(endpoint = "create_quest")]
pub async fn create_quest(
    campaign_id: i64,
    name: String,
    reward: String,
    max_completions: Option<i64>,
    max_per_gamer: Option<i64>,
    repeat_period_s: Option<i64>,
    validator: String,
) -> Result<i64, AppError> {
    use payquest_domain::DomainError;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let reward = crate::campaign_api::parse_amount(&reward)?;
    if validator.len() > 4_096 {
        return Err(fail(DomainError::InvalidInput(
            "the validator configuration is too long".into(),
        )));
    }
    let validator = serde_json::from_str(&validator)
        .map_err(|e| fail(DomainError::InvalidInput(format!("validator: {e}"))))?;
    let q = ctx
        .state
        .campaigns
        .create_quest(
            actor,
            payquest_domain::campaigns::QuestInput {
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
pub async fn set_quest_active(quest_id: i64, active: bool) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .campaigns
        .set_quest_active(actor, quest_id, active)
        .await
        .map_err(fail)
}
