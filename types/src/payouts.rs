//! Payout batches, their items and chunks, and what the viewer may do.

use crate::{
    ActivityId, Amount, BatchId, BatchState, CampaignId, ChunkId, ChunkState, PayoutItemId,
    PayoutItemState, QuestId,
};
use serde::{Deserialize, Serialize};

/// A payout batch in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub batch_id: BatchId,
    pub state: BatchState,
    pub note: String,
    pub maker_email: String,
    pub item_count: i64,
    pub total: Amount,
    pub approvals: i64,
    pub approvals_needed: i64,
    pub content_hash: String,
    pub created_at: String,
}

/// An eligible reward or a batch's item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutItemView {
    pub payout_item_id: PayoutItemId,
    pub activity_id: ActivityId,
    pub campaign_name: String,
    pub quest_name: String,
    pub wallet: String,
    pub amount: Amount,
    pub state: PayoutItemState,
    pub created_at: String,
    /// On a batch's page: the chunk paying it (1-based) and its transaction.
    pub chunk_seq: Option<i64>,
    pub tx_hash: Option<String>,
    pub tx_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignTotalView {
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub item_count: i64,
    pub total: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub checker_email: String,
    /// Whether it was given for the batch's current contents.
    pub current: bool,
    pub approved_at: String,
}

/// One chain transaction's worth of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkView {
    pub chunk_id: ChunkId,
    pub seq: i64,
    pub state: ChunkState,
    pub item_count: i64,
    pub total: Amount,
    pub nonce: Option<i64>,
    pub tx_hash: Option<String>,
    /// A link to the transaction in a block explorer, when one is configured.
    pub tx_url: Option<String>,
    pub block: Option<i64>,
}

/// Items per page on the batch page.
pub const BATCH_ITEMS_PAGE: u32 = 100;

/// Everything the batch page shows, and what the viewer may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchView {
    pub summary: BatchSummary,
    pub decision_reason: Option<String>,
    pub totals: Vec<CampaignTotalView>,
    pub approvals: Vec<ApprovalView>,
    pub chunks: Vec<ChunkView>,
    /// One page of the batch's items, from `items_after` on.
    pub items: Vec<PayoutItemView>,
    /// The cursor of the next page, when there is one.
    pub next_items_after: Option<PayoutItemId>,
    /// The chain's head block and the confirmations a payment needs, while
    /// a chunk is mined and confirming.
    pub chain_depth: Option<(i64, i64)>,
    /// From the start of disbursement to the batch's end, once it ended.
    pub disbursed_in_ms: Option<i64>,
    pub failed_items: i64,
    pub can_edit: bool,
    pub can_decide: bool,
    pub can_disburse: bool,
    /// An open request to withdraw the approved batch.
    pub withdrawal: Option<WithdrawalView>,
    pub can_request_withdrawal: bool,
    pub can_confirm_withdrawal: bool,
    pub can_cancel_withdrawal: bool,
}

/// Finance asked to withdraw a batch; a checker who did not ask confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalView {
    pub requested_by: String,
    pub reason: String,
    pub requested_at: String,
}

/// Which payout batches a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchList {
    /// Every batch the viewer may see.
    #[default]
    All,
    /// Batches waiting for this checker's approval (never their own).
    Inbox,
}

/// A campaign and its quests by name, for the batch builder's pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterCampaign {
    pub campaign_id: CampaignId,
    pub name: String,
    pub quests: Vec<(QuestId, String)>,
}
