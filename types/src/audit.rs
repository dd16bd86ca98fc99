//! The audit log as staff read it.

use crate::AuditId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub audit_id: AuditId,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub ip: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}
