//! Reported activities as staff see them.

use crate::{ActivityId, ActivityStatus, PayoutItemState};
use serde::{Deserialize, Serialize};

/// An activity as staff see it in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub campaign_name: String,
    pub quest_name: String,
    pub wallet: String,
    pub status: ActivityStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub occurred_at: String,
    pub received_at: String,
    /// Its reward's state, once it earned one.
    pub payout: Option<PayoutItemState>,
}

impl ActivityRow {
    /// The status in words: a validated activity whose reward was paid is
    /// "paid", one being paid "paying".
    pub fn status_in_words(&self) -> &'static str {
        match self.payout {
            Some(PayoutItemState::Confirmed | PayoutItemState::Reconciled) => "paid",
            Some(PayoutItemState::Submitted) => "paying",
            Some(PayoutItemState::Failed) => "payment failed",
            _ => self.status.as_str(),
        }
    }
}
