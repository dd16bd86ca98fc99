//! Server functions: one-screen adapters from the pages to the domain. Each has
//! a stable endpoint under `/api/` so machines and tests can name it.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use payquest_types::{
    AuditEntry, CreatedUser, Me, MfaEnrolment, Page, Role, RoleChange, RoleRequest, UserSummary,
};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{fail, stage_path, Ctx, StaffCtx};

/// The signed-in staff member, or `None` when signed out.
#[server(endpoint = "session")]
pub async fn current_session() -> Result<Option<Me>, AppError> {
    let ctx = Ctx::load().await?;
    let Some(auth) = ctx.session_auth().await? else {
        return Ok(None);
    };
    match ctx.state.auth.me(&auth).await {
        Ok(me) => Ok(Some(me)),
        // The account was disabled or signed out everywhere: this session is over.
        Err(payquest_domain::DomainError::Unauthenticated) => {
            ctx.end_session().await?;
            Ok(None)
        }
        Err(e) => Err(fail(e)),
    }
}

/// Checks email and password; returns the path of the next step.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<String, AppError> {
    let ctx = Ctx::load().await?;
    let auth = ctx.state.auth.sign_in(&email, password, ctx.ip()).await?;
    ctx.store_session_auth(&auth).await?;
    Ok(stage_path(auth.stage).to_owned())
}

/// Accepts a TOTP code or a recovery code.
#[server(endpoint = "verify_code")]
pub async fn verify_code(code: String) -> Result<String, AppError> {
    let ctx = Ctx::load().await?;
    let auth = ctx.require_session_auth().await?;
    let next = ctx.state.auth.second_factor(&auth, &code, ctx.ip()).await?;
    ctx.store_session_auth(&next).await?;
    Ok(stage_path(next.stage).to_owned())
}

#[server(endpoint = "change_password")]
pub async fn change_password(password: String, confirm: String) -> Result<String, AppError> {
    let ctx = Ctx::load().await?;
    let auth = ctx.require_session_auth().await?;
    if password != confirm {
        return Err(fail(payquest_domain::DomainError::InvalidInput(
            "the two passwords differ".into(),
        )));
    }
    let next = ctx
        .state
        .auth
        .change_password(&auth, password, ctx.ip())
        .await?;
    ctx.store_session_auth(&next).await?;
    Ok(stage_path(next.stage).to_owned())
}

#[server(endpoint = "begin_enrolment")]
pub async fn begin_enrolment() -> Result<MfaEnrolment, AppError> {
    let ctx = Ctx::load().await?;
    let auth = ctx.require_session_auth().await?;
    ctx.state.auth.begin_enrolment(&auth).await.map_err(fail)
}

/// Confirms the authenticator; returns the recovery codes, shown once.
#[server(endpoint = "confirm_enrolment")]
pub async fn confirm_enrolment(code: String) -> Result<Vec<String>, AppError> {
    let ctx = Ctx::load().await?;
    let auth = ctx.require_session_auth().await?;
    let (next, codes) = ctx
        .state
        .auth
        .confirm_enrolment(&auth, &code, ctx.ip())
        .await?;
    ctx.store_session_auth(&next).await?;
    Ok(codes)
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    if let Some(auth) = ctx.session_auth().await? {
        ctx.state.auth.sign_out(&auth, ctx.ip()).await?;
    }
    ctx.end_session().await
}

#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state.auth.sign_out_everywhere(actor).await?;
    ctx.end_session().await
}

#[server(endpoint = "list_users")]
pub async fn list_users(after_id: Option<i64>) -> Result<Page<UserSummary>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .users
        .list(actor, after_id.unwrap_or(0), None)
        .await
        .map_err(fail)
}

#[server(endpoint = "create_user", input = Json)]
pub async fn create_user(
    email: String,
    display_name: String,
    roles: Vec<Role>,
) -> Result<CreatedUser, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .users
        .create(actor, &email, &display_name, &roles)
        .await
        .map_err(fail)
}

#[server(endpoint = "set_user_roles", input = Json)]
pub async fn set_user_roles(user_id: i64, roles: Vec<Role>) -> Result<RoleChange, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .users
        .set_roles(actor, user_id, &roles)
        .await
        .map_err(fail)
}

#[server(endpoint = "list_role_requests")]
pub async fn list_role_requests() -> Result<Vec<RoleRequest>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state.users.role_requests(actor).await.map_err(fail)
}

#[server(endpoint = "decide_role_request", input = Json)]
pub async fn decide_role_request(request_id: i64, approve: bool) -> Result<RoleChange, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .users
        .decide_role_request(actor, request_id, approve)
        .await
        .map_err(fail)
}

#[server(endpoint = "set_user_disabled", input = Json)]
pub async fn set_user_disabled(user_id: i64, disabled: bool) -> Result<UserSummary, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .users
        .set_disabled(actor, user_id, disabled)
        .await
        .map_err(fail)
}

#[server(endpoint = "list_audit")]
pub async fn list_audit(before_id: Option<i64>) -> Result<Page<AuditEntry>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    payquest_domain::users::list_audit(&ctx.state.store, actor, before_id, None)
        .await
        .map_err(fail)
}
