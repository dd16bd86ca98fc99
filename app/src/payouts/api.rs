//! Server functions for payout batches (maker, checker, finance). Thin:
//! authorise through the domain, map to DTOs.

use leptos::prelude::*;
use payquest_types::{BatchId, BatchList, BatchSummary, BatchView, PayoutItemId, PayoutItemView};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{fail, StaffCtx};

#[cfg(feature = "ssr")]
mod map {
    use payquest_domain::clock::format_ms;
    use payquest_domain::store::{BatchRecord, PayoutItemRow};
    use payquest_types::{Amount, BatchSummary, PayoutItemView};

    pub fn batch(b: &BatchRecord) -> BatchSummary {
        BatchSummary {
            batch_id: b.payout_batch_id,
            state: b.state,
            note: b.note.clone(),
            maker_email: b.maker_email.clone(),
            item_count: b.item_count,
            total: Amount::from_minor(b.total_minor),
            approvals: b.approvals,
            approvals_needed: b.approvals_needed,
            content_hash: b.content_hash.clone(),
            created_at: format_ms(b.created_at_ms),
        }
    }

    pub fn item(i: &PayoutItemRow) -> PayoutItemView {
        PayoutItemView {
            payout_item_id: i.payout_item_id,
            activity_id: i.activity_id,
            campaign_name: i.campaign_name.clone(),
            quest_name: i.quest_name.clone(),
            wallet: i.wallet.clone(),
            amount: Amount::from_minor(i.amount_minor),
            state: i.state,
            created_at: format_ms(i.created_at_ms),
            chunk_seq: None,
            tx_hash: None,
            tx_url: None,
        }
    }
}

/// The maker's filter as typed in the builder.
#[cfg(feature = "ssr")]
fn request(
    note: String,
    campaign: String,
    quest: String,
    from: String,
    to: String,
    min_amount: String,
    max_items: u32,
) -> Result<payquest_domain::payouts::BatchRequest, AppError> {
    let day = |raw: &str, what: &str, field| -> Result<Option<i64>, AppError> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        crate::campaigns::api::parse_day(raw.trim(), what, field).map(Some)
    };
    let id = |raw: &str, what: &str, field| -> Result<Option<i64>, AppError> {
        let t = raw.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>().map(Some).map_err(|_| {
            fail(payquest_domain::DomainError::InvalidField {
                field,
                message: format!("{what} must be a number"),
            })
        })
    };
    let campaign_id = id(&campaign, "the campaign", "campaign")?.map(payquest_types::CampaignId);
    let quest_id = id(&quest, "the quest", "quest")?.map(payquest_types::QuestId);
    let min_amount_minor = if min_amount.trim().is_empty() {
        None
    } else {
        Some(crate::campaigns::api::parse_amount(min_amount.trim(), "min_amount")?.minor())
    };
    Ok(payquest_domain::payouts::BatchRequest {
        note,
        campaign_id,
        quest_id,
        from_ms: day(&from, "the start date", "from")?,
        to_ms: day(&to, "the end date", "to")?,
        min_amount_minor,
        max_items,
    })
}

/// Every batch, or the checker's approval inbox (the domain leaves out
/// their own batches).
#[server(endpoint = "list_batches")]
pub async fn list_batches(view: BatchList) -> Result<Vec<BatchSummary>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let list = match view {
        BatchList::Inbox => ctx.state.payouts.approval_inbox(actor, 200).await?,
        BatchList::All => ctx.state.payouts.list(actor, &[], None, 200).await?,
    };
    Ok(list.iter().map(map::batch).collect())
}

#[server(endpoint = "preview_eligible")]
pub async fn preview_eligible(
    campaign: String,
    quest: String,
    from: String,
    to: String,
    min_amount: String,
    max_items: u32,
) -> Result<Vec<PayoutItemView>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let req = request(
        String::new(),
        campaign,
        quest,
        from,
        to,
        min_amount,
        max_items,
    )?;
    let rows = ctx
        .state
        .payouts
        .eligible(actor, &req, max_items.clamp(1, 200))
        .await?;
    Ok(rows.iter().map(map::item).collect())
}

#[server(endpoint = "create_batch")]
#[allow(clippy::too_many_arguments)]
pub async fn create_batch(
    note: String,
    campaign: String,
    quest: String,
    from: String,
    to: String,
    min_amount: String,
    max_items: u32,
) -> Result<BatchId, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let req = request(note, campaign, quest, from, to, min_amount, max_items)?;
    let b = ctx.state.payouts.create_batch(actor, &req).await?;
    Ok(b.payout_batch_id)
}

/// Campaigns and quests by name for the batch builder's pickers.
#[server(endpoint = "batch_filter_choices")]
pub async fn batch_filter_choices() -> Result<Vec<payquest_types::FilterCampaign>, AppError> {
    let ctx = StaffCtx::load().await?;
    let choices = ctx.state.payouts.filter_choices(&ctx.actor).await?;
    Ok(choices
        .into_iter()
        .map(|(c, quests)| payquest_types::FilterCampaign {
            campaign_id: c.campaign_id,
            name: c.name,
            quests: quests.into_iter().map(|q| (q.quest_id, q.name)).collect(),
        })
        .collect())
}

#[server(endpoint = "load_batch")]
pub async fn load_batch(
    batch_id: BatchId,
    items_after: Option<PayoutItemId>,
) -> Result<BatchView, AppError> {
    use payquest_domain::clock::format_ms;
    use payquest_types::{Amount, ApprovalView, CampaignTotalView, ChunkView, BATCH_ITEMS_PAGE};
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    // One more than a page tells whether another page follows.
    let mut d = ctx
        .state
        .payouts
        .detail(
            actor,
            batch_id,
            items_after.unwrap_or_default(),
            BATCH_ITEMS_PAGE + 1,
        )
        .await?;
    let next_items_after = if d.items.len() > BATCH_ITEMS_PAGE as usize {
        d.items.truncate(BATCH_ITEMS_PAGE as usize);
        d.items.last().map(|i| i.payout_item_id)
    } else {
        None
    };
    // Depth matters only while a chunk is mined and not yet confirmed.
    let chain_depth = if d
        .chunks
        .iter()
        .any(|c| c.state == payquest_types::ChunkState::Mined)
    {
        ctx.state.payouts.chain_depth(actor).await?
    } else {
        None
    };
    let b = &d.batch;
    let can = payquest_domain::payouts::batch_capabilities(actor, b);
    let tx_url = |hash: &Option<String>| {
        let (Some(t), Some(h)) = (ctx.state.explorer_tx_url.as_ref(), hash) else {
            return None;
        };
        Some(t.replace("{hash}", h))
    };
    Ok(BatchView {
        summary: map::batch(b),
        decision_reason: b.decision_reason.clone(),
        totals: d
            .totals
            .iter()
            .map(|t| CampaignTotalView {
                campaign_id: t.campaign_id,
                campaign_name: t.campaign_name.clone(),
                item_count: t.item_count,
                total: Amount::from_minor(t.total_minor),
            })
            .collect(),
        approvals: d
            .approvals
            .iter()
            .map(|a| ApprovalView {
                checker_email: a.checker_email.clone(),
                current: a.content_hash == b.content_hash,
                approved_at: format_ms(a.approved_at_ms),
            })
            .collect(),
        chunks: d
            .chunks
            .iter()
            .map(|c| ChunkView {
                chunk_id: c.payout_chunk_id,
                seq: c.seq,
                state: c.state,
                item_count: c.item_count,
                total: Amount::from_minor(c.total_minor),
                nonce: c.nonce,
                tx_url: tx_url(&c.mined_tx_hash),
                tx_hash: c.mined_tx_hash.clone(),
                block: c.mined_block,
            })
            .collect(),
        failed_items: b.failed_items,
        items: d
            .items
            .iter()
            .map(|i| {
                let chunk = i
                    .payout_chunk_id
                    .and_then(|id| d.chunks.iter().find(|c| c.payout_chunk_id == id));
                payquest_types::PayoutItemView {
                    chunk_seq: chunk.map(|c| c.seq + 1),
                    tx_url: chunk.and_then(|c| tx_url(&c.mined_tx_hash)),
                    tx_hash: chunk.and_then(|c| c.mined_tx_hash.clone()),
                    ..map::item(i)
                }
            })
            .collect(),
        next_items_after,
        chain_depth,
        // Reconciled: when its last chunk was; disbursed: when the last
        // chunk confirmed.
        disbursed_in_ms: b
            .disbursing_at_ms
            .zip(if b.state == payquest_types::BatchState::Reconciled {
                d.chunks.iter().map(|c| c.updated_at_ms).max()
            } else {
                b.finished_at_ms
            })
            .map(|(start, end)| end - start),
        can_edit: can.can_edit,
        can_decide: can.can_decide,
        can_disburse: can.can_disburse,
        withdrawal: b
            .withdraw_requested_by
            .map(|_| payquest_types::WithdrawalView {
                requested_by: b.withdraw_requested_by_email.clone().unwrap_or_default(),
                reason: b.withdraw_reason.clone().unwrap_or_default(),
                requested_at: b
                    .withdraw_requested_at_ms
                    .map(format_ms)
                    .unwrap_or_default(),
            }),
        can_request_withdrawal: can.withdrawal.can_request,
        can_confirm_withdrawal: can.withdrawal.can_confirm,
        can_cancel_withdrawal: can.withdrawal.can_cancel,
    })
}

#[server(endpoint = "request_withdrawal")]
pub async fn request_withdrawal(batch_id: BatchId, reason: String) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .payouts
        .request_withdrawal(actor, batch_id, &reason)
        .await?;
    Ok("Withdrawal requested: nothing of this batch will be signed; a checker who did not ask must confirm it.".into())
}

#[server(endpoint = "confirm_withdrawal")]
pub async fn confirm_withdrawal(batch_id: BatchId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .payouts
        .confirm_withdrawal(actor, batch_id)
        .await?;
    Ok("Withdrawn: the reservation is voided and the items are eligible again.".into())
}

#[server(endpoint = "cancel_withdrawal")]
pub async fn cancel_withdrawal(batch_id: BatchId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state.payouts.cancel_withdrawal(actor, batch_id).await?;
    Ok("Withdrawal request cancelled: disbursement goes on.".into())
}

#[server(endpoint = "export_batch_csv")]
pub async fn export_batch_csv(batch_id: BatchId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.payouts.export_csv(actor, batch_id).await?)
}

#[server(endpoint = "submit_batch")]
pub async fn submit_batch(batch_id: BatchId) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.payouts.submit(actor, batch_id).await?)
}

#[server(endpoint = "remove_batch_item")]
pub async fn remove_batch_item(
    batch_id: BatchId,
    payout_item_id: PayoutItemId,
) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .payouts
        .remove_items(actor, batch_id, &[payout_item_id])
        .await?;
    Ok(())
}

/// Approves the contents the checker saw (`content_hash`); says what happened.
#[server(endpoint = "approve_batch")]
pub async fn approve_batch(batch_id: BatchId, content_hash: String) -> Result<String, AppError> {
    use payquest_domain::store::ApproveOutcome;
    use payquest_domain::{Conflict, DomainError};
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let outcome = ctx
        .state
        .payouts
        .approve(actor, batch_id, &content_hash)
        .await?;
    match outcome {
        ApproveOutcome::Approved => Ok("Approved: the budget is reserved.".into()),
        ApproveOutcome::Recorded { approvals, needed } => Ok(format!(
            "Approval recorded ({approvals} of {needed}); another checker must approve too."
        )),
        ApproveOutcome::Short {
            campaign_name,
            short_by_minor,
            ..
        } => Err(DomainError::Named(
            Conflict::BudgetShort,
            format!(
                "Not approved: {campaign_name}'s budget is short by {}.",
                payquest_types::Amount::from_minor(short_by_minor)
            ),
        )
        .into()),
        ApproveOutcome::Stale { .. } => Err(DomainError::Named(
            Conflict::Stale,
            "The batch changed after you opened it; reload and review it again.".into(),
        )
        .into()),
        ApproveOutcome::NotPending => Err(DomainError::Named(
            Conflict::NotPending,
            "The batch is not waiting for your approval.".into(),
        )
        .into()),
    }
}

#[server(endpoint = "reject_batch")]
pub async fn reject_batch(batch_id: BatchId, reason: String) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.payouts.reject(actor, batch_id, &reason).await?)
}

#[server(endpoint = "start_disbursement")]
pub async fn start_disbursement(batch_id: BatchId) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .payouts
        .start_disbursement(actor, batch_id)
        .await?)
}

#[server(endpoint = "retry_failed_items")]
pub async fn retry_failed_items(batch_id: BatchId) -> Result<u64, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.payouts.retry_failed(actor, batch_id).await?)
}

/// Whether approved batches start disbursing at once, and whether the viewer
/// may change that.
#[server(endpoint = "payout_policy")]
pub async fn payout_policy() -> Result<(bool, bool), AppError> {
    use payquest_domain::session::Permission;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let on = ctx.state.payouts.auto_disburse(actor).await?;
    Ok((on, actor.can(Permission::Disburse)))
}

#[server(endpoint = "set_auto_disburse")]
pub async fn set_auto_disburse(on: bool) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.payouts.set_auto_disburse(actor, on).await?)
}
