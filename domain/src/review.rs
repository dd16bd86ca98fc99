//! The manual review queue: a person sees the evidence and approves or
//! rejects, one by one or in bulk. Approval goes through the same pricing and
//! caps as an automatic validation.

use payquest_types::{ActivityId, QuestId};
use serde::Serialize;

use crate::audit::AuditRecord;
use crate::clock::format_ms;
use crate::limits::PAGE_SIZE_MAX;
use crate::session::{Actor, Permission};
use crate::store::{DynStore, Finished};
use crate::{DomainError, DomainResult};

/// Decisions in one bulk request.
pub const REVIEW_BULK_MAX: usize = 100;
pub const REVIEW_REASON_MAX_CHARS: usize = 500;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ReviewEntry {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub quest_id: QuestId,
    pub quest_name: String,
    pub wallet: String,
    pub reason: Option<String>,
    pub evidence_json: Option<String>,
    pub last_attempt_evidence_json: Option<String>,
    pub occurred_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReviewDecision {
    pub activity_id: ActivityId,
    /// The activity's status after the decision, or `None` if it was not waiting.
    pub status: Option<String>,
    pub reason: Option<String>,
}

pub struct Reviews {
    store: DynStore,
}

impl Reviews {
    pub fn new(store: DynStore) -> Self {
        Self { store }
    }

    pub async fn queue(
        &self,
        actor: &Actor,
        after_id: ActivityId,
        limit: u32,
    ) -> DomainResult<Vec<ReviewEntry>> {
        actor.require(Permission::ReviewActivities)?;
        if limit == 0 || limit > PAGE_SIZE_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page size must be 1 to {PAGE_SIZE_MAX}"
            )));
        }
        Ok(self
            .store
            .review_queue(after_id, limit)
            .await?
            .into_iter()
            .map(|r| ReviewEntry {
                activity_id: r.activity_id,
                external_id: r.external_id,
                quest_id: r.quest_id,
                quest_name: r.quest_name,
                wallet: r.wallet,
                reason: r.reason,
                evidence_json: r.evidence_json,
                last_attempt_evidence_json: r.last_attempt_evidence_json,
                occurred_at: format_ms(r.occurred_at_ms),
            })
            .collect())
    }

    /// Approves or rejects each listed activity that is waiting for review.
    pub async fn decide(
        &self,
        actor: &Actor,
        activity_ids: &[ActivityId],
        approve: bool,
        reason: &str,
    ) -> DomainResult<Vec<ReviewDecision>> {
        actor.require(Permission::ReviewActivities)?;
        if activity_ids.is_empty() || activity_ids.len() > REVIEW_BULK_MAX {
            return Err(DomainError::InvalidInput(format!(
                "decide 1 to {REVIEW_BULK_MAX} activities at a time"
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > REVIEW_REASON_MAX_CHARS {
            return Err(DomainError::InvalidInput(format!(
                "give a reason of 1 to {REVIEW_REASON_MAX_CHARS} characters"
            )));
        }
        let action = if approve {
            "activity.review_approved"
        } else {
            "activity.review_rejected"
        };
        let mut out = Vec::with_capacity(activity_ids.len());
        for &id in activity_ids {
            let audit = AuditRecord::new(&actor.audit_actor(), action, format!("activity:{id}"))
                .after(&serde_json::json!({ "reason": reason }));
            let decided = self
                .store
                .decide_review(id, approve, reason, &audit)
                .await?;
            out.push(match decided {
                Some(Finished::Done { status, reason, .. }) => ReviewDecision {
                    activity_id: id,
                    status: Some(status),
                    reason,
                },
                _ => ReviewDecision {
                    activity_id: id,
                    status: None,
                    reason: Some("not waiting for review".into()),
                },
            });
        }
        Ok(out)
    }
}
