//! Activities waiting for a person, and the outcome of a decision.

use crate::ActivityId;
use serde::{Deserialize, Serialize};

/// An activity waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub quest_name: String,
    pub wallet: String,
    pub reason: Option<String>,
    pub evidence: Option<String>,
    pub last_check: Option<String>,
    pub occurred_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub activity_id: ActivityId,
    pub status: Option<String>,
    pub reason: Option<String>,
}
