//! What the payout pipeline stores: batches and their approvals (maker →
//! checker), the chunks a batch is paid in, the signed transactions of each
//! chunk, the signing wallet's lease and nonce, the Transfer logs seen on
//! chain, and reconciliation findings. Implemented in `payout_sql.rs` and
//! `chain_sql.rs`.

use async_trait::async_trait;
use payquest_types::{
    ActivityId, BatchId, CampaignId, ChainTxId, ChunkId, FindingId, PayoutItemId, QuestId,
    StaffUserId,
};

use payquest_types::{BatchState, ChunkState, FindingKind, PayoutItemState};

use super::StoreResult;
use crate::audit::AuditRecord;

/// Which eligible rewards a maker wants in a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EligibleFilter {
    pub campaign_id: Option<CampaignId>,
    pub quest_id: Option<QuestId>,
    /// Rewards created at or after this time.
    pub from_ms: Option<i64>,
    /// Rewards created before this time.
    pub to_ms: Option<i64>,
    pub min_amount_minor: Option<i64>,
}

/// One payout item with what people and the chain need to know about it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayoutItemRow {
    pub payout_item_id: PayoutItemId,
    pub activity_id: ActivityId,
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub quest_id: QuestId,
    pub quest_name: String,
    pub wallet: String,
    pub amount_minor: i64,
    #[sqlx(try_from = "String")]
    pub state: PayoutItemState,
    pub created_at_ms: i64,
    /// The chunk (chain transaction) that pays it, once planned.
    pub payout_chunk_id: Option<ChunkId>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRecord {
    pub payout_batch_id: BatchId,
    pub maker_id: StaffUserId,
    pub maker_email: String,
    #[sqlx(try_from = "String")]
    pub state: BatchState,
    pub note: String,
    pub content_hash: String,
    pub revision: i64,
    pub item_count: i64,
    pub total_minor: i64,
    pub approvals_needed: i64,
    /// Approvals given for the current contents.
    pub approvals: i64,
    /// Items whose chunk ended unpaid and that were not retried yet.
    pub failed_items: i64,
    pub decision_reason: Option<String>,
    pub created_at_ms: i64,
    pub submitted_at_ms: Option<i64>,
    pub approved_at_ms: Option<i64>,
    pub disbursing_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    /// Finance asked to withdraw the approved batch; a checker confirms.
    pub withdraw_requested_by: Option<StaffUserId>,
    pub withdraw_requested_by_email: Option<String>,
    pub withdraw_reason: Option<String>,
    pub withdraw_requested_at_ms: Option<i64>,
    /// Chunks past `planned` (signed or further): none, and it can be withdrawn.
    pub signed_chunks: i64,
}

/// Per campaign: how many items and how much a batch pays.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignTotal {
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub item_count: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApprovalRow {
    pub checker_id: StaffUserId,
    pub checker_email: String,
    pub content_hash: String,
    pub approved_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveOutcome {
    /// Counted; more approvals are needed before the batch moves.
    Recorded { approvals: i64, needed: i64 },
    /// The last approval needed: budgets reserved, chunks planned.
    Approved,
    /// Refused: this campaign's budget is short; nothing was written.
    Short {
        campaign_id: CampaignId,
        campaign_name: String,
        short_by_minor: i64,
    },
    /// The batch changed since the checker saw it: the hash differs.
    Stale { current_hash: String },
    /// Not waiting for approval (or this checker approved these contents already).
    NotPending,
}

/// The entries of a chunk that is ready to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChunk {
    pub payout_chunk_id: ChunkId,
    pub payout_batch_id: BatchId,
    /// (payout item, wallet, amount in minor units), ordered by item.
    pub entries: Vec<(PayoutItemId, String, i64)>,
}

/// A transaction signed for a chunk, to store before it is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChainTx {
    pub nonce: i64,
    pub tx_hash: String,
    pub raw_tx: String,
    pub max_fee_wei: String,
    pub priority_fee_wei: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainTxRecord {
    pub chain_tx_id: ChainTxId,
    pub payout_chunk_id: ChunkId,
    pub nonce: i64,
    pub tx_hash: String,
    pub raw_tx: String,
    pub max_fee_wei: String,
    pub priority_fee_wei: String,
    pub created_at_ms: i64,
    pub broadcast_at_ms: Option<i64>,
}

/// A chunk on its way: signed, maybe broadcast, maybe mined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InflightChunk {
    pub payout_chunk_id: ChunkId,
    pub payout_batch_id: BatchId,
    pub state: ChunkState,
    pub nonce: i64,
    pub mined_tx_hash: Option<String>,
    pub mined_block: Option<i64>,
    pub mined_block_hash: Option<String>,
    /// Oldest first; the last one is the newest replacement.
    pub txs: Vec<ChainTxRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChunkRow {
    pub payout_chunk_id: ChunkId,
    pub payout_batch_id: BatchId,
    pub seq: i64,
    #[sqlx(try_from = "String")]
    pub state: ChunkState,
    pub item_count: i64,
    pub total_minor: i64,
    pub nonce: Option<i64>,
    pub mined_tx_hash: Option<String>,
    pub mined_block: Option<i64>,
    pub confirmed_at_ms: Option<i64>,
    /// When its state last moved (for a reconciled chunk: when it was).
    pub updated_at_ms: i64,
}

/// A Transfer log of the token, from the treasury.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ObservedTransfer {
    pub tx_hash: String,
    pub log_index: i64,
    pub block_number: i64,
    pub from_address: String,
    pub to_address: String,
    /// The amount in minor units, if it is a whole number of them that fits.
    pub amount_minor: Option<i64>,
    /// The on-chain amount, decimal.
    pub amount_raw: String,
}

/// What a chunk's items should have produced on chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExpectedPayment {
    pub payout_item_id: PayoutItemId,
    pub wallet: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    pub kind: FindingKind,
    /// Makes recording the same finding twice a no-op.
    pub dedupe_key: String,
    pub payout_item_id: Option<PayoutItemId>,
    pub payout_chunk_id: Option<ChunkId>,
    pub tx_hash: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FindingRow {
    pub recon_finding_id: FindingId,
    #[sqlx(try_from = "String")]
    pub kind: FindingKind,
    pub payout_item_id: Option<PayoutItemId>,
    pub payout_chunk_id: Option<ChunkId>,
    pub tx_hash: Option<String>,
    pub detail: String,
    pub created_at_ms: i64,
    pub resolved_by_email: Option<String>,
    pub resolved_at_ms: Option<i64>,
    pub resolution_note: Option<String>,
}

/// Per campaign: money the ledger counts as paid that the chain has not yet
/// proven (confirmed, not reconciled), and money on chain the ledger has not
/// confirmed yet (mined, not confirmed), by age.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DriftRow {
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub direction: String,
    pub age_bucket: String,
    pub item_count: i64,
    pub total_minor: i64,
}

/// The treasury's outflow (`out_minor` over `out_logs` Transfer logs)
/// against the ledger's paid items, as one drift row when they differ.
pub fn treasury_drift(
    out_minor: i64,
    out_logs: i64,
    paid_minor: i64,
    paid_items: i64,
) -> Option<DriftRow> {
    if out_minor == paid_minor && out_logs == paid_items {
        return None;
    }
    let (direction, total_minor) = if out_minor >= paid_minor {
        ("treasury_ahead", out_minor - paid_minor)
    } else {
        ("ledger_ahead", paid_minor - out_minor)
    };
    Some(DriftRow {
        campaign_id: CampaignId::default(),
        campaign_name: "Treasury (all campaigns)".into(),
        direction: direction.into(),
        age_bucket: "since the start".into(),
        item_count: (out_logs - paid_items).abs(),
        total_minor,
    })
}

/// Batches, approvals and their budget reservations.
#[async_trait]
pub trait PayoutStore: Send + Sync {
    /// Eligible rewards matching the filter, oldest first, at most `limit`.
    async fn eligible_items(
        &self,
        filter: &EligibleFilter,
        limit: u32,
    ) -> StoreResult<Vec<PayoutItemRow>>;
    /// Creates a draft batch of the eligible items matching the filter (at
    /// most `limit`), marking them batched. `Conflict` if none match.
    async fn create_batch(
        &self,
        maker_id: StaffUserId,
        note: &str,
        filter: &EligibleFilter,
        limit: u32,
        two_checkers_above_minor: i64,
        audit: &AuditRecord,
    ) -> StoreResult<BatchRecord>;
    async fn batch(&self, payout_batch_id: BatchId) -> StoreResult<Option<BatchRecord>>;
    /// Newest first; only batches in one of `states` when given.
    async fn list_batches(
        &self,
        states: &[BatchState],
        before_id: Option<BatchId>,
        limit: u32,
    ) -> StoreResult<Vec<BatchRecord>>;
    /// The batch's items ordered by id, after `after_item_id`.
    async fn batch_items(
        &self,
        payout_batch_id: BatchId,
        after_item_id: PayoutItemId,
        limit: u32,
    ) -> StoreResult<Vec<PayoutItemRow>>;
    async fn batch_totals(&self, payout_batch_id: BatchId) -> StoreResult<Vec<CampaignTotal>>;
    async fn batch_approvals(&self, payout_batch_id: BatchId) -> StoreResult<Vec<ApprovalRow>>;
    /// Takes items out of a batch that is not approved yet (back to eligible);
    /// the contents hash changes, so earlier approvals stop counting.
    async fn remove_batch_items(
        &self,
        payout_batch_id: BatchId,
        item_ids: &[PayoutItemId],
        two_checkers_above_minor: i64,
        audit: &AuditRecord,
    ) -> StoreResult<BatchRecord>;
    /// draft → pending_approval; false if not a draft.
    async fn submit_batch(
        &self,
        payout_batch_id: BatchId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Records a checker's approval of the contents with `content_hash`. The
    /// approval that completes the count reserves every campaign's budget for
    /// every chunk (all or nothing), plans the chunks of at most `chunk_size`
    /// items, and moves the batch to approved (or disbursing when
    /// `auto_disburse`), in the same transaction. Two checkers are needed
    /// when the batch, or the batch plus its maker's batches approved in the
    /// last 24 h, is above `two_checkers_above_minor` (so splitting a large
    /// payout into small batches does not dodge the second checker).
    #[allow(clippy::too_many_arguments)]
    async fn approve_batch(
        &self,
        payout_batch_id: BatchId,
        checker_id: StaffUserId,
        content_hash: &str,
        chunk_size: u32,
        auto_disburse: bool,
        two_checkers_above_minor: i64,
        audit: &AuditRecord,
    ) -> StoreResult<ApproveOutcome>;
    /// pending_approval → rejected; its items become eligible again.
    async fn reject_batch(
        &self,
        payout_batch_id: BatchId,
        reason: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// approved → disbursing; false if not approved.
    async fn start_disbursement(
        &self,
        payout_batch_id: BatchId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Failed items of the batch become eligible again; how many.
    async fn retry_failed_items(
        &self,
        payout_batch_id: BatchId,
        audit: &AuditRecord,
    ) -> StoreResult<u64>;
    async fn batch_chunks(&self, payout_batch_id: BatchId) -> StoreResult<Vec<ChunkRow>>;
    /// The chunks holding the batch's failed items (each must be proven
    /// unpaid on chain before they are retried).
    async fn failed_item_chunks(&self, payout_batch_id: BatchId) -> StoreResult<Vec<ChunkId>>;
    /// Finance asks to withdraw an approved batch none of whose chunks is
    /// signed; the disburser leaves it alone from now on. False if the
    /// batch is not in that state or a request is open already.
    async fn request_withdrawal(
        &self,
        payout_batch_id: BatchId,
        requested_by: StaffUserId,
        reason: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Drops an open withdrawal request; false if there is none.
    async fn cancel_withdrawal(
        &self,
        payout_batch_id: BatchId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// A second person confirms the request: in one transaction the batch
    /// becomes withdrawn, every chunk (all still planned) is removed, its
    /// reservations are voided, and its items are eligible again. False if
    /// there is no open request or a chunk was signed meanwhile.
    async fn withdraw_batch(
        &self,
        payout_batch_id: BatchId,
        requested_by: StaffUserId,
        confirmed_by: StaffUserId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Whether approved batches start disbursing at once, as finance last set it.
    async fn auto_disburse(&self) -> StoreResult<Option<bool>>;
    async fn set_auto_disburse(
        &self,
        on: bool,
        by: StaffUserId,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    /// A payout item's state, for checks.
    async fn payout_item_state(&self, payout_item_id: PayoutItemId) -> StoreResult<Option<String>>;
    /// Stage times of the campaign's newest `limit` payout items:
    /// (activity occurred, reward created, approved, confirmed on chain).
    async fn payout_stage_times(
        &self,
        campaign_id: CampaignId,
        limit: u32,
    ) -> StoreResult<Vec<(i64, i64, Option<i64>, Option<i64>)>>;
}

/// The sending side and reconciliation: wallet lease and nonces, signed
/// transactions, receipts, Transfer logs and findings.
#[async_trait]
pub trait ChainStore: Send + Sync {
    /// Takes (or renews) the lease on a signing wallet; the next nonce to use
    /// if the lease is ours, `None` if another holder has it. `evm_chain` is
    /// the network's EIP-155 chain id (a lease never moves between networks).
    async fn lease_wallet(
        &self,
        address: &str,
        evm_chain: i64,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> StoreResult<Option<i64>>;
    /// Gives the lease up (a clean shutdown).
    async fn release_wallet(&self, address: &str, holder: &str) -> StoreResult<()>;
    /// Moves the wallet's next nonce forward to `nonce` (resync with the node).
    async fn raise_next_nonce(&self, address: &str, holder: &str, nonce: i64) -> StoreResult<()>;
    /// The oldest planned chunk of a disbursing batch, with its entries.
    async fn next_planned_chunk(&self) -> StoreResult<Option<PlannedChunk>>;
    /// In one transaction, only while `holder` has the lease and the nonce is
    /// the wallet's next: stores the signed transaction, gives the chunk its
    /// nonce (planned → prepared), marks its items submitted and advances the
    /// wallet's nonce. The stored transaction's id, or `None` if any of that
    /// no longer holds.
    async fn store_signed_chunk(
        &self,
        payout_chunk_id: ChunkId,
        wallet: &str,
        holder: &str,
        now_ms: i64,
        tx: &NewChainTx,
        audit: &AuditRecord,
    ) -> StoreResult<Option<ChainTxId>>;
    /// A planned chunk the chain already paid (its commit was lost, e.g. a
    /// restore from backup): records the contract's transaction as the
    /// chunk's own (no signed bytes of ours), planned → broadcast, items
    /// submitted, so the watcher confirms it from its receipt instead of
    /// anyone signing it again. Only while `holder` has the wallet's lease.
    async fn adopt_paid_chunk(
        &self,
        payout_chunk_id: ChunkId,
        wallet: &str,
        holder: &str,
        tx_hash: &str,
        nonce: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Stores a same-nonce replacement of an unmined chunk's transaction,
    /// only while `holder` has the wallet's lease.
    async fn store_replacement(
        &self,
        payout_chunk_id: ChunkId,
        wallet: &str,
        holder: &str,
        tx: &NewChainTx,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Chunks signed but not yet confirmed or reverted, oldest nonce first.
    async fn inflight_chunks(&self, wallet: &str) -> StoreResult<Vec<InflightChunk>>;
    async fn mark_broadcast(&self, chain_tx_id: ChainTxId, now_ms: i64) -> StoreResult<()>;
    async fn record_mined(
        &self,
        payout_chunk_id: ChunkId,
        tx_hash: &str,
        block: i64,
        block_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// The receipt disappeared (reorg): mined → broadcast, watched again.
    async fn unmine_chunk(
        &self,
        payout_chunk_id: ChunkId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// A receipt deep enough with status success: posts the chunk's
    /// reservations, marks its items confirmed, keeps the receipt's Transfer
    /// logs, and finishes the batch when its last chunk is done.
    async fn confirm_chunk(
        &self,
        payout_chunk_id: ChunkId,
        tx_hash: &str,
        block: i64,
        transfers: &[ObservedTransfer],
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// A reverted receipt: voids the reservations, fails the items, records a finding.
    /// Counts one refusal of a signed transaction by the node (it is not
    /// broadcast); the refusals so far of the chunk's transactions at that
    /// nonce (replacements included).
    async fn record_refusal(&self, chain_tx_id: ChainTxId, reason: &str) -> StoreResult<i64>;
    /// Reverted or dropped chunks not yet proven unpaid past the reorg
    /// window: (chunk id, block at which it failed).
    async fn unpaid_chunks_to_check(&self, limit: u32) -> StoreResult<Vec<(ChunkId, Option<i64>)>>;
    /// The chain shows the failed chunk unexecuted a reorg window past its
    /// failure: its items may be retried.
    async fn mark_unpaid_checked(
        &self,
        payout_chunk_id: ChunkId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    async fn chunk_state(&self, payout_chunk_id: ChunkId) -> StoreResult<Option<ChunkState>>;
    /// The other chunks the chunk's items were ever planned in:
    /// (payout item id, other chunk id, other chunk's state).
    async fn sibling_chunks(
        &self,
        payout_chunk_id: ChunkId,
    ) -> StoreResult<Vec<(PayoutItemId, ChunkId, ChunkState)>>;
    async fn revert_chunk(
        &self,
        payout_chunk_id: ChunkId,
        tx_hash: &str,
        at_block: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;

    /// The chunk's nonce was used by a transaction that did not pay it: voids
    /// the reservations, fails the items, records a `missing` finding.
    async fn drop_chunk(
        &self,
        payout_chunk_id: ChunkId,
        at_block: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;

    async fn cursor(&self, name: &str) -> StoreResult<Option<i64>>;
    /// Keeps Transfer logs (a log seen before is kept once) and moves the
    /// named cursor forward to the block, if given (never back).
    async fn store_transfers(
        &self,
        transfers: &[ObservedTransfer],
        cursor: Option<(&str, i64)>,
    ) -> StoreResult<()>;
    /// Confirmed chunks whose receipt block is at or below `up_to_block`.
    async fn chunks_to_reconcile(
        &self,
        up_to_block: i64,
        limit: u32,
    ) -> StoreResult<Vec<(ChunkId, String)>>;
    async fn chunk_expected(&self, payout_chunk_id: ChunkId) -> StoreResult<Vec<ExpectedPayment>>;
    async fn transfers_of_tx(&self, tx_hash: &str) -> StoreResult<Vec<ObservedTransfer>>;
    /// Marks the matched items reconciled, the chunk reconciled, the batch
    /// reconciled when all its chunks are, and records the findings.
    async fn apply_reconciliation(
        &self,
        payout_chunk_id: ChunkId,
        tx_hash: &str,
        matched_item_ids: &[PayoutItemId],
        findings: &[NewFinding],
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    /// Transfers at or below `up_to_block` in transactions none of ours sent.
    async fn unexplained_transfers(
        &self,
        up_to_block: i64,
        limit: u32,
    ) -> StoreResult<Vec<ObservedTransfer>>;
    /// Records findings; one already recorded (same key) is skipped. How many were new.
    async fn record_findings(
        &self,
        findings: &[NewFinding],
        audit: &AuditRecord,
    ) -> StoreResult<u64>;
    /// Newest first; only open ones when `open_only`.
    async fn list_findings(
        &self,
        open_only: bool,
        before_id: Option<FindingId>,
        limit: u32,
    ) -> StoreResult<Vec<FindingRow>>;
    async fn resolve_finding(
        &self,
        recon_finding_id: FindingId,
        resolved_by: StaffUserId,
        note: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    async fn drift(&self, now_ms: i64) -> StoreResult<Vec<DriftRow>>;
    /// Confirmed payout items of a gamer's wallet (sum of minor units), for checks.
    async fn paid_total_of(&self, wallet: &str) -> StoreResult<i64>;
}
