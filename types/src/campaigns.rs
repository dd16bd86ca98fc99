//! Campaigns, their budgets and the transfers between them.

use crate::{Amount, CampaignId, CampaignStatus, CostCentreId, QuestSummary, TransferId};
use serde::{Deserialize, Serialize};

/// A campaign as lists and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub campaign_id: CampaignId,
    pub name: String,
    pub owner_email: String,
    pub status: CampaignStatus,
    pub starts_at: String,
    pub ends_at: String,
    pub cost_centre_id: CostCentreId,
    pub cost_centre_code: String,
    pub funded: Amount,
    pub reserved: Amount,
    pub spent: Amount,
    pub available: Amount,
    pub alert_threshold_pct: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub count: usize,
    pub p50_ms: i64,
    pub p90_ms: i64,
}

/// One campaign in full, for its owner and for finance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub summary: CampaignSummary,
    /// The budget chart as SVG (drawn on the server from numbers only), or
    /// `None` before the budget has moved.
    pub budget_chart: Option<String>,
    pub unpaid_rewards: Amount,
    pub pace_per_day: Amount,
    pub runs_out_at: Option<String>,
    pub stages: Vec<StageTime>,
    pub alert: Option<String>,
    pub quests: Vec<QuestSummary>,
    /// Idempotency key for the funding form as rendered: submitting the same
    /// form twice funds once; the page gets a new key after each success.
    pub fund_key: String,
    /// The same for the transfer form.
    pub transfer_key: String,
    /// What the viewer may do here (the server checks again on every call).
    pub can_fund: bool,
    pub can_manage: bool,
    pub can_edit_quests: bool,
    pub cost_centre_id: CostCentreId,
    /// For finance: other campaigns' budgets to move money to, and the
    /// transfers waiting for a second finance approval.
    pub transfer_targets: Vec<CampaignSummary>,
    pub pending_transfers: Vec<TransferView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferView {
    pub transfer_id: TransferId,
    pub from_cost_centre_id: CostCentreId,
    pub to_cost_centre_id: CostCentreId,
    pub amount: Amount,
    pub requested_by_me: bool,
}

/// The campaign chart's series as drawn and as its legend names them:
/// (name, colour, dashed). Colours are the Okabe–Ito set, distinct for every
/// common colour-vision type.
pub const CHART_SERIES: [(&str, &str, bool); 6] = [
    ("funded", "#000000", false),
    ("available", "#009E73", false),
    ("reserved", "#E69F00", false),
    ("spent", "#D55E00", false),
    ("earned", "#0072B2", false),
    ("forecast of what is left", "#009E73", true),
];

/// A campaign's budget figures alone: what its page follows while a
/// payment is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignFigures {
    pub funded: Amount,
    pub reserved: Amount,
    pub spent: Amount,
    pub available: Amount,
    pub unpaid: Amount,
}
