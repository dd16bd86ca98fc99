//! Server functions of the public site. They start with `PublicCtx` (no
//! session read) or `GamerCtx` (the signed-in gamer), never `StaffCtx`.

use leptos::prelude::*;
use payquest_types::GamerMe;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::GamerCtx;

/// The signed-in gamer, or `None` (signed out, or only a staff session).
#[server(endpoint = "current_gamer")]
pub async fn current_gamer() -> Result<Option<GamerMe>, AppError> {
    Ok(GamerCtx::load_optional().await?.map(|g| GamerMe {
        wallet_short: g.gamer.wallet.short(),
    }))
}
