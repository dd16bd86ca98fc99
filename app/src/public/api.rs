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

/// What the front page shows: the published banner, header and footer, and
/// the live K-Quests, K-Drops and leaderboards (drafts never).
#[server(endpoint = "public_home")]
pub async fn public_home() -> Result<payquest_types::PublicHome, AppError> {
    use payquest_domain::content::DEFAULT_LOCALE;
    use payquest_types::{ContentType, PublicHome};
    let ctx = crate::server::PublicCtx::load().await?;
    let content = &ctx.state.content;
    let one = |t: ContentType| content.published(t, t.as_str(), DEFAULT_LOCALE);
    let many = |t: ContentType| content.published_list(t, DEFAULT_LOCALE, "", 20);
    Ok(PublicHome {
        banner: one(ContentType::Banner).await?,
        header: one(ContentType::Header).await?,
        footer: one(ContentType::Footer).await?,
        quests: many(ContentType::KQuest).await?,
        drops: many(ContentType::KDrop).await?,
        leaderboards: many(ContentType::Leaderboard).await?,
    })
}
