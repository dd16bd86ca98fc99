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
    /// The evidence the source sent, as fields (nested keys joined by dots).
    pub evidence: Vec<EvidenceField>,
    /// What the last automatic check recorded, as fields.
    pub last_check: Vec<EvidenceField>,
    pub occurred_at: String,
}

/// One field of evidence. Text from an outside system: shown as text, and
/// as a link only when it is an `http(s)` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceField {
    pub key: String,
    pub value: String,
    /// Set when `value` is an http(s) URL or one of our own media paths.
    pub link: Option<String>,
    /// Set when the link is one of our own media images (png, jpg, gif,
    /// webp): the page previews it.
    pub image: bool,
}

/// Evidence shows at most this many fields, each value cut to this length.
pub const EVIDENCE_FIELDS_MAX: usize = 40;
pub const EVIDENCE_VALUE_MAX_CHARS: usize = 300;
/// What a decision did to one activity (`status` is `None` when it was
/// not waiting for review).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub activity_id: ActivityId,
    pub status: Option<String>,
    pub reason: Option<String>,
}
