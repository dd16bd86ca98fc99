//! Retention: what is kept how long, by class of data. A worker on every
//! replica applies the policy every so often; each pass is one transaction
//! and, when it removed anything, one audit record saying what
//! (`retention.applied`). Money records (ledger, budgets, rewards, payout
//! items, chunks, transactions, findings) and the audit log are never
//! touched; a decided activity keeps its row, status and reason, and loses
//! only the evidence the validators saw.
//!
//! | data | kept | setting |
//! |---|---|---|
//! | validation evidence of decided activities and their attempts | 365 days | `PAYQUEST_RETENTION_EVIDENCE_DAYS` |
//! | delivered or abandoned content webhooks and their attempts | 90 days | `PAYQUEST_RETENTION_WEBHOOK_DAYS` |
//! | uploaded images no content version (draft, published or old) names | 180 days | `PAYQUEST_RETENTION_MEDIA_DAYS` |
//! | expired sign-in nonces and sessions | until expired | — |
//!
//! An image an old version still names is kept: restoring that version
//! must show it.

use crate::audit::{AuditActor, AuditRecord};
use crate::store::{DynStore, RetentionCutoffs, RetentionReport};

const DAY_MS: i64 = 86_400_000;

/// Days each class is kept; 0 keeps it for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub evidence_days: u32,
    pub webhook_days: u32,
    pub media_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            evidence_days: 365,
            webhook_days: 90,
            media_days: 180,
        }
    }
}

impl RetentionPolicy {
    pub fn cutoffs(&self, now_ms: i64) -> RetentionCutoffs {
        let before = |days: u32| (days > 0).then(|| now_ms - i64::from(days) * DAY_MS);
        RetentionCutoffs {
            evidence_before_ms: before(self.evidence_days),
            webhooks_before_ms: before(self.webhook_days),
            expired_before_ms: now_ms,
        }
    }
}

/// One pass at `now_ms`; unused images go too when `media` is given.
pub async fn run_once(
    store: &DynStore,
    media: Option<&crate::media::Media>,
    policy: &RetentionPolicy,
    now_ms: i64,
) -> crate::DomainResult<RetentionReport> {
    let audit = AuditRecord::new(
        &AuditActor::system("retention"),
        "retention.applied",
        "retention",
    );
    let mut report = store
        .apply_retention(&policy.cutoffs(now_ms), &audit)
        .await?;
    if let (Some(media), true) = (media, policy.media_days > 0) {
        report.images_deleted = media
            .delete_unused(now_ms - i64::from(policy.media_days) * DAY_MS)
            .await?;
    }
    for (what, n) in [
        ("activity_evidence", report.activity_evidence_cleared),
        ("attempt_evidence", report.attempt_evidence_cleared),
        ("webhook_events", report.webhook_events_deleted),
        ("webhook_attempts", report.webhook_attempts_deleted),
        ("nonces", report.nonces_deleted),
        ("sessions", report.sessions_deleted),
        ("images", report.images_deleted),
    ] {
        if n > 0 {
            metrics::counter!("payquest_retention_removed_total", "what" => what).increment(n);
        }
    }
    if !report.is_empty() {
        tracing::info!(?report, "retention applied");
    }
    Ok(report)
}

/// Applies the policy every `every` until `stop` turns true.
pub async fn run(
    store: DynStore,
    media: std::sync::Arc<crate::media::Media>,
    policy: RetentionPolicy,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = run_once(&store, Some(&media), &policy, crate::clock::now_ms()).await {
            tracing::warn!(error = %e, "applying the retention policy failed; trying again later");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
