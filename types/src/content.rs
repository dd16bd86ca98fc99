//! The CMS: entries, their versions and schemas as the dashboard edits them,
//! and published content as the public site and API serve it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    ContentEntryId, ContentScheduleId, ContentState, ContentType, ContentVersionId, ScheduleAction,
    ScheduleState, WebhookEventId, WebhookState,
};

/// One field of a content type's schema, as the editor's form needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// The key in the entry's data (and the form input's name, with
    /// `.<locale>` appended when the field is localized).
    pub name: String,
    pub label: String,
    /// `text`, `rich_text`, `url`, `datetime` or `number`.
    pub kind: String,
    pub required: bool,
    pub localized: bool,
    pub max_chars: u32,
}

/// An entry in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentEntryView {
    pub entry_id: ContentEntryId,
    pub content_type: ContentType,
    pub slug: String,
    pub state: ContentState,
    /// The draft's title in the default locale, if the type has one.
    pub title: String,
    pub updated_at: String,
    /// The newest saved version is not the published one.
    pub has_unpublished_changes: bool,
}

/// One saved version of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentVersionView {
    pub version_id: ContentVersionId,
    pub author: String,
    pub created_at: String,
    pub published: bool,
}

/// Everything the editor shows for one entry (or a new one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentEditor {
    pub content_type: ContentType,
    pub entry: Option<ContentEntryView>,
    pub fields: Vec<FieldSpec>,
    pub locales: Vec<String>,
    /// The draft's values by input name (`title.en`, `url`).
    pub values: BTreeMap<String, String>,
    /// Localized inputs left empty that fall back to the default locale.
    pub untranslated: Vec<String>,
    pub versions: Vec<ContentVersionView>,
    /// Planned and past publishes and unpublishes, newest first.
    pub schedules: Vec<ContentScheduleView>,
    pub can_edit: bool,
}

/// A publish or unpublish planned for a date and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentScheduleView {
    pub schedule_id: ContentScheduleId,
    pub action: ScheduleAction,
    /// The version a publish will show (the draft when it was planned).
    pub version_id: Option<ContentVersionId>,
    /// When it falls due (RFC 3339, UTC).
    pub due_at: String,
    pub state: ScheduleState,
    /// Pending more than a minute after it fell due.
    pub late: bool,
    /// Why it failed, or what it found (e.g. already unpublished).
    pub reason: Option<String>,
    pub created_by: String,
    pub finished_at: Option<String>,
}

/// One webhook event (a publish or an unpublish) and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEventView {
    pub event_id: WebhookEventId,
    /// `content.published` or `content.unpublished`.
    pub kind: String,
    pub content_type: ContentType,
    pub slug: String,
    pub state: WebhookState,
    pub attempts: u32,
    pub created_at: String,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// The last attempt's outcome: the receiver's status or the error.
    pub last_outcome: Option<String>,
}

/// A published entry in one locale: each field's text, a missing
/// translation filled from the fallback locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedContent {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub content_type: ContentType,
    pub slug: String,
    pub locale: String,
    pub fields: BTreeMap<String, String>,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
}

/// What the public site's front page shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PublicHome {
    pub banner: Option<PublishedContent>,
    pub header: Option<PublishedContent>,
    pub footer: Option<PublishedContent>,
    pub quests: Vec<PublishedContent>,
    pub drops: Vec<PublishedContent>,
    pub leaderboards: Vec<PublishedContent>,
}

/// One input whose text differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The input's name (`title.en`, `link`).
    pub name: String,
    pub parts: Vec<DiffPart>,
}

/// A run of words: `same`, `removed` or `added`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffPart {
    pub kind: String,
    pub text: String,
}

/// An uploaded image, as the media library lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaView {
    /// `/media/<sha256>.<ext>`: immutable, so cached for a year.
    pub url: String,
    pub sha256: String,
    pub content_type: String,
    pub byte_size: u64,
    pub width: u32,
    pub height: u32,
    pub file_name: String,
    pub created_at: String,
}
