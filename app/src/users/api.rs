//! Server functions of staff accounts and role changes.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use payquest_types::{
    CreatedUser, Page, Role, RoleChange, RoleRequest, RoleRequestId, StaffUserId, UserSummary,
};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[server(endpoint = "list_users")]
pub async fn list_users(after_id: Option<StaffUserId>) -> Result<Page<UserSummary>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .users
        .list(actor, after_id.unwrap_or_default(), None)
        .await?)
}

#[server(endpoint = "create_user", input = Json)]
pub async fn create_user(
    email: String,
    display_name: String,
    roles: Vec<Role>,
) -> Result<CreatedUser, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .users
        .create(actor, &email, &display_name, &roles)
        .await?)
}

#[server(endpoint = "set_user_roles", input = Json)]
pub async fn set_user_roles(
    user_id: StaffUserId,
    roles: Vec<Role>,
) -> Result<RoleChange, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.users.set_roles(actor, user_id, &roles).await?)
}

#[server(endpoint = "list_role_requests")]
pub async fn list_role_requests() -> Result<Vec<RoleRequest>, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx.state.users.role_requests(actor).await?)
}

#[server(endpoint = "decide_role_request", input = Json)]
pub async fn decide_role_request(
    request_id: RoleRequestId,
    approve: bool,
) -> Result<RoleChange, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .users
        .decide_role_request(actor, request_id, approve)
        .await?)
}

#[server(endpoint = "set_user_disabled", input = Json)]
pub async fn set_user_disabled(
    user_id: StaffUserId,
    disabled: bool,
) -> Result<UserSummary, AppError> {
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    Ok(ctx
        .state
        .users
        .set_disabled(actor, user_id, disabled)
        .await?)
}
