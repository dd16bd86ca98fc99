//! Reconciliation findings (what the chain and the ledger disagree on) and the
//! drift panel, as finance and auditors read and resolve them. The matcher
//! that files findings is in `reconcile`.

use payquest_types::FindingId;

use crate::audit::AuditRecord;
use crate::payouts::{page, text, Payouts, DECISION_REASON_MAX_CHARS};
use crate::session::{Actor, Permission};
use crate::store::{DriftRow, FindingRow};
use crate::{DomainError, DomainResult};

impl Payouts {
    pub async fn findings(
        &self,
        actor: &Actor,
        open_only: bool,
        before_id: Option<FindingId>,
        limit: u32,
    ) -> DomainResult<Vec<FindingRow>> {
        actor.require(Permission::ReadFindings)?;
        Ok(self
            .store
            .list_findings(open_only, before_id, page(limit)?)
            .await?)
    }

    pub async fn resolve_finding(
        &self,
        actor: &Actor,
        recon_finding_id: FindingId,
        note: &str,
    ) -> DomainResult<()> {
        actor.require(Permission::Disburse)?;
        let note = text(note, "the note", DECISION_REASON_MAX_CHARS, true)?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "recon.finding_resolved",
            format!("recon_finding:{recon_finding_id}"),
        )
        .after(&serde_json::json!({"note": note}));
        if !self
            .store
            .resolve_finding(recon_finding_id, actor.user_id, &note, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "that finding does not exist or is resolved already".into(),
            ));
        }
        Ok(())
    }

    pub async fn drift(&self, actor: &Actor) -> DomainResult<Vec<DriftRow>> {
        actor.require(Permission::ReadFindings)?;
        Ok(self.store.drift(crate::clock::now_ms()).await?)
    }
}
