//! Server functions of the CMS (community edits; auditors read).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use payquest_types::{
    ContentEditor, ContentEntryId, ContentEntryView, ContentScheduleId, ContentType, MediaView,
    ScheduleAction, WebhookEventId, WebhookEventView,
};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[cfg(feature = "ssr")]
mod map {
    use payquest_domain::clock::format_ms;
    use payquest_domain::content::EntryWithData;
    use payquest_types::ContentEntryView;

    pub fn entry(e: &EntryWithData) -> ContentEntryView {
        let title = payquest_domain::content::resolve(
            e.entry.content_type,
            &e.data,
            payquest_domain::content::DEFAULT_LOCALE,
        );
        ContentEntryView {
            entry_id: e.entry.content_entry_id,
            content_type: e.entry.content_type,
            slug: e.entry.slug.clone(),
            state: e.entry.state,
            title: title
                .get("title")
                .or_else(|| title.get("tagline"))
                .cloned()
                .unwrap_or_default(),
            updated_at: format_ms(e.entry.updated_at_ms),
            has_unpublished_changes: e.entry.draft_version_id != e.entry.published_version_id,
        }
    }
}

/// Every entry, newest change first.
#[server(endpoint = "content_entries")]
pub async fn content_entries() -> Result<Vec<ContentEntryView>, AppError> {
    let ctx = StaffCtx::load().await?;
    let entries = ctx.state.content.entries(&ctx.actor, None).await?;
    Ok(entries.iter().map(map::entry).collect())
}

/// The editor of an entry (empty before its first save).
#[server(endpoint = "load_content_editor", input = Json)]
pub async fn load_content_editor(
    content_type: ContentType,
    slug: String,
) -> Result<ContentEditor, AppError> {
    use payquest_domain::content;
    use payquest_domain::session::Permission;
    let ctx = StaffCtx::load().await?;
    let found = ctx
        .state
        .content
        .entry_by_slug(&ctx.actor, content_type, &slug)
        .await?;
    let (entry, data, versions) = match found {
        Some((e, versions)) => (Some(map::entry(&e)), e.data, versions),
        None => (
            None,
            serde_json::Value::Object(Default::default()),
            Vec::new(),
        ),
    };
    let schedules = match &entry {
        Some(e) => ctx.state.content.schedules(&ctx.actor, e.entry_id).await?,
        None => Vec::new(),
    };
    Ok(ContentEditor {
        content_type,
        entry,
        fields: content::field_specs(content_type),
        locales: content::LOCALES.iter().map(|l| (*l).to_owned()).collect(),
        values: content::inputs_from_data(content_type, &data),
        untranslated: content::untranslated(content_type, &data),
        versions,
        schedules,
        can_edit: ctx.actor.can(Permission::ManageContent),
    })
}

/// Saves the form as a new version (the entry's draft).
#[server(endpoint = "save_content", input = Json)]
pub async fn save_content(
    content_type: ContentType,
    slug: String,
    fields: BTreeMap<String, String>,
) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let (_, version) = ctx
        .state
        .content
        .save_draft(&ctx.actor, content_type, &slug, &fields)
        .await?;
    Ok(format!(
        "Saved as version {version} (a draft: publish it to show it)."
    ))
}

#[server(endpoint = "publish_content", input = Json)]
pub async fn publish_content(entry_id: ContentEntryId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    ctx.state.content.publish(&ctx.actor, entry_id).await?;
    Ok("Published: the public site shows this version now.".into())
}

#[server(endpoint = "unpublish_content", input = Json)]
pub async fn unpublish_content(entry_id: ContentEntryId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    ctx.state.content.unpublish(&ctx.actor, entry_id).await?;
    Ok("Unpublished: the public site no longer shows it.".into())
}

/// What changed from an older version to another, field by field.
#[server(endpoint = "content_diff", input = Json)]
pub async fn content_diff(
    entry_id: ContentEntryId,
    from: payquest_types::ContentVersionId,
    to: payquest_types::ContentVersionId,
) -> Result<Vec<payquest_types::FieldDiff>, AppError> {
    let ctx = StaffCtx::load().await?;
    Ok(ctx
        .state
        .content
        .diff(&ctx.actor, entry_id, from, to)
        .await?)
}

/// Makes an older version the draft again (as a new version).
#[server(endpoint = "restore_content", input = Json)]
pub async fn restore_content(
    entry_id: ContentEntryId,
    version: payquest_types::ContentVersionId,
) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let new = ctx
        .state
        .content
        .restore(&ctx.actor, entry_id, version)
        .await?;
    Ok(format!(
        "Version {version} restored as version {new} (a draft: publish it to show it)."
    ))
}

/// A signed link (valid for an hour) that shows the entry's draft as the
/// public site would, to anyone who has it.
#[server(endpoint = "preview_link", input = Json)]
pub async fn preview_link(entry_id: ContentEntryId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let token = ctx
        .state
        .content
        .preview_token(&ctx.actor, entry_id)
        .await?;
    Ok(crate::routes::preview(&token))
}

/// Plans a publish of the current draft, or an unpublish, at `due_at`
/// (`YYYY-MM-DDTHH:MM[:SS]`, UTC).
#[server(endpoint = "schedule_content", input = Json)]
pub async fn schedule_content(
    entry_id: ContentEntryId,
    action: ScheduleAction,
    due_at: String,
) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    let at = payquest_domain::content::parse_due_at(&due_at)?;
    ctx.state
        .content
        .schedule(&ctx.actor, entry_id, action, at)
        .await?;
    let what = match action {
        ScheduleAction::Publish => "Publish",
        ScheduleAction::Unpublish => "Unpublish",
    };
    Ok(format!(
        "{what} scheduled for {} (UTC).",
        payquest_domain::clock::format_ms(at)
    ))
}

#[server(endpoint = "cancel_content_schedule", input = Json)]
pub async fn cancel_content_schedule(
    entry_id: ContentEntryId,
    schedule_id: ContentScheduleId,
) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    ctx.state
        .content
        .cancel_schedule(&ctx.actor, entry_id, schedule_id)
        .await?;
    Ok(format!("Schedule {schedule_id} cancelled."))
}

/// The webhook delivery log, and whether an endpoint is configured.
#[server(endpoint = "webhook_log")]
pub async fn webhook_log() -> Result<(bool, Vec<WebhookEventView>), AppError> {
    let ctx = StaffCtx::load().await?;
    let events = ctx
        .state
        .webhooks
        .events(&ctx.actor, WebhookEventId::default())
        .await?;
    Ok((ctx.state.webhooks.configured(), events))
}

#[server(endpoint = "redeliver_webhook", input = Json)]
pub async fn redeliver_webhook(event_id: WebhookEventId) -> Result<String, AppError> {
    let ctx = StaffCtx::load().await?;
    ctx.state.webhooks.redeliver(&ctx.actor, event_id).await?;
    Ok(format!("Event {event_id} will be delivered again now."))
}

/// The media library, and what the last upload in this session came to.
#[server(endpoint = "media_library")]
pub async fn media_library() -> Result<(Vec<MediaView>, Option<(bool, String)>), AppError> {
    let ctx = StaffCtx::load().await?;
    let items = ctx.state.media.list(&ctx.actor).await?;
    let flash = ctx.take_flash().await?;
    Ok((items, flash))
}
