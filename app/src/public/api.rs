//! Server functions of the public site. They start with `PublicCtx` (no
//! session read) or `GamerCtx` (the signed-in gamer), never `StaffCtx`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
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

/// A fresh challenge for "Sign in with wallet": the message for `address`
/// to sign (and its fields), with a new single-use nonce.
#[server(endpoint = "siwe_challenge")]
pub async fn siwe_challenge(address: String) -> Result<payquest_types::SiweChallenge, AppError> {
    let ctx = crate::server::PublicCtx::load().await?;
    let wallet = payquest_domain::gamers::WalletAddress::parse(&address)?;
    let nonce = ctx.state.gamers.issue_nonce().await?;
    let expect = &ctx.state.siwe;
    let now = payquest_domain::clock::now_ms();
    let statement = "Sign in to PayQuest to see your rewards.";
    Ok(payquest_types::SiweChallenge {
        domain: expect.domain.clone(),
        uri: format!("{}://{}/", expect.scheme, expect.domain),
        chain_id: expect.chain_id,
        message: payquest_domain::siwe::message_for(expect, &wallet, statement, &nonce, now),
        nonce,
        issued_at: payquest_domain::clock::format_ms(now),
        statement: statement.into(),
    })
}

/// Signs a gamer in with a signed ERC-4361 message (EIP-191 signature, hex).
/// Each refusal has its own code (`siwe_nonce`, `siwe_wrong_domain`, …).
#[server(endpoint = "siwe_sign_in", input = Json)]
pub async fn siwe_sign_in(message: String, signature: String) -> Result<GamerMe, AppError> {
    let ctx = crate::server::Ctx::load().await?;
    ctx.state.auth.limit_wallet_sign_in(ctx.ip()).await?;
    let session = ctx
        .state
        .gamers
        .sign_in_with_ethereum(&message, &signature, &ctx.state.siwe, ctx.ip())
        .await?;
    ctx.store_gamer_session(&session).await?;
    Ok(GamerMe {
        wallet_short: payquest_domain::gamers::WalletAddress::parse(&session.wallet)?.short(),
    })
}

/// The signed-in gamer's activities and rewards (their own only: the
/// gamer comes from the session), and the explorer's transaction link
/// template, if one is configured.
/// `before` continues a page (the last activity id shown), 100 a page.
#[server(endpoint = "my_activities")]
pub async fn my_activities(
    before: Option<payquest_types::ActivityId>,
) -> Result<(Vec<payquest_types::GamerActivityView>, Option<String>), AppError> {
    let ctx = GamerCtx::load().await?;
    let rows = ctx
        .state
        .gamers
        .my_activities(&ctx.gamer, before.unwrap_or_default())
        .await?;
    Ok((rows, ctx.state.explorer_tx_url.clone()))
}

/// Signs the gamer out; a staff session in the same browser stays.
#[server(endpoint = "gamer_sign_out")]
pub async fn gamer_sign_out() -> Result<(), AppError> {
    let ctx = crate::server::Ctx::load().await?;
    ctx.end_gamer_session().await
}

/// What the front page shows: the published banner, header and footer, and
/// the live K-Quests, K-Drops and leaderboards (drafts never).
#[server(endpoint = "public_home")]
pub async fn public_home(locale: String) -> Result<payquest_types::PublicHome, AppError> {
    let ctx = crate::server::PublicCtx::load().await?;
    home_of(
        &ctx,
        payquest_domain::content::locale_or_default(Some(&locale)),
    )
    .await
}

#[cfg(feature = "ssr")]
async fn home_of(
    ctx: &crate::server::PublicCtx,
    locale: &str,
) -> Result<payquest_types::PublicHome, AppError> {
    use payquest_types::{ContentType, PublicHome};
    let content = &ctx.state.content;
    let one = |t: ContentType| content.published(t, t.as_str(), locale);
    let many = |t: ContentType| content.published_list(t, locale, "", 20);
    Ok(PublicHome {
        banner: one(ContentType::Banner).await?,
        header: one(ContentType::Header).await?,
        footer: one(ContentType::Footer).await?,
        quests: many(ContentType::KQuest).await?,
        drops: many(ContentType::KDrop).await?,
        leaderboards: many(ContentType::Leaderboard).await?,
    })
}

/// The front page with a draft in its place, for a preview link's holder
/// (anyone: the link is the permission). `not_found` once it expired.
#[server(endpoint = "load_preview", input = Json)]
pub async fn load_preview(token: String) -> Result<payquest_types::PublicHome, AppError> {
    use payquest_types::ContentType;
    let ctx = crate::server::PublicCtx::load().await?;
    let draft = ctx.state.content.preview(&token).await?;
    let mut home = home_of(&ctx, payquest_domain::content::DEFAULT_LOCALE).await?;
    let list = match draft.content_type {
        ContentType::Banner => {
            home.banner = Some(draft);
            return Ok(home);
        }
        ContentType::Header => {
            home.header = Some(draft);
            return Ok(home);
        }
        ContentType::Footer => {
            home.footer = Some(draft);
            return Ok(home);
        }
        ContentType::KQuest => &mut home.quests,
        ContentType::KDrop => &mut home.drops,
        ContentType::Leaderboard => &mut home.leaderboards,
    };
    list.retain(|c| c.slug != draft.slug);
    list.insert(0, draft);
    Ok(home)
}

/// A collection's published entries (K-Quests or K-Drops), by slug.
#[server(endpoint = "public_list", input = Json)]
pub async fn public_list(
    content_type: payquest_types::ContentType,
    locale: String,
) -> Result<Vec<payquest_types::PublishedContent>, AppError> {
    let ctx = crate::server::PublicCtx::load().await?;
    Ok(ctx
        .state
        .content
        .published_list(
            content_type,
            payquest_domain::content::locale_or_default(Some(&locale)),
            "",
            payquest_domain::content::CONTENT_PAGE_MAX,
        )
        .await?)
}

/// One published entry, or `None` (never a draft).
#[server(endpoint = "public_entry", input = Json)]
pub async fn public_entry(
    content_type: payquest_types::ContentType,
    slug: String,
    locale: String,
) -> Result<Option<payquest_types::PublishedContent>, AppError> {
    let ctx = crate::server::PublicCtx::load().await?;
    Ok(ctx
        .state
        .content
        .published(
            content_type,
            &slug,
            payquest_domain::content::locale_or_default(Some(&locale)),
        )
        .await?)
}

/// A page (1-based) of a published leaderboard's ranking, with the
/// signed-in gamer's own line; `None` when no such leaderboard is live.
#[server(endpoint = "leaderboard", input = Json)]
pub async fn leaderboard(
    slug: String,
    page: u32,
    locale: String,
) -> Result<Option<payquest_types::LeaderboardView>, AppError> {
    let gamer = GamerCtx::load_optional().await?;
    let ctx = crate::server::PublicCtx::load().await?;
    let Some(entry) = ctx
        .state
        .content
        .published(
            payquest_types::ContentType::Leaderboard,
            &slug,
            payquest_domain::content::locale_or_default(Some(&locale)),
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        ctx.state
            .leaderboards
            .view(&entry, page, gamer.as_ref().map(|g| &g.gamer))
            .await?,
    ))
}

/// The signed-in gamer's linked accounts and the running quests with
/// where they stand (completed, open, repeatable).
#[server(endpoint = "my_profile")]
pub async fn my_profile() -> Result<payquest_types::GamerProfileView, AppError> {
    let ctx = GamerCtx::load().await?;
    Ok(ctx.state.gamers.my_profile(&ctx.gamer).await?)
}

/// Links a game account (`kind` = `game`) or social handle (`social`) to
/// the signed-in gamer; 409 when another wallet has it.
#[server(endpoint = "link_account")]
pub async fn link_account(kind: String, account: String) -> Result<String, AppError> {
    let ctx = GamerCtx::load().await?;
    ctx.state
        .gamers
        .link_account(&ctx.gamer, &kind, &account, ctx.ip())
        .await?;
    Ok(format!(
        "Linked {} {}",
        account_label(&kind),
        account.trim()
    ))
}

/// Unlinks one of the signed-in gamer's accounts.
#[server(endpoint = "unlink_account")]
pub async fn unlink_account(kind: String, account: String) -> Result<String, AppError> {
    let ctx = GamerCtx::load().await?;
    ctx.state
        .gamers
        .unlink_account(&ctx.gamer, &kind, &account, ctx.ip())
        .await?;
    Ok(format!(
        "Unlinked {} {}",
        account_label(&kind),
        account.trim()
    ))
}

/// What an account kind is called on the page.
pub fn account_label(kind: &str) -> &'static str {
    if kind == "social" {
        "social handle"
    } else {
        "game account"
    }
}
