//! Quests: what a gamer does to earn a reward.

use crate::{Amount, QuestId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestSummary {
    pub quest_id: QuestId,
    pub name: String,
    pub reward: Amount,
    pub validator_kind: String,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub active: bool,
}
