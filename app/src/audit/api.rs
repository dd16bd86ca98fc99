//! Server functions of the audit log.

use leptos::prelude::*;
use payquest_types::{AuditEntry, AuditId, Page};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[server(endpoint = "list_audit")]
pub async fn list_audit(before_id: Option<AuditId>) -> Result<Page<AuditEntry>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(payquest_domain::users::list_audit(&ctx.state.store, actor, before_id, None).await?)
}
