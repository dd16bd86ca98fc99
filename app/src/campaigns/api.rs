//! Server functions of campaigns, their budgets and transfers between them.

use leptos::prelude::*;
use payquest_types::{
    Amount, CampaignDetail, CampaignId, CampaignSummary, CostCentreId, TransferId,
};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{fail, Ctx, StaffCtx};

#[cfg(feature = "ssr")]
mod map {
    use payquest_domain::clock::format_ms;
    use payquest_domain::insights::CampaignInsight;
    use payquest_domain::store::{CampaignRecord, QuestRecord};
    use payquest_types::{Amount, CampaignDetail, CampaignSummary, QuestSummary, StageTime};

    pub fn summary(c: &CampaignRecord) -> CampaignSummary {
        CampaignSummary {
            campaign_id: c.campaign_id,
            name: c.name.clone(),
            owner_email: c.owner_email.clone(),
            status: c.status,
            starts_at: format_ms(c.starts_at_ms),
            ends_at: format_ms(c.ends_at_ms),
            cost_centre_id: c.budget.cost_centre_id,
            cost_centre_code: c.budget.code.clone(),
            funded: c.budget.funded,
            reserved: c.budget.reserved,
            spent: c.budget.spent,
            available: c.budget.available(),
            alert_threshold_pct: c.alert_threshold_pct,
        }
    }

    /// `can`: may fund, may manage the campaign, may edit quests.
    pub fn detail(
        c: &CampaignRecord,
        i: CampaignInsight,
        quests: Vec<QuestRecord>,
        can: [bool; 3],
    ) -> CampaignDetail {
        let [can_fund, can_manage, can_edit_quests] = can;
        CampaignDetail {
            summary: summary(c),
            budget_chart: crate::campaigns::chart::budget_chart(
                &i,
                payquest_domain::clock::now_ms(),
            ),
            unpaid_rewards: Amount::from_minor(i.unpaid_rewards_minor),
            pace_per_day: Amount::from_minor(i.pace_minor_per_day),
            runs_out_at: i.runs_out_at_ms.map(format_ms),
            stages: i
                .stages
                .into_iter()
                .map(|s| StageTime {
                    stage: s.stage,
                    count: s.count,
                    p50_ms: s.p50_ms,
                    p90_ms: s.p90_ms,
                })
                .collect(),
            alert: i.alert,
            quests: quests
                .into_iter()
                .map(|q| QuestSummary {
                    quest_id: q.quest_id,
                    name: q.name,
                    reward: q.reward,
                    validator_kind: q.validator_kind,
                    max_completions: q.max_completions,
                    max_per_gamer: q.max_per_gamer,
                    active: q.active,
                })
                .collect(),
            fund_key: format!("ui-{}", uuid::Uuid::new_v4().simple()),
            transfer_key: format!("ui-{}", uuid::Uuid::new_v4().simple()),
            can_fund,
            can_manage,
            can_edit_quests,
            cost_centre_id: c.budget.cost_centre_id,
            transfer_targets: Vec::new(),
            pending_transfers: Vec::new(),
        }
    }
}

/// Parses a token amount typed in a form (`12.5`).
#[cfg(feature = "ssr")]
pub(crate) fn parse_amount(raw: &str, field: &'static str) -> Result<Amount, AppError> {
    raw.parse().map_err(|e: payquest_types::AmountError| {
        fail(payquest_domain::DomainError::InvalidField {
            field,
            message: e.to_string(),
        })
    })
}

/// Parses a date (`2026-12-01`) or RFC 3339 time to Unix milliseconds.
#[cfg(feature = "ssr")]
pub(crate) fn parse_day(raw: &str, what: &str, field: &'static str) -> Result<i64, AppError> {
    let full = if raw.len() == 10 {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_owned()
    };
    time::OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            fail(payquest_domain::DomainError::InvalidField {
                field,
                message: format!("{what} must be a date like 2026-12-01"),
            })
        })
}

#[server(endpoint = "list_campaigns")]
pub async fn list_campaigns() -> Result<Vec<CampaignSummary>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let list = ctx
        .state
        .campaigns
        .list(actor, CampaignId::default(), 200)
        .await?;
    Ok(list.iter().map(map::summary).collect())
}

/// The budget figures alone, for following a payment on the page.
#[server(endpoint = "campaign_figures")]
pub async fn campaign_figures(
    campaign_id: CampaignId,
) -> Result<payquest_types::CampaignFigures, AppError> {
    let ctx = StaffCtx::load().await?;
    let (c, unpaid) = ctx.state.insights.figures(&ctx.actor, campaign_id).await?;
    Ok(payquest_types::CampaignFigures {
        funded: c.budget.funded,
        reserved: c.budget.reserved,
        spent: c.budget.spent,
        available: c.budget.available(),
        unpaid: payquest_types::Amount::from_minor(unpaid),
    })
}

#[server(endpoint = "load_campaign")]
pub async fn load_campaign(campaign_id: CampaignId) -> Result<CampaignDetail, AppError> {
    use payquest_domain::session::Permission;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let (campaign, insight) = ctx.state.insights.campaign(actor, campaign_id).await?;
    let quests = ctx.state.campaigns.quests(actor, campaign_id).await?;
    let mut detail = map::detail(
        &campaign,
        insight,
        quests,
        [
            actor.can(Permission::ManageBudgets),
            actor.can(Permission::ManageCampaigns),
            actor.can(Permission::ManageQuests),
        ],
    );
    if detail.can_fund {
        detail.transfer_targets = ctx
            .state
            .campaigns
            .list(actor, CampaignId::default(), 200)
            .await?
            .iter()
            .filter(|c| c.budget.cost_centre_id != campaign.budget.cost_centre_id)
            .map(map::summary)
            .collect();
        detail.pending_transfers = transfer_views(&ctx, actor).await?;
    }
    Ok(detail)
}

#[server(endpoint = "create_campaign")]
pub async fn create_campaign(
    name: String,
    owner_email: String,
    cost_centre_code: String,
    starts_on: String,
    ends_on: String,
) -> Result<CampaignId, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let starts = parse_day(&starts_on, "the start", "starts_on")?;
    let ends = parse_day(&ends_on, "the end", "ends_on")?;
    let c = ctx
        .state
        .campaigns
        .create_with_budget(
            actor,
            payquest_domain::campaigns::CampaignPlan {
                name: &name,
                owner_email: &owner_email,
                cost_centre_code: &cost_centre_code,
                starts_at_ms: starts,
                ends_at_ms: ends,
                alert_threshold_pct: payquest_domain::limits::ALERT_THRESHOLD_DEFAULT_PCT,
            },
        )
        .await?;
    Ok(c.campaign_id)
}

#[server(endpoint = "set_campaign_status")]
pub async fn set_campaign_status(campaign_id: CampaignId, status: String) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .campaigns
        .set_status(actor, campaign_id, &status)
        .await?)
}

/// Funds a campaign's cost centre. `idempotency_key` comes from the form, so
/// a double click or a retried request funds once; the same amount again
/// moments later needs `repeat` (the form's "fund again" box).
#[server(endpoint = "fund_campaign")]
pub async fn fund_campaign(
    campaign_id: CampaignId,
    amount: String,
    idempotency_key: String,
    repeat: Option<String>,
) -> Result<Amount, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let amount = parse_amount(&amount, "amount")?;
    let campaign = ctx.state.campaigns.get(actor, campaign_id).await?;
    ctx.state
        .budgets
        .fund_confirmed(
            actor,
            campaign.budget.cost_centre_id,
            amount,
            &idempotency_key,
            repeat.is_some_and(|r| r == "true"),
        )
        .await?;
    Ok(amount)
}

/// Asks to move budget from this campaign's cost centre to another's; a
/// second finance user must approve.
#[server(endpoint = "request_transfer")]
pub async fn request_transfer(
    campaign_id: CampaignId,
    to_cost_centre_id: CostCentreId,
    amount: String,
    idempotency_key: String,
) -> Result<TransferId, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let amount = parse_amount(&amount, "amount")?;
    let campaign = ctx.state.campaigns.get(actor, campaign_id).await?;
    let t = ctx
        .state
        .budgets
        .request_transfer(
            actor,
            campaign.budget.cost_centre_id,
            to_cost_centre_id,
            amount,
            &idempotency_key,
        )
        .await?;
    Ok(t.budget_transfer_id)
}

#[server(endpoint = "pending_transfers")]
pub async fn pending_transfers() -> Result<Vec<payquest_types::TransferView>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    transfer_views(&ctx, actor).await
}

/// Approves or rejects a pending transfer; the answer says what happened
/// (`executed`, `rejected`, `short by X`, `not pending`).
#[server(endpoint = "decide_transfer")]
pub async fn decide_transfer(transfer_id: TransferId, approve: bool) -> Result<String, AppError> {
    use payquest_domain::store::TransferOutcome;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let outcome = ctx
        .state
        .budgets
        .decide_transfer(actor, transfer_id, approve)
        .await?;
    Ok(match outcome {
        TransferOutcome::Executed => "executed".to_owned(),
        TransferOutcome::Rejected => "rejected".to_owned(),
        TransferOutcome::Short { short_by } => format!("short by {short_by}"),
        TransferOutcome::NotPending => "not pending".to_owned(),
    })
}

#[cfg(feature = "ssr")]
async fn transfer_views(
    ctx: &Ctx,
    actor: &payquest_domain::session::Actor,
) -> Result<Vec<payquest_types::TransferView>, AppError> {
    let list = ctx.state.budgets.pending_transfers(actor).await?;
    Ok(list
        .into_iter()
        .map(|t| payquest_types::TransferView {
            transfer_id: t.budget_transfer_id,
            from_cost_centre_id: t.from_cost_centre_id,
            to_cost_centre_id: t.to_cost_centre_id,
            amount: t.amount,
            requested_by_me: t.requested_by == actor.user_id,
        })
        .collect())
}
