//! Server functions of signing in and out: the session and its stages.

use leptos::prelude::*;
use payquest_types::{Me, MfaEnrolment};

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
    Ok(ctx.state.auth.begin_enrolment(&auth).await?)
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
