//! Payout batches, four eyes (money rule 4): a maker assembles eligible
//! rewards into a batch and submits it; a checker who is not the maker
//! approves the batch's contents hash (two distinct checkers above a
//! configurable total); the approval that completes the count reserves every
//! campaign's budget; finance starts disbursement and resolves findings.

use payquest_types::{
    ActivityId, BatchId, CampaignId, ChunkId, CostCentreId, PayoutItemId, QuestId,
};
use payquest_types::{Amount, BatchState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::sync::Arc;

use crate::audit::AuditRecord;
use crate::chain::Chain;
use crate::limits::PAGE_SIZE_MAX;
use crate::session::{Actor, Permission};
use crate::store::{
    ApprovalRow, ApproveOutcome, BatchRecord, CampaignTotal, ChunkRow, DynStore, EligibleFilter,
    PayoutItemRow,
};
use crate::{DomainError, DomainResult};

/// Items in one batch.
pub const BATCH_ITEMS_MAX: u32 = 10_000;
pub const BATCH_NOTE_MAX_CHARS: usize = 200;
pub const DECISION_REASON_MAX_CHARS: usize = 500;
/// Items removed from a batch in one request.
pub const REMOVE_ITEMS_MAX: usize = 1_000;
/// Gas a payout call is given beyond its recipients, and per recipient: `make
/// bench-gas` measures ~60k and ~25.8k (a fresh recipient), so these leave
/// headroom and a chunk's computed gas limit always covers what it uses.
pub const CALL_GAS: u64 = 80_000;
pub const RECIPIENT_GAS: u64 = 27_000;
/// The most gas a chunk's transaction asks for: under the 16,777,216
/// per-transaction cap (EIP-7825).
pub const TX_GAS_MAX: u64 = 16_000_000;
/// Recipients in one chain transaction: as many as `TX_GAS_MAX` covers (589).
pub const CHUNK_SIZE_MAX: u32 = ((TX_GAS_MAX - CALL_GAS) / RECIPIENT_GAS) as u32;
/// The chunk size when no chain is there to size it from.
pub const CHUNK_SIZE_DEFAULT: u32 = 200;

/// The gas limit of a payout of `n` recipients. Computed, never estimated,
/// so a reverting call is still mined and its receipt tells us.
pub fn chunk_gas_limit(n: usize) -> u64 {
    (CALL_GAS + RECIPIENT_GAS * n as u64).min(TX_GAS_MAX)
}

/// How chunks fill a block: recipients per chunk, and chunks one block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkFit {
    pub chunk_size: u32,
    pub per_block: u32,
}

impl ChunkFit {
    /// How chunks of a configured `chunk_size` fill a block of `block_gas_limit`.
    pub fn of(chunk_size: u32, block_gas_limit: u64) -> ChunkFit {
        ChunkFit {
            chunk_size,
            per_block: (block_gas_limit / chunk_gas_limit(chunk_size as usize)).max(1) as u32,
        }
    }

    /// Chunks signed and not yet confirmed that keep every block full while
    /// the oldest wait for their confirmations: a block's worth for each
    /// block a chunk waits (being mined, then `confirmations` deep) and one
    /// more being signed.
    pub fn in_flight(&self, confirmations: u64) -> usize {
        (self.per_block as usize * (confirmations as usize + 2)).clamp(2, 64)
    }
}

/// The chunk size that pays the most recipients per block of
/// `block_gas_limit`: a block includes a transaction while its gas limit fits
/// in the gas left, so k chunks per block each get a k-th of it (and no
/// more than `TX_GAS_MAX`); the best k wins, the larger chunk on a tie.
pub fn fit_chunks(block_gas_limit: u64) -> ChunkFit {
    let mut best = ChunkFit {
        chunk_size: 1,
        per_block: 1,
    };
    for k in 1..=64u64 {
        let room = (block_gas_limit / k).min(TX_GAS_MAX);
        if room < CALL_GAS + RECIPIENT_GAS {
            break;
        }
        let n = ((room - CALL_GAS) / RECIPIENT_GAS) as u32;
        if k as u32 * n > best.chunk_size * best.per_block {
            best = ChunkFit {
                chunk_size: n,
                per_block: k as u32,
            };
        }
    }
    best
}

/// The canonical digest of a batch's contents: its id and, ordered by item,
/// each item's id, activity, campaign, wallet and amount. A checker approves
/// this value; any change to the contents changes it.
pub fn content_hash(
    payout_batch_id: BatchId,
    items: &[(PayoutItemId, ActivityId, CampaignId, String, i64)],
) -> String {
    let mut h = Sha256::new();
    h.update(format!("payquest-batch-v1\n{payout_batch_id}\n"));
    for (item, activity, campaign, wallet, amount) in items {
        h.update(format!("{item},{activity},{campaign},{wallet},{amount}\n"));
    }
    hex::encode(h.finalize())
}

/// A batch item as chunk planning needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanItem {
    pub payout_item_id: PayoutItemId,
    pub campaign_id: CampaignId,
    pub cost_centre_id: CostCentreId,
    pub amount_minor: i64,
}

/// One chunk of a batch as the approval plans it: a run of consecutive
/// items (by id) and what it reserves from each campaign's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    pub seq: i64,
    pub first_item_id: PayoutItemId,
    pub last_item_id: PayoutItemId,
    pub item_count: i64,
    pub total_minor: i64,
    /// (campaign, its cost centre, amount), ordered by campaign then cost centre.
    pub per_campaign: Vec<(CampaignId, CostCentreId, i64)>,
}

/// Splits a batch's items (ordered by id) into chunks of at most
/// `chunk_size`, each with its total and its reservation per campaign.
pub fn plan_chunks(items: &[PlanItem], chunk_size: u32) -> Vec<ChunkPlan> {
    let size = chunk_size.max(1) as usize;
    items
        .chunks(size)
        .enumerate()
        .map(|(seq, chunk)| {
            let mut per_campaign: std::collections::BTreeMap<(CampaignId, CostCentreId), i64> =
                Default::default();
            for i in chunk {
                *per_campaign
                    .entry((i.campaign_id, i.cost_centre_id))
                    .or_default() += i.amount_minor;
            }
            ChunkPlan {
                seq: seq as i64,
                first_item_id: chunk[0].payout_item_id,
                last_item_id: chunk[chunk.len() - 1].payout_item_id,
                item_count: chunk.len() as i64,
                total_minor: chunk.iter().map(|i| i.amount_minor).sum(),
                per_campaign: per_campaign
                    .into_iter()
                    .map(|((campaign, cost_centre), amount)| (campaign, cost_centre, amount))
                    .collect(),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutSettings {
    /// Batches whose total is above this need two distinct checkers.
    pub two_checkers_above: Amount,
    /// Recipients per chain transaction.
    pub chunk_size: u32,
    /// Start disbursement as soon as a batch is approved.
    pub auto_disburse: bool,
}

impl Default for PayoutSettings {
    fn default() -> Self {
        Self {
            two_checkers_above: Amount::from_minor(10_000 * 1_000_000),
            chunk_size: CHUNK_SIZE_DEFAULT,
            auto_disburse: false,
        }
    }
}

/// Everything a batch page shows.
#[derive(Debug, Clone)]
pub struct BatchDetail {
    pub batch: BatchRecord,
    pub totals: Vec<CampaignTotal>,
    pub approvals: Vec<ApprovalRow>,
    pub chunks: Vec<ChunkRow>,
    pub items: Vec<PayoutItemRow>,
}

/// What a maker asks for, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchRequest {
    pub note: String,
    pub campaign_id: Option<CampaignId>,
    pub quest_id: Option<QuestId>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub min_amount_minor: Option<i64>,
    pub max_items: u32,
}

impl BatchRequest {
    fn filter(&self) -> DomainResult<EligibleFilter> {
        if self.max_items == 0 || self.max_items > BATCH_ITEMS_MAX {
            return Err(DomainError::InvalidInput(format!(
                "a batch holds 1 to {BATCH_ITEMS_MAX} items"
            )));
        }
        if let (Some(a), Some(b)) = (self.from_ms, self.to_ms) {
            if b <= a {
                return Err(DomainError::InvalidInput(
                    "the end of the date range must be after its start".into(),
                ));
            }
        }
        if self.min_amount_minor.is_some_and(|m| m < 0) {
            return Err(DomainError::InvalidInput(
                "the minimum amount can't be negative".into(),
            ));
        }
        Ok(EligibleFilter {
            campaign_id: self.campaign_id,
            quest_id: self.quest_id,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            min_amount_minor: self.min_amount_minor,
        })
    }
}

pub(crate) fn page(limit: u32) -> DomainResult<u32> {
    if limit == 0 || limit > PAGE_SIZE_MAX {
        return Err(DomainError::InvalidInput(format!(
            "page size must be 1 to {PAGE_SIZE_MAX}"
        )));
    }
    Ok(limit)
}

pub(crate) fn text(raw: &str, what: &str, max: usize, required: bool) -> DomainResult<String> {
    let t = raw.trim();
    if (required && t.is_empty()) || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be {} to {max} printable characters",
            usize::from(required)
        )));
    }
    Ok(t.to_owned())
}

/// What a person may do about withdrawing a batch, from the same rules the
/// operations enforce (so a page offers only what would be accepted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WithdrawalOptions {
    pub can_request: bool,
    pub can_confirm: bool,
    pub can_cancel: bool,
}

/// What a person may do with a batch, from the rules the operations
/// enforce: the page shows only what the server would accept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCapabilities {
    /// The maker's own batch before approval: change it, submit it.
    pub can_edit: bool,
    /// A checker who is not the maker, while it waits for approval.
    pub can_decide: bool,
    /// Finance: start disbursement, retry failed items, resolve findings.
    pub can_disburse: bool,
    pub withdrawal: WithdrawalOptions,
}

pub fn batch_capabilities(actor: &Actor, b: &BatchRecord) -> BatchCapabilities {
    let open = matches!(b.state, BatchState::Draft | BatchState::PendingApproval);
    BatchCapabilities {
        can_edit: open && b.maker_id == actor.user_id && actor.can(Permission::MakeBatches),
        can_decide: b.state == BatchState::PendingApproval
            && b.maker_id != actor.user_id
            && actor.can(Permission::ApproveBatches),
        can_disburse: actor.can(Permission::Disburse),
        withdrawal: withdrawal_options(actor, b),
    }
}

pub fn withdrawal_options(actor: &Actor, b: &BatchRecord) -> WithdrawalOptions {
    let before_signing =
        matches!(b.state, BatchState::Approved | BatchState::Disbursing) && b.signed_chunks == 0;
    let finance = actor.can(Permission::Disburse);
    let checker = actor.can(Permission::ApproveBatches);
    match b.withdraw_requested_by {
        None => WithdrawalOptions {
            can_request: before_signing && finance,
            ..Default::default()
        },
        Some(by) => WithdrawalOptions {
            can_request: false,
            can_confirm: before_signing
                && checker
                && by != actor.user_id
                && b.maker_id != actor.user_id,
            can_cancel: before_signing && (finance || checker),
        },
    }
}

pub struct Payouts {
    pub(crate) store: DynStore,
    settings: PayoutSettings,
    /// Asked whether the contract ran a chunk before its items are given
    /// back (a retry, a withdrawal); without it those are refused.
    chain: Option<Arc<Chain>>,
}

impl Payouts {
    pub fn new(store: DynStore, settings: PayoutSettings) -> Self {
        Self {
            store,
            settings,
            chain: None,
        }
    }

    /// The chain's head block and the confirmations a payment needs, for
    /// showing how deep a mined chunk is; `None` without a chain or when the
    /// node does not answer (the page then shows no depth).
    pub async fn chain_depth(&self, actor: &Actor) -> DomainResult<Option<(i64, i64)>> {
        actor.require(Permission::ReadPayouts)?;
        let Some(chain) = &self.chain else {
            return Ok(None);
        };
        let needed = i64::try_from(chain.settings().confirmations).unwrap_or(i64::MAX);
        Ok(chain
            .head()
            .await
            .ok()
            .and_then(|h| i64::try_from(h).ok())
            .map(|h| (h, needed)))
    }

    /// The chain that proves a chunk unpaid before its items are given back.
    pub fn with_chain(mut self, chain: Arc<Chain>) -> Self {
        self.chain = Some(chain);
        self
    }

    /// Refuses when the contract ran any of `chunk_ids` (or can't be asked):
    /// giving those items back would pay them a second time.
    async fn require_unpaid(&self, chunk_ids: &[ChunkId]) -> DomainResult<()> {
        let Some(chain) = &self.chain else {
            return Err(DomainError::Conflict(
                "the chain is not connected, so it can't be shown that these items were not paid"
                    .into(),
            ));
        };
        for &id in chunk_ids {
            match chain.executed(id).await {
                Ok(false) => {}
                Ok(true) => {
                    return Err(DomainError::Conflict(format!(
                        "the payout contract ran chunk {id}: its items were paid and can't be paid again"
                    )))
                }
                Err(e) => {
                    tracing::warn!(chunk = %id, error = %e, "asking the contract about a chunk failed");
                    return Err(DomainError::Conflict(
                        "the chain could not be asked whether these items were paid; try again".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn settings(&self) -> PayoutSettings {
        self.settings
    }

    async fn load(&self, payout_batch_id: BatchId) -> DomainResult<BatchRecord> {
        self.store
            .batch(payout_batch_id)
            .await?
            .ok_or(DomainError::NotFound("batch"))
    }

    /// The campaigns and their quests by name, for the batch builder's
    /// pickers (at most `PAGE_SIZE_MAX` campaigns, newest last).
    pub async fn filter_choices(
        &self,
        actor: &Actor,
    ) -> DomainResult<Vec<(crate::store::CampaignRecord, Vec<crate::store::QuestRecord>)>> {
        actor.require(Permission::ReadPayouts)?;
        let campaigns = self
            .store
            .list_campaigns(None, Default::default(), crate::limits::PAGE_SIZE_MAX)
            .await?;
        let mut out = Vec::with_capacity(campaigns.len());
        for c in campaigns {
            let quests = self.store.quests_of(c.campaign_id).await?;
            out.push((c, quests));
        }
        Ok(out)
    }

    /// Eligible rewards matching a maker's filter (the builder's preview).
    pub async fn eligible(
        &self,
        actor: &Actor,
        request: &BatchRequest,
        limit: u32,
    ) -> DomainResult<Vec<PayoutItemRow>> {
        actor.require(Permission::MakeBatches)?;
        let filter = request.filter()?;
        Ok(self.store.eligible_items(&filter, page(limit)?).await?)
    }

    pub async fn create_batch(
        &self,
        actor: &Actor,
        request: &BatchRequest,
    ) -> DomainResult<BatchRecord> {
        actor.require(Permission::MakeBatches)?;
        let filter = request.filter()?;
        let note = text(&request.note, "the note", BATCH_NOTE_MAX_CHARS, false)?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.batch_created",
            "payout_batch:new",
        )
        .before(request);
        Ok(self
            .store
            .create_batch(
                actor.user_id,
                &note,
                &filter,
                request.max_items,
                self.settings.two_checkers_above.minor(),
                &audit,
            )
            .await?)
    }

    pub async fn list(
        &self,
        actor: &Actor,
        states: &[BatchState],
        before_id: Option<BatchId>,
        limit: u32,
    ) -> DomainResult<Vec<BatchRecord>> {
        actor.require(Permission::ReadPayouts)?;
        Ok(self
            .store
            .list_batches(states, before_id, page(limit)?)
            .await?)
    }

    /// The approval inbox: batches waiting for a checker, less the ones
    /// this checker made (four eyes: they could not approve those).
    pub async fn approval_inbox(
        &self,
        actor: &Actor,
        limit: u32,
    ) -> DomainResult<Vec<BatchRecord>> {
        actor.require(Permission::ReadPayouts)?;
        Ok(self
            .store
            .list_batches(&[BatchState::PendingApproval], None, page(limit)?)
            .await?
            .into_iter()
            .filter(|b| b.maker_id != actor.user_id)
            .collect())
    }

    pub async fn detail(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
        after_item_id: PayoutItemId,
        limit: u32,
    ) -> DomainResult<BatchDetail> {
        actor.require(Permission::ReadPayouts)?;
        let batch = self.load(payout_batch_id).await?;
        Ok(BatchDetail {
            totals: self.store.batch_totals(payout_batch_id).await?,
            approvals: self.store.batch_approvals(payout_batch_id).await?,
            chunks: self.store.batch_chunks(payout_batch_id).await?,
            items: self
                .store
                .batch_items(payout_batch_id, after_item_id, page(limit)?)
                .await?,
            batch,
        })
    }

    /// The batch as CSV: one row per item, and the contents hash in a comment line.
    pub async fn export_csv(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
    ) -> DomainResult<String> {
        actor.require(Permission::ReadPayouts)?;
        let batch = self.load(payout_batch_id).await?;
        let mut out = format!(
            "# batch {} contents hash {}\npayout_item_id,activity_id,campaign,quest,wallet,amount\n",
            batch.payout_batch_id, batch.content_hash
        );
        let mut after = PayoutItemId::default();
        loop {
            let rows = self
                .store
                .batch_items(payout_batch_id, after, PAGE_SIZE_MAX)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.payout_item_id;
            for r in &rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    r.payout_item_id,
                    r.activity_id,
                    csv_field(&r.campaign_name),
                    csv_field(&r.quest_name),
                    r.wallet,
                    Amount::from_minor(r.amount_minor)
                ));
            }
        }
        Ok(out)
    }

    /// Only the batch's maker changes it, and only before it is approved.
    pub async fn remove_items(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
        item_ids: &[PayoutItemId],
    ) -> DomainResult<BatchRecord> {
        actor.require(Permission::MakeBatches)?;
        if item_ids.is_empty() || item_ids.len() > REMOVE_ITEMS_MAX {
            return Err(DomainError::InvalidInput(format!(
                "remove 1 to {REMOVE_ITEMS_MAX} items at a time"
            )));
        }
        let batch = self.load(payout_batch_id).await?;
        if batch.maker_id != actor.user_id {
            return Err(DomainError::Forbidden);
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.batch_items_removed",
            format!("payout_batch:{payout_batch_id}"),
        )
        .before(&serde_json::json!({"content_hash": batch.content_hash}));
        Ok(self
            .store
            .remove_batch_items(
                payout_batch_id,
                item_ids,
                self.settings.two_checkers_above.minor(),
                &audit,
            )
            .await?)
    }

    pub async fn submit(&self, actor: &Actor, payout_batch_id: BatchId) -> DomainResult<()> {
        actor.require(Permission::MakeBatches)?;
        let batch = self.load(payout_batch_id).await?;
        if batch.maker_id != actor.user_id {
            return Err(DomainError::Forbidden);
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.batch_submitted",
            format!("payout_batch:{payout_batch_id}"),
        )
        .after(&serde_json::json!({"content_hash": batch.content_hash, "total_minor": batch.total_minor}));
        if !self.store.submit_batch(payout_batch_id, &audit).await? {
            return Err(DomainError::Conflict(
                "only a draft batch can be submitted".into(),
            ));
        }
        Ok(())
    }

    /// A checker approves the contents they saw (`content_hash`).
    pub async fn approve(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
        content_hash: &str,
    ) -> DomainResult<ApproveOutcome> {
        actor.require(Permission::ApproveBatches)?;
        if content_hash.len() != 64 || !content_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::InvalidInput(
                "the contents hash is 64 hex characters".into(),
            ));
        }
        let batch = self.load(payout_batch_id).await?;
        if batch.maker_id == actor.user_id {
            return Err(DomainError::Forbidden);
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.batch_approved",
            format!("payout_batch:{payout_batch_id}"),
        )
        .after(
            &serde_json::json!({"content_hash": content_hash, "total_minor": batch.total_minor}),
        );
        let outcome = self
            .store
            .approve_batch(
                payout_batch_id,
                actor.user_id,
                content_hash,
                self.settings.chunk_size,
                self.auto_disburse_now().await?,
                self.settings.two_checkers_above.minor(),
                &audit,
            )
            .await?;
        Ok(outcome)
    }

    /// Finance's choice if made, else the configured default.
    async fn auto_disburse_now(&self) -> DomainResult<bool> {
        Ok(self
            .store
            .auto_disburse()
            .await?
            .unwrap_or(self.settings.auto_disburse))
    }

    pub async fn auto_disburse(&self, actor: &Actor) -> DomainResult<bool> {
        actor.require(Permission::ReadPayouts)?;
        self.auto_disburse_now().await
    }

    /// Finance turns automatic disbursement after approval on or off.
    pub async fn set_auto_disburse(&self, actor: &Actor, on: bool) -> DomainResult<()> {
        actor.require(Permission::Disburse)?;
        let before = self.auto_disburse_now().await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.auto_disburse_set",
            "setting:payout.auto_disburse",
        )
        .before(&before)
        .after(&on);
        Ok(self
            .store
            .set_auto_disburse(on, actor.user_id, &audit)
            .await?)
    }

    pub async fn reject(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
        reason: &str,
    ) -> DomainResult<()> {
        actor.require(Permission::ApproveBatches)?;
        let reason = text(reason, "the reason", DECISION_REASON_MAX_CHARS, true)?;
        let batch = self.load(payout_batch_id).await?;
        if batch.maker_id == actor.user_id {
            return Err(DomainError::Forbidden);
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.batch_rejected",
            format!("payout_batch:{payout_batch_id}"),
        )
        .after(&serde_json::json!({"reason": reason}));
        if !self
            .store
            .reject_batch(payout_batch_id, &reason, &audit)
            .await?
        {
            return Err(DomainError::Named(
                crate::Conflict::NotPending,
                "the batch is not waiting for approval".into(),
            ));
        }
        Ok(())
    }

    pub async fn start_disbursement(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
    ) -> DomainResult<()> {
        actor.require(Permission::Disburse)?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.disbursement_started",
            format!("payout_batch:{payout_batch_id}"),
        );
        if !self
            .store
            .start_disbursement(payout_batch_id, &audit)
            .await?
        {
            self.load(payout_batch_id).await?;
            return Err(DomainError::Conflict(
                "only an approved batch can be disbursed".into(),
            ));
        }
        Ok(())
    }

    /// Failed items (a reverted or dropped chunk) become eligible for a new
    /// batch, once the reconciler has seen the chunk unexecuted a reorg
    /// window after it failed and the contract still says it never ran it.
    pub async fn retry_failed(&self, actor: &Actor, payout_batch_id: BatchId) -> DomainResult<u64> {
        actor.require(Permission::Disburse)?;
        self.load(payout_batch_id).await?;
        let chunks = self.store.failed_item_chunks(payout_batch_id).await?;
        if chunks.is_empty() {
            return Ok(0);
        }
        self.require_unpaid(&chunks).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.failed_items_retried",
            format!("payout_batch:{payout_batch_id}"),
        );
        let n = self
            .store
            .retry_failed_items(payout_batch_id, &audit)
            .await?;
        if n == 0 {
            return Err(DomainError::Conflict(
                "the failed chunks are still being watched for a reorg; retry once the \
                 reconciler has shown them unpaid"
                    .into(),
            ));
        }
        Ok(n)
    }

    /// Finance asks to withdraw an approved batch before any of it is
    /// signed; the disburser stops at once, and a checker who did not ask
    /// confirms (`confirm_withdrawal`) or anyone who may cancels it.
    pub async fn request_withdrawal(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
        reason: &str,
    ) -> DomainResult<()> {
        actor.require(Permission::Disburse)?;
        let reason = text(reason, "the reason", BATCH_NOTE_MAX_CHARS, true)?;
        let batch = self.load(payout_batch_id).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.withdrawal_requested",
            format!("payout_batch:{payout_batch_id}"),
        )
        .after(&serde_json::json!({"reason": reason, "total_minor": batch.total_minor}));
        if !self
            .store
            .request_withdrawal(payout_batch_id, actor.user_id, &reason, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                if batch.withdraw_requested_by.is_some() {
                    "a withdrawal of this batch is waiting for a checker already".into()
                } else {
                    "only an approved batch none of whose chunks is signed can be withdrawn".into()
                },
            ));
        }
        Ok(())
    }

    /// The requester, finance or a checker drops an open withdrawal request;
    /// disbursement goes on.
    pub async fn cancel_withdrawal(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
    ) -> DomainResult<()> {
        if actor.require(Permission::Disburse).is_err() {
            actor.require(Permission::ApproveBatches)?;
        }
        self.load(payout_batch_id).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.withdrawal_cancelled",
            format!("payout_batch:{payout_batch_id}"),
        );
        if !self
            .store
            .cancel_withdrawal(payout_batch_id, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "no withdrawal of this batch is waiting".into(),
            ));
        }
        Ok(())
    }

    /// A checker other than the requester and the maker confirms the
    /// withdrawal: the contract is asked first that it ran none of the
    /// batch's chunks, then the reservation is voided and the items are
    /// eligible again, all in one transaction.
    pub async fn confirm_withdrawal(
        &self,
        actor: &Actor,
        payout_batch_id: BatchId,
    ) -> DomainResult<()> {
        actor.require(Permission::ApproveBatches)?;
        let batch = self.load(payout_batch_id).await?;
        let Some(requested_by) = batch.withdraw_requested_by else {
            return Err(DomainError::Conflict(
                "no withdrawal of this batch is waiting".into(),
            ));
        };
        if requested_by == actor.user_id || batch.maker_id == actor.user_id {
            return Err(DomainError::FourEyes(
                "a withdrawal is confirmed by a checker who neither asked for it nor made the batch"
                    .into(),
            ));
        }
        let chunks: Vec<ChunkId> = self
            .store
            .batch_chunks(payout_batch_id)
            .await?
            .iter()
            .map(|c| c.payout_chunk_id)
            .collect();
        self.require_unpaid(&chunks).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "payout.batch_withdrawn",
            format!("payout_batch:{payout_batch_id}"),
        )
        .before(&serde_json::json!({"state": batch.state, "requested_by": requested_by}))
        .after(&serde_json::json!({
            "state": BatchState::Withdrawn, "items": batch.item_count, "voided_minor": batch.total_minor,
            "reason": batch.withdraw_reason,
        }));
        if !self
            .store
            .withdraw_batch(payout_batch_id, requested_by, actor.user_id, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "the batch can't be withdrawn any more: a chunk was signed, or the request was cancelled"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn csv_field(s: &str) -> String {
    // Quote always, double inner quotes, and defuse spreadsheet formulas.
    let s = s.replace('"', "\"\"");
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s
    };
    format!("\"{s}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use payquest_types::StaffUserId;

    /// (campaign, cost centre, amount) as plain numbers, for comparing plans.
    fn plain(per_campaign: &[(CampaignId, CostCentreId, i64)]) -> Vec<(i64, i64, i64)> {
        per_campaign
            .iter()
            .map(|&(c, cc, a)| (c.get(), cc.get(), a))
            .collect()
    }

    #[test]
    fn chunks_fill_the_block_they_are_sized_from() {
        // 30M gas: two chunks of 552 (14.98M each) beat one of 589 or three of 367.
        let fit = fit_chunks(30_000_000);
        assert_eq!(
            fit,
            ChunkFit {
                chunk_size: 552,
                per_block: 2
            }
        );
        assert!(2 * chunk_gas_limit(552) <= 30_000_000);
        assert!(2 * chunk_gas_limit(553) > 30_000_000);
        assert_eq!(fit.in_flight(2), 8);
        // A configured size: 200 recipients (5.48M gas) five to a block.
        assert_eq!(ChunkFit::of(200, 30_000_000).per_block, 5);
        assert_eq!(ChunkFit::of(200, 30_000_000).in_flight(2), 20);
        assert_eq!(ChunkFit::of(CHUNK_SIZE_MAX, 8_000_000).per_block, 1);
        // A block that holds one capped chunk at most, and one too small for any.
        assert_eq!(fit_chunks(16_000_000).chunk_size, CHUNK_SIZE_MAX);
        assert_eq!(fit_chunks(16_000_000).per_block, 1);
        assert_eq!(chunk_gas_limit(CHUNK_SIZE_MAX as usize), 15_983_000);
        assert_eq!(fit_chunks(50_000).chunk_size, 1);
        // Every fit's chunks fit their block together.
        for gas in [
            1_000_000u64,
            8_000_000,
            30_000_000,
            45_000_000,
            60_000_000,
            150_000_000,
        ] {
            let f = fit_chunks(gas);
            assert!(f.chunk_size <= CHUNK_SIZE_MAX);
            assert!(
                f.per_block as u64 * chunk_gas_limit(f.chunk_size as usize) <= gas,
                "{gas}"
            );
        }
    }

    #[test]
    fn the_hash_changes_with_any_field() {
        let items = vec![(
            PayoutItemId(1),
            ActivityId(10),
            CampaignId(3),
            "0xAb".to_string(),
            5_000_000,
        )];
        let h = content_hash(BatchId(7), &items);
        assert_eq!(h.len(), 64);
        assert_ne!(h, content_hash(BatchId(8), &items));
        let mut other = items.clone();
        other[0].4 += 1;
        assert_ne!(h, content_hash(BatchId(7), &other));
        other = items.clone();
        other[0].3 = "0xAc".into();
        assert_ne!(h, content_hash(BatchId(7), &other));
        assert_ne!(h, content_hash(BatchId(7), &[]));
    }

    fn person(id: i64, roles: &[payquest_types::Role]) -> Actor {
        Actor {
            user_id: StaffUserId(id),
            email: format!("p{id}@example.com"),
            roles: roles.iter().copied().collect(),
            ip: None,
            via: None,
        }
    }

    fn batch(
        maker: i64,
        state: BatchState,
        requested_by: Option<StaffUserId>,
        signed: i64,
    ) -> BatchRecord {
        BatchRecord {
            payout_batch_id: BatchId(1),
            maker_id: StaffUserId(maker),
            maker_email: String::new(),
            state,
            note: String::new(),
            content_hash: String::new(),
            revision: 1,
            item_count: 1,
            total_minor: 1,
            approvals_needed: 1,
            approvals: 0,
            failed_items: 0,
            decision_reason: None,
            created_at_ms: 0,
            submitted_at_ms: None,
            approved_at_ms: None,
            disbursing_at_ms: None,
            finished_at_ms: None,
            withdraw_requested_by: requested_by,
            withdraw_requested_by_email: None,
            withdraw_reason: None,
            withdraw_requested_at_ms: None,
            signed_chunks: signed,
        }
    }

    #[test]
    fn capabilities_follow_the_four_eyes_rules() {
        use payquest_types::Role::*;
        let (maker, checker, finance) = (
            person(1, &[Maker]),
            person(2, &[Checker]),
            person(3, &[Finance]),
        );
        let draft = batch(1, BatchState::Draft, None, 0);
        assert!(batch_capabilities(&maker, &draft).can_edit);
        assert!(!batch_capabilities(&checker, &draft).can_edit);
        let pending = batch(1, BatchState::PendingApproval, None, 0);
        assert!(batch_capabilities(&checker, &pending).can_decide);
        assert!(!batch_capabilities(&maker, &pending).can_decide);
        let approved = batch(1, BatchState::Approved, None, 0);
        assert!(
            batch_capabilities(&finance, &approved)
                .withdrawal
                .can_request
        );
        assert!(
            !batch_capabilities(&checker, &approved)
                .withdrawal
                .can_request
        );
        assert!(
            !batch_capabilities(&finance, &batch(1, BatchState::Disbursing, None, 1))
                .withdrawal
                .can_request
        );
        let asked = batch(1, BatchState::Approved, Some(StaffUserId(3)), 0);
        assert!(batch_capabilities(&checker, &asked).withdrawal.can_confirm);
        let finance_checker = person(3, &[Finance, Checker]);
        assert!(
            !batch_capabilities(&finance_checker, &asked)
                .withdrawal
                .can_confirm,
            "not the asker"
        );
        assert!(batch_capabilities(&finance, &asked).withdrawal.can_cancel);
    }

    #[test]
    fn chunks_are_runs_of_items_with_their_reservations_per_campaign() {
        let item = |id, campaign: i64, amount| PlanItem {
            payout_item_id: PayoutItemId(id),
            campaign_id: CampaignId(campaign),
            cost_centre_id: CostCentreId(campaign * 10),
            amount_minor: amount,
        };
        let items = [
            item(1, 2, 5),
            item(2, 1, 7),
            item(3, 2, 1),
            item(4, 1, 2),
            item(5, 3, 9),
        ];
        let plan = plan_chunks(&items, 2);
        assert_eq!(plan.len(), 3);
        assert_eq!(
            (
                plan[0].first_item_id.get(),
                plan[0].last_item_id.get(),
                plan[0].item_count
            ),
            (1, 2, 2)
        );
        assert_eq!(plan[0].total_minor, 12);
        assert_eq!(plain(&plan[0].per_campaign), vec![(1, 10, 7), (2, 20, 5)]);
        assert_eq!(plain(&plan[1].per_campaign), vec![(1, 10, 2), (2, 20, 1)]);
        assert_eq!(
            (plan[2].seq, plan[2].item_count, plan[2].total_minor),
            (2, 1, 9)
        );
        let total: i64 = plan.iter().map(|c| c.total_minor).sum();
        assert_eq!(total, items.iter().map(|i| i.amount_minor).sum::<i64>());
        assert!(plan_chunks(&[], 200).is_empty());
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
    }
}
