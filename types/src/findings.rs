//! Reconciliation findings and the drift between ledger and chain.

use crate::{Amount, ChunkId, FindingId, FindingKind, PayoutItemId};
use serde::{Deserialize, Serialize};

/// A reconciliation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub finding_id: FindingId,
    pub kind: FindingKind,
    pub payout_item_id: Option<PayoutItemId>,
    pub chunk_id: Option<ChunkId>,
    pub tx_hash: Option<String>,
    pub detail: String,
    pub created_at: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution_note: Option<String>,
}

/// Money the ledger and the chain disagree on, per campaign and age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftView {
    pub campaign_name: String,
    /// `ledger_ahead`: paid in the ledger, not yet proven on chain;
    /// `chain_ahead`: mined on chain, not yet confirmed in the ledger.
    pub direction: String,
    pub age: String,
    pub item_count: i64,
    pub total: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsReport {
    pub findings: Vec<FindingView>,
    pub drift: Vec<DriftView>,
    pub can_resolve: bool,
}
