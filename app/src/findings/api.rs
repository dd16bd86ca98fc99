//! Server functions of reconciliation findings and drift.

use leptos::prelude::*;
use payquest_types::{FindingId, FindingsReport};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[cfg(feature = "ssr")]
mod map {
    use payquest_domain::clock::format_ms;
    use payquest_domain::store::{DriftRow, FindingRow};
    use payquest_types::{Amount, DriftView, FindingView};

    pub fn finding(f: FindingRow) -> FindingView {
        FindingView {
            finding_id: f.recon_finding_id,
            kind: f.kind,
            payout_item_id: f.payout_item_id,
            chunk_id: f.payout_chunk_id,
            tx_hash: f.tx_hash,
            detail: f.detail,
            created_at: format_ms(f.created_at_ms),
            resolved_by: f.resolved_by_email,
            resolved_at: f.resolved_at_ms.map(format_ms),
            resolution_note: f.resolution_note,
        }
    }

    pub fn drift(d: DriftRow) -> DriftView {
        DriftView {
            campaign_name: d.campaign_name,
            direction: d.direction,
            age: d.age_bucket,
            item_count: d.item_count,
            total: Amount::from_minor(d.total_minor),
        }
    }
}

#[server(endpoint = "load_findings")]
pub async fn load_findings(open_only: bool) -> Result<FindingsReport, AppError> {
    use payquest_domain::session::Permission;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let findings = ctx
        .state
        .payouts
        .findings(actor, open_only, None, 200)
        .await?;
    let drift = ctx.state.payouts.drift(actor).await?;
    Ok(FindingsReport {
        findings: findings.into_iter().map(map::finding).collect(),
        drift: drift.into_iter().map(map::drift).collect(),
        can_resolve: actor.can(Permission::Disburse),
    })
}

#[server(endpoint = "resolve_finding")]
pub async fn resolve_finding(finding_id: FindingId, note: String) -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .payouts
        .resolve_finding(actor, finding_id, &note)
        .await?)
}
