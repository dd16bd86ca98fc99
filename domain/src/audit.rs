//! The append-only audit trail: who did what, when, from where, before/after.
//! A record is written in the same database transaction as the change it
//! describes, so there is never a change without its record. The tables refuse
//! UPDATE and DELETE (triggers in both migration sets).

use payquest_types::StaffUserId;
use serde::Serialize;

use crate::clock::now_ms;

/// Who acted: a signed-in staff member, or the system itself (CLI, workers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub user_id: Option<StaffUserId>,
    /// Email for staff, `system:<what>` otherwise.
    pub label: String,
    pub ip: Option<String>,
}

impl AuditActor {
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            label: format!("system:{what}"),
            ip: None,
        }
    }

    /// A gamer (or someone trying to sign in as one) from `ip`.
    pub fn gamer(ip: Option<&str>) -> Self {
        Self {
            user_id: None,
            label: "gamer".to_owned(),
            ip: ip.map(str::to_owned),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub at_ms: i64,
    pub actor: AuditActor,
    /// Dotted verb, e.g. `staff.roles_changed`.
    pub action: &'static str,
    /// What was acted on, e.g. `staff:42`.
    pub subject: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl AuditRecord {
    pub fn new(actor: &AuditActor, action: &'static str, subject: impl Into<String>) -> Self {
        Self {
            at_ms: now_ms(),
            actor: actor.clone(),
            action,
            subject: subject.into(),
            before_json: None,
            after_json: None,
        }
    }

    pub fn before(mut self, value: &impl Serialize) -> Self {
        self.before_json = serde_json::to_string(value).ok();
        self
    }

    pub fn after(mut self, value: &impl Serialize) -> Self {
        self.after_json = serde_json::to_string(value).ok();
        self
    }
}

/// Records that `who` was refused `path` (a missing role or scope), at most
/// once a minute per principal and path (counted in `throttle`, so across
/// replicas when it is shared) so a flood of refused requests can't fill
/// the log. A failure to write is logged, never the caller's error.
pub async fn audit_refusal(
    store: &crate::store::DynStore,
    throttle: &crate::session::throttle::Throttle,
    who: &AuditActor,
    path: &str,
) {
    let path: String = path.chars().take(200).collect();
    let cap_key = format!("audit:refused:{}:{path}", who.label);
    if throttle.rate(&cap_key, 1, 60_000, now_ms()).await.is_some() {
        return;
    }
    let audit = AuditRecord::new(who, "auth.refused", format!("path:{path}"));
    if let Err(e) = store.append_audit(&audit).await {
        tracing::warn!(error = %e, "auditing a refused request failed");
    }
}
