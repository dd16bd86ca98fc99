//! Reported activities as staff see them.

use crate::{ActivityId, ActivityStatus};
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
}
