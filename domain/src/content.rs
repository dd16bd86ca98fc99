//! The CMS. Each content type's schema is code (`schema`): its fields, their
//! kinds and limits, and which are translated. An entry's data is JSON in an
//! immutable version (`{"title": {"en": "…", "es": "…"}, "url": "…"}`),
//! checked against the schema on every save, rich text sanitised with
//! ammonia. An entry points at its newest draft and at most one published
//! version; publishing never rewrites a version.

use std::collections::BTreeMap;

use std::sync::Arc;

use payquest_types::{
    Amount, CampaignId, ContentEntryId, ContentScheduleId, ContentScheduleView, ContentState,
    ContentType, ContentVersionId, ContentVersionView, DiffPart, FieldDiff, FieldSpec,
    PublishedContent, ScheduleAction, ScheduleState,
};
use serde_json::{Map, Value};

use crate::audit::{AuditActor, AuditRecord};
use crate::cache::{LocalCache, PublicCache};
use crate::clock::format_ms;
use crate::limits;
use crate::session::{Actor, Permission};
use crate::store::{
    ContentEntryRecord, ContentScheduleRecord, DynStore, NewContentSchedule, ScheduleOutcome,
};
use crate::{Conflict, DomainError, DomainResult};

/// The locales content is written in; the first is the fallback of every
/// other (a field left empty in `es` shows its `en` text).
pub const LOCALES: [&str; 2] = ["en", "es"];
pub const DEFAULT_LOCALE: &str = LOCALES[0];
/// The longest slug (lower-case letters, digits and dashes).
pub const SLUG_MAX_CHARS: usize = 80;
/// Entries in one page of a list.
pub const CONTENT_PAGE_MAX: u32 = 100;
/// How long a preview link works.
pub const PREVIEW_LIFETIME_MS: i64 = 3_600_000;
/// How long a worker holds the schedules it claimed before another may.
const SCHEDULE_CLAIM_MS: i64 = 30_000;
/// Schedules one worker round claims.
const SCHEDULE_BATCH: u32 = 20;

fn schedule_view(s: ContentScheduleRecord, now_ms: i64) -> ContentScheduleView {
    ContentScheduleView {
        schedule_id: s.content_schedule_id,
        action: s.action,
        version_id: s.content_version_id,
        due_at: format_ms(s.due_at_ms),
        state: s.state,
        late: s.state == ScheduleState::Pending && s.due_at_ms < now_ms - limits::SCHEDULE_LATE_MS,
        reason: s.reason,
        created_by: s.created_by_email,
        finished_at: s.finished_at_ms.map(format_ms),
    }
}

fn preview_signature(body: &str) -> DomainResult<String> {
    use hmac::{Hmac, Mac};
    let key = crate::sealed::derived_key("content preview")
        .ok_or_else(|| DomainError::Conflict("previews need PAYQUEST_SECRETS_KEY_FILE".into()))?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(DomainError::internal)?;
    mac.update(b"preview:v1:");
    mac.update(body.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// HTML, sanitised on save (no scripts, no event handlers, safe links).
    RichText,
    /// An absolute http(s) URL or a path on our site.
    Url,
    /// An RFC 3339 time or a date.
    DateTime,
    /// A whole number (e.g. a campaign id, a reward in tokens).
    Number,
}

impl FieldKind {
    fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::RichText => "rich_text",
            FieldKind::Url => "url",
            FieldKind::DateTime => "datetime",
            FieldKind::Number => "number",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub localized: bool,
    pub max_chars: usize,
}

const fn field(
    name: &'static str,
    label: &'static str,
    kind: FieldKind,
    required: bool,
    localized: bool,
    max_chars: usize,
) -> FieldDef {
    FieldDef {
        name,
        label,
        kind,
        required,
        localized,
        max_chars,
    }
}

use FieldKind::{DateTime, Number, RichText, Text, Url};

const BANNER: &[FieldDef] = &[
    field("title", "Title", Text, true, true, 120),
    field("body", "Text", RichText, false, true, 2_000),
    field("link", "Link", Url, false, false, 500),
];
const HEADER: &[FieldDef] = &[
    field("tagline", "Tagline", Text, true, true, 120),
    field(
        "links",
        "Menu (one “label | URL” per line)",
        Text,
        false,
        true,
        1_000,
    ),
];
const FOOTER: &[FieldDef] = &[
    field("text", "Text", RichText, true, true, 2_000),
    field(
        "links",
        "Links (one “label | URL” per line)",
        Text,
        false,
        true,
        1_000,
    ),
];
const K_QUEST: &[FieldDef] = &[
    field("title", "Title", Text, true, true, 120),
    field("summary", "Summary", RichText, false, true, 4_000),
    field("campaign_id", "Campaign id", Number, true, false, 19),
    field(
        "quest_ids",
        "Quest ids (comma-separated)",
        Text,
        false,
        false,
        200,
    ),
    field("reward", "Reward (as shown)", Text, false, true, 60),
    field("starts_at", "Starts", DateTime, false, false, 40),
    field("ends_at", "Ends", DateTime, false, false, 40),
];
const K_DROP: &[FieldDef] = &[
    field("title", "Title", Text, true, true, 120),
    field("summary", "Summary", RichText, false, true, 4_000),
    field("campaign_id", "Campaign id", Number, true, false, 19),
    field("total", "Total tokens", Number, true, false, 19),
    field("starts_at", "Starts", DateTime, false, false, 40),
    field("ends_at", "Ends", DateTime, false, false, 40),
];
const LEADERBOARD: &[FieldDef] = &[
    field("title", "Title", Text, true, true, 120),
    field("campaign_id", "Campaign id", Number, false, false, 19),
    field(
        "period",
        "Period (e.g. a sprint's name)",
        Text,
        true,
        true,
        60,
    ),
    field(
        "ranked_by",
        "Ranked by (points: one per validated activity, or tokens earned)",
        Text,
        false,
        false,
        10,
    ),
    field("starts_at", "Starts", DateTime, false, false, 40),
    field("ends_at", "Ends", DateTime, false, false, 40),
];

/// A content type's fields.
pub fn schema(content_type: ContentType) -> &'static [FieldDef] {
    match content_type {
        ContentType::Banner => BANNER,
        ContentType::Header => HEADER,
        ContentType::Footer => FOOTER,
        ContentType::KQuest => K_QUEST,
        ContentType::KDrop => K_DROP,
        ContentType::Leaderboard => LEADERBOARD,
    }
}

/// The schema as the editor's form shows it.
pub fn field_specs(content_type: ContentType) -> Vec<FieldSpec> {
    schema(content_type)
        .iter()
        .map(|f| FieldSpec {
            name: f.name.to_owned(),
            label: f.label.to_owned(),
            kind: f.kind.as_str().to_owned(),
            required: f.required,
            localized: f.localized,
            max_chars: f.max_chars as u32,
        })
        .collect()
}

/// The form input of a field in a locale (`title.es`), or of an
/// untranslated field (`link`).
pub fn input_name(f: &FieldDef, locale: Option<&str>) -> String {
    match (f.localized, locale) {
        (true, Some(l)) => format!("{}.{l}", f.name),
        _ => f.name.to_owned(),
    }
}

fn invalid(f: &FieldDef, message: String) -> DomainError {
    DomainError::InvalidField {
        field: f.name,
        message,
    }
}

/// Checks and cleans one value of a field; `None` for an empty one.
fn clean(f: &FieldDef, locale: Option<&str>, raw: &str) -> DomainResult<Option<String>> {
    let what = match locale {
        Some(l) => format!("{} ({l})", f.label),
        None => f.label.to_owned(),
    };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > f.max_chars {
        return Err(invalid(
            f,
            format!("{what} is at most {} characters", f.max_chars),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(f, format!("{what} has control characters")));
    }
    let cleaned = match f.kind {
        FieldKind::Text if f.name == "ranked_by" => {
            if v != "points" && v != "tokens" {
                return Err(invalid(f, format!("{what} must be points or tokens")));
            }
            v.to_owned()
        }
        FieldKind::Text => v.to_owned(),
        FieldKind::RichText => sanitise(v),
        FieldKind::Url => {
            let ok = v.starts_with('/') && !v.starts_with("//")
                || v.starts_with("https://")
                || v.starts_with("http://");
            if !ok || v.contains(char::is_whitespace) {
                return Err(invalid(
                    f,
                    format!("{what} must be an http(s) URL or a path starting with /"),
                ));
            }
            v.to_owned()
        }
        FieldKind::DateTime => {
            let full = if v.len() == 10 {
                format!("{v}T00:00:00Z")
            } else {
                v.to_owned()
            };
            time::OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
                .map_err(|_| invalid(f, format!("{what} must be a date like 2026-12-01")))?;
            full
        }
        FieldKind::Number => {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid(f, format!("{what} must be a whole number")))?;
            v.to_owned()
        }
    };
    Ok(Some(cleaned))
}

/// Builds an entry's data from the editor's inputs (by input name), checked
/// against the schema; the error names the field. Unknown inputs are refused.
pub fn data_from_inputs(
    content_type: ContentType,
    inputs: &BTreeMap<String, String>,
) -> DomainResult<Value> {
    let fields = schema(content_type);
    for key in inputs.keys() {
        let known = fields.iter().any(|f| {
            if f.localized {
                LOCALES.iter().any(|l| *key == input_name(f, Some(l)))
            } else {
                *key == f.name
            }
        });
        if !known {
            return Err(DomainError::InvalidInput(format!(
                "{} has no field {key:?}",
                content_type.label()
            )));
        }
    }
    let mut data = Map::new();
    for f in fields {
        let value = if f.localized {
            let mut per_locale = Map::new();
            for l in LOCALES {
                let raw = inputs
                    .get(&input_name(f, Some(l)))
                    .map(String::as_str)
                    .unwrap_or("");
                if let Some(v) = clean(f, Some(l), raw)? {
                    per_locale.insert(l.to_owned(), Value::String(v));
                }
            }
            if f.required && !per_locale.contains_key(DEFAULT_LOCALE) {
                return Err(invalid(
                    f,
                    format!("{} ({DEFAULT_LOCALE}) is required", f.label),
                ));
            }
            (!per_locale.is_empty()).then_some(Value::Object(per_locale))
        } else {
            let raw = inputs.get(f.name).map(String::as_str).unwrap_or("");
            let v = clean(f, None, raw)?;
            if f.required && v.is_none() {
                return Err(invalid(f, format!("{} is required", f.label)));
            }
            v.map(Value::String)
        };
        if let Some(v) = value {
            data.insert(f.name.to_owned(), v);
        }
    }
    Ok(Value::Object(data))
}

/// An entry's data as the editor's inputs (by input name).
pub fn inputs_from_data(content_type: ContentType, data: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in schema(content_type) {
        match data.get(f.name) {
            Some(Value::Object(per_locale)) if f.localized => {
                for (l, v) in per_locale {
                    if let Some(s) = v.as_str() {
                        out.insert(format!("{}.{l}", f.name), s.to_owned());
                    }
                }
            }
            Some(Value::String(s)) => {
                out.insert(f.name.to_owned(), s.clone());
            }
            _ => {}
        }
    }
    out
}

/// Translated inputs left empty where the default locale has text: they
/// show the fallback.
pub fn untranslated(content_type: ContentType, data: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in schema(content_type).iter().filter(|f| f.localized) {
        let per_locale = data.get(f.name).and_then(Value::as_object);
        let has = |l: &str| {
            per_locale
                .and_then(|m| m.get(l))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if has(DEFAULT_LOCALE) {
            for l in LOCALES.iter().skip(1).filter(|l| !has(l)) {
                out.push(input_name(f, Some(l)));
            }
        }
    }
    out
}

/// The entry's text in `locale`, each field falling back to the default
/// locale when it has no translation.
pub fn resolve(content_type: ContentType, data: &Value, locale: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in schema(content_type) {
        let v = match data.get(f.name) {
            Some(Value::Object(per_locale)) => per_locale
                .get(locale)
                .or_else(|| per_locale.get(DEFAULT_LOCALE))
                .and_then(Value::as_str),
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        if let Some(v) = v {
            out.insert(f.name.to_owned(), v.to_owned());
        }
    }
    out
}

/// Each input whose text differs between two versions, with a word diff
/// (`similar`, a well-kept diff crate, rather than our own).
pub fn diff(content_type: ContentType, before: &Value, after: &Value) -> Vec<FieldDiff> {
    let (a, b) = (
        inputs_from_data(content_type, before),
        inputs_from_data(content_type, after),
    );
    let mut out = Vec::new();
    for f in schema(content_type) {
        let names: Vec<String> = if f.localized {
            LOCALES.iter().map(|l| input_name(f, Some(l))).collect()
        } else {
            vec![f.name.to_owned()]
        };
        for name in names {
            let old = a.get(&name).map(String::as_str).unwrap_or("");
            let new = b.get(&name).map(String::as_str).unwrap_or("");
            if old == new {
                continue;
            }
            let parts = similar::TextDiff::from_words(old, new)
                .iter_all_changes()
                .map(|c| DiffPart {
                    kind: match c.tag() {
                        similar::ChangeTag::Equal => "same",
                        similar::ChangeTag::Delete => "removed",
                        similar::ChangeTag::Insert => "added",
                    }
                    .to_owned(),
                    text: c.value().to_owned(),
                })
                .collect();
            out.push(FieldDiff { name, parts });
        }
    }
    out
}

/// A known locale, or the default one for anything else.
pub fn locale_or_default(raw: Option<&str>) -> &'static str {
    raw.and_then(|r| LOCALES.iter().find(|l| **l == r))
        .copied()
        .unwrap_or(DEFAULT_LOCALE)
}

/// A slug: 1 to `SLUG_MAX_CHARS` lower-case letters, digits and dashes.
/// A date and time as a `datetime-local` input sends it,
/// `YYYY-MM-DDTHH:MM` or with `:SS`, read as UTC.
pub fn parse_due_at(raw: &str) -> DomainResult<i64> {
    use time::macros::format_description;
    let bad = || DomainError::InvalidField {
        field: "due_at",
        message: "give a date and time as YYYY-MM-DDTHH:MM (UTC)".into(),
    };
    if raw.len() > 19 {
        return Err(bad());
    }
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let without = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let at = time::PrimitiveDateTime::parse(raw, with_seconds)
        .or_else(|_| time::PrimitiveDateTime::parse(raw, without))
        .map_err(|_| bad())?;
    let nanos = at.assume_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).map_err(|_| bad())
}

pub fn check_slug(slug: &str) -> DomainResult<()> {
    let ok = !slug.is_empty()
        && slug.len() <= SLUG_MAX_CHARS
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(DomainError::InvalidField {
            field: "slug",
            message: format!(
                "the slug is 1 to {SLUG_MAX_CHARS} lower-case letters, digits and dashes"
            ),
        })
    }
}

/// An entry with the data of the version a caller asked for.
#[derive(Debug, Clone)]
pub struct EntryWithData {
    pub entry: ContentEntryRecord,
    pub data: Value,
}

/// The CMS as the community team and the public site use it.
pub struct Content {
    store: DynStore,
    /// Publishes and unpublishes write a webhook event (a receiver is set).
    notify: bool,
    cache: Arc<dyn PublicCache>,
}

impl Content {
    /// The CMS with an in-process cache and no webhooks.
    pub fn new(store: DynStore) -> Self {
        Self {
            store,
            notify: false,
            cache: Arc::new(LocalCache::default()),
        }
    }

    /// Publishes and unpublishes write a webhook event for the receiver.
    pub fn with_webhooks(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// The cache the public site is served from, purged on every change.
    pub fn with_cache(mut self, cache: Arc<dyn PublicCache>) -> Self {
        self.cache = cache;
        self
    }

    pub fn cache(&self) -> Arc<dyn PublicCache> {
        self.cache.clone()
    }

    /// Saves the editor's inputs as a new version of the entry (created on
    /// its first save) and makes it the draft; the entry's published
    /// version, if any, stays published.
    pub async fn save_draft(
        &self,
        actor: &Actor,
        content_type: ContentType,
        slug: &str,
        inputs: &BTreeMap<String, String>,
    ) -> DomainResult<(ContentEntryId, ContentVersionId)> {
        actor.require(Permission::ManageContent)?;
        let slug = slug_of(content_type, slug)?;
        let data = data_from_inputs(content_type, inputs)?;
        let json = data.to_string();
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "content.saved",
            format!("content:{}:{slug}", content_type.as_str()),
        )
        .after(&data);
        Ok(self
            .store
            .save_content_version(content_type, &slug, &json, actor.user_id, &audit)
            .await?)
    }

    /// Publishes the entry's current draft version. A K-Drop is published
    /// only while its campaign's available budget covers its total
    /// (finance's rule); the refusal says by how much it falls short.
    pub async fn publish(&self, actor: &Actor, entry_id: ContentEntryId) -> DomainResult<()> {
        actor.require(Permission::ManageContent)?;
        let entry = self.entry_record(entry_id).await?;
        let Some(version) = entry.draft_version_id else {
            return Err(DomainError::Conflict(
                "the entry has no saved version".into(),
            ));
        };
        if entry.content_type == ContentType::KDrop {
            let draft = self.version_record(entry_id, version).await?;
            self.check_drop_budget(&parse_data(&draft.data_json)?)
                .await?;
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "content.published",
            format!("content_entry:{entry_id}"),
        )
        .before(&serde_json::json!({ "published_version": entry.published_version_id }))
        .after(&serde_json::json!({ "published_version": version }));
        if !self
            .store
            .publish_content(entry_id, version, self.notify, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "the entry changed meanwhile; reload it".into(),
            ));
        }
        self.cache.purge().await;
        Ok(())
    }

    /// Takes the entry off the public site (its versions stay).
    pub async fn unpublish(&self, actor: &Actor, entry_id: ContentEntryId) -> DomainResult<()> {
        actor.require(Permission::ManageContent)?;
        let entry = self.entry_record(entry_id).await?;
        if entry.state != ContentState::Published {
            return Err(DomainError::Conflict("the entry is not published".into()));
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "content.unpublished",
            format!("content_entry:{entry_id}"),
        )
        .before(&serde_json::json!({ "published_version": entry.published_version_id }));
        if !self
            .store
            .unpublish_content(entry_id, self.notify, &audit)
            .await?
        {
            return Err(DomainError::Conflict("the entry is not published".into()));
        }
        self.cache.purge().await;
        Ok(())
    }

    /// Plans a publish of the entry's current draft, or an unpublish, for
    /// `due_at_ms` (in the future, at most a year ahead). A publish shows
    /// the version that is the draft now, even if the entry is saved again.
    pub async fn schedule(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
        action: ScheduleAction,
        due_at_ms: i64,
    ) -> DomainResult<ContentScheduleId> {
        actor.require(Permission::ManageContent)?;
        let now = crate::clock::now_ms();
        if due_at_ms <= now {
            return Err(DomainError::InvalidField {
                field: "due_at",
                message: "pick a time in the future".into(),
            });
        }
        if due_at_ms > now + limits::SCHEDULE_AHEAD_MAX_MS {
            return Err(DomainError::InvalidField {
                field: "due_at",
                message: "schedules go at most a year ahead".into(),
            });
        }
        let entry = self.entry_record(entry_id).await?;
        let pending = self
            .store
            .content_schedules(entry_id, CONTENT_PAGE_MAX)
            .await?
            .iter()
            .filter(|s| s.state == ScheduleState::Pending)
            .count();
        if pending >= limits::SCHEDULES_PER_ENTRY_MAX {
            return Err(DomainError::Conflict(format!(
                "an entry has at most {} pending schedules; cancel one first",
                limits::SCHEDULES_PER_ENTRY_MAX
            )));
        }
        let version = match action {
            ScheduleAction::Publish => Some(entry.draft_version_id.ok_or_else(|| {
                DomainError::Conflict("save the entry before scheduling a publish".into())
            })?),
            ScheduleAction::Unpublish => None,
        };
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "content.scheduled",
            format!("content_entry:{entry_id}"),
        )
        .after(&serde_json::json!({
            "action": action,
            "version": version,
            "due_at": format_ms(due_at_ms),
        }));
        Ok(self
            .store
            .add_content_schedule(
                &NewContentSchedule {
                    entry: entry_id,
                    action,
                    version,
                    due_at_ms,
                    created_by: actor.user_id,
                },
                &audit,
            )
            .await?)
    }

    /// Cancels a pending schedule of the entry.
    pub async fn cancel_schedule(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
        schedule: ContentScheduleId,
    ) -> DomainResult<()> {
        actor.require(Permission::ManageContent)?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "content.schedule_cancelled",
            format!("content_schedule:{schedule}"),
        );
        if !self
            .store
            .cancel_content_schedule(entry_id, schedule, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "the schedule is no longer pending (it ran or was cancelled)".into(),
            ));
        }
        Ok(())
    }

    /// The entry's schedules, newest first, each marked late when it is
    /// still pending a minute after its time.
    pub async fn schedules(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
    ) -> DomainResult<Vec<ContentScheduleView>> {
        actor.require(Permission::ReadContent)?;
        let now = crate::clock::now_ms();
        Ok(self
            .store
            .content_schedules(entry_id, CONTENT_PAGE_MAX)
            .await?
            .into_iter()
            .map(|s| schedule_view(s, now))
            .collect())
    }

    /// Runs the due schedules once: claims them (no other replica holds
    /// them while the claim lasts), checks each (a K-Drop against its
    /// campaign's budget) and finishes it in one transaction with the
    /// entry's change. Returns how many this call finished.
    pub async fn run_due_schedules(&self, now_ms: i64) -> DomainResult<usize> {
        let claimed = self
            .store
            .claim_content_schedules(now_ms, SCHEDULE_CLAIM_MS, SCHEDULE_BATCH)
            .await?;
        let mut finished = 0;
        let mut changed = false;
        for claim in claimed {
            let (outcome, action) = self.schedule_outcome(&claim).await?;
            let subject = format!("content_entry:{}", claim.content_entry_id);
            let audit = match &outcome {
                ScheduleOutcome::Fail(why) => AuditRecord::new(
                    &AuditActor::system(&format!("schedule by {}", claim.created_by_email)),
                    "content.schedule_failed",
                    subject,
                )
                .after(&serde_json::json!({
                    "schedule": claim.content_schedule_id,
                    "action": claim.action,
                    "reason": why,
                })),
                _ => AuditRecord::new(
                    &AuditActor::system(&format!("schedule by {}", claim.created_by_email)),
                    action,
                    subject,
                )
                .after(&serde_json::json!({
                    "schedule": claim.content_schedule_id,
                    "published_version": claim.content_version_id,
                })),
            };
            let lateness_s = (now_ms - claim.due_at_ms).max(0) as f64 / 1_000.0;
            if self
                .store
                .finish_content_schedule(&claim, &outcome, self.notify, &audit)
                .await?
            {
                finished += 1;
                changed |= outcome == ScheduleOutcome::Apply;
                let result = match outcome {
                    ScheduleOutcome::Fail(_) => "failed",
                    _ => "done",
                };
                metrics::counter!("payquest_content_schedules_run_total", "outcome" => result)
                    .increment(1);
                metrics::histogram!("payquest_content_schedule_lateness_seconds")
                    .record(lateness_s);
            }
        }
        if changed {
            self.cache.purge().await;
        }
        let late = self
            .store
            .late_content_schedules(now_ms, limits::SCHEDULE_LATE_MS)
            .await?;
        metrics::gauge!("payquest_content_schedules_late").set(late as f64);
        Ok(finished)
    }

    /// What a due schedule comes to, and the audit action of a change.
    async fn schedule_outcome(
        &self,
        claim: &ContentScheduleRecord,
    ) -> DomainResult<(ScheduleOutcome, &'static str)> {
        let entry = self.entry_record(claim.content_entry_id).await?;
        match (claim.action, claim.content_version_id) {
            (ScheduleAction::Publish, Some(version)) => {
                if entry.content_type == ContentType::KDrop {
                    let v = self.version_record(entry.content_entry_id, version).await?;
                    match self.check_drop_budget(&parse_data(&v.data_json)?).await {
                        Ok(()) => {}
                        Err(e @ (DomainError::Named(..) | DomainError::InvalidField { .. })) => {
                            return Ok((ScheduleOutcome::Fail(e.to_string()), "content.published"));
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok((ScheduleOutcome::Apply, "content.published"))
            }
            _ if entry.state != ContentState::Published => Ok((
                ScheduleOutcome::Skip("the entry was not published".into()),
                "content.unpublished",
            )),
            _ => Ok((ScheduleOutcome::Apply, "content.unpublished")),
        }
    }

    /// Runs due schedules every `every` until `stop` turns true.
    pub async fn run_schedules(
        self: Arc<Self>,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            match self.run_due_schedules(crate::clock::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(finished = n, "content schedules ran"),
                Err(e) => tracing::warn!(error = %e, "running content schedules failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// Entries of a type (all types when `None`), newest change first.
    pub async fn entries(
        &self,
        actor: &Actor,
        content_type: Option<ContentType>,
    ) -> DomainResult<Vec<EntryWithData>> {
        actor.require(Permission::ReadContent)?;
        let rows = self
            .store
            .content_entries(content_type, CONTENT_PAGE_MAX)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (entry, data) in rows {
            out.push(EntryWithData {
                entry,
                data: parse_data(&data)?,
            });
        }
        Ok(out)
    }

    /// The entry of a type and slug (the slug is the type's for a
    /// singleton), with its draft's data and versions; `None` before its
    /// first save.
    pub async fn entry_by_slug(
        &self,
        actor: &Actor,
        content_type: ContentType,
        slug: &str,
    ) -> DomainResult<Option<(EntryWithData, Vec<ContentVersionView>)>> {
        actor.require(Permission::ReadContent)?;
        let slug = slug_of(content_type, slug)?;
        match self
            .store
            .content_entry_by_slug(content_type, &slug)
            .await?
        {
            Some(e) => Ok(Some(self.entry(actor, e.content_entry_id).await?)),
            None => Ok(None),
        }
    }

    /// One entry with its draft's data and its versions, newest first.
    pub async fn entry(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
    ) -> DomainResult<(EntryWithData, Vec<ContentVersionView>)> {
        actor.require(Permission::ReadContent)?;
        let entry = self.entry_record(entry_id).await?;
        let versions = self
            .store
            .content_versions(entry_id, CONTENT_PAGE_MAX)
            .await?;
        let draft = versions
            .iter()
            .find(|v| Some(v.content_version_id) == entry.draft_version_id)
            .map(|v| parse_data(&v.data_json))
            .transpose()?
            .unwrap_or(Value::Object(Map::new()));
        let views = versions
            .iter()
            .map(|v| ContentVersionView {
                version_id: v.content_version_id,
                author: v.author_email.clone(),
                created_at: format_ms(v.created_at_ms),
                published: Some(v.content_version_id) == entry.published_version_id,
            })
            .collect();
        Ok((EntryWithData { entry, data: draft }, views))
    }

    /// A published entry in `locale` (anyone may read it).
    pub async fn published(
        &self,
        content_type: ContentType,
        slug: &str,
        locale: &str,
    ) -> DomainResult<Option<PublishedContent>> {
        if check_slug(slug).is_err() {
            return Ok(None);
        }
        let Some((entry, data, at)) = self.store.published_content(content_type, slug).await?
        else {
            return Ok(None);
        };
        Ok(Some(published_view(
            &entry,
            &parse_data(&data)?,
            locale,
            at,
        )))
    }

    /// A page of a type's published entries in `locale`, by slug, after
    /// `after` (keyset).
    pub async fn published_list(
        &self,
        content_type: ContentType,
        locale: &str,
        after: &str,
        limit: u32,
    ) -> DomainResult<Vec<PublishedContent>> {
        if limit == 0 || limit > CONTENT_PAGE_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page size must be 1 to {CONTENT_PAGE_MAX}"
            )));
        }
        if after.len() > SLUG_MAX_CHARS {
            return Err(DomainError::InvalidInput("\"after\" is not a slug".into()));
        }
        let rows = self
            .store
            .published_contents(content_type, after, limit)
            .await?;
        rows.iter()
            .map(|(entry, data, at)| Ok(published_view(entry, &parse_data(data)?, locale, *at)))
            .collect()
    }

    /// A signed link to the entry's current draft, valid for
    /// `PREVIEW_LIFETIME_MS`, for anyone holding it (a reviewer without an
    /// account, say). The token is HMAC-SHA256 over entry, version and expiry
    /// under a key derived from the secrets key, so any replica checks it.
    pub async fn preview_token(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
    ) -> DomainResult<String> {
        actor.require(Permission::ReadContent)?;
        let entry = self.entry_record(entry_id).await?;
        let version = entry
            .draft_version_id
            .ok_or_else(|| DomainError::Conflict("save the entry before previewing it".into()))?;
        let expires = crate::clock::now_ms() + PREVIEW_LIFETIME_MS;
        let body = format!("{entry_id}.{version}.{expires}");
        Ok(format!("{body}.{}", preview_signature(&body)?))
    }

    /// The draft a preview token names, rendered as the public site would;
    /// `NotFound` for a token that is forged, changed or expired.
    pub async fn preview(&self, token: &str) -> DomainResult<PublishedContent> {
        let gone = || DomainError::NotFound("preview (it may have expired)");
        if token.len() > 200 {
            return Err(gone());
        }
        let (body, signature) = token.rsplit_once('.').ok_or_else(gone)?;
        let expected = preview_signature(body)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            signature.as_bytes(),
        )) {
            return Err(gone());
        }
        let mut parts = body.split('.').map(str::parse::<i64>);
        let (Some(Ok(entry)), Some(Ok(version)), Some(Ok(expires)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(gone());
        };
        if expires < crate::clock::now_ms() {
            return Err(gone());
        }
        let entry_id = ContentEntryId(entry);
        let record = self.entry_record(entry_id).await.map_err(|_| gone())?;
        let v = self
            .version_record(entry_id, ContentVersionId(version))
            .await
            .map_err(|_| gone())?;
        let data = parse_data(&v.data_json)?;
        Ok(published_view(
            &record,
            &data,
            DEFAULT_LOCALE,
            v.created_at_ms,
        ))
    }

    /// A K-Drop's total against its campaign's available budget.
    async fn check_drop_budget(&self, data: &Value) -> DomainResult<()> {
        let number = |name: &'static str| {
            data.get(name)
                .and_then(Value::as_str)
                .ok_or(DomainError::InvalidField {
                    field: name,
                    message: format!("the drop has no {name}"),
                })
        };
        let campaign_id: i64 =
            number("campaign_id")?
                .parse()
                .map_err(|_| DomainError::InvalidField {
                    field: "campaign_id",
                    message: "the campaign id is a number".into(),
                })?;
        let total: Amount = number("total")?
            .parse()
            .map_err(|_| DomainError::InvalidField {
                field: "total",
                message: "the total is a number of tokens".into(),
            })?;
        let campaign = self.store.campaign(CampaignId(campaign_id)).await?.ok_or(
            DomainError::InvalidField {
                field: "campaign_id",
                message: format!("there is no campaign {campaign_id}"),
            },
        )?;
        let available = campaign.budget.available();
        if total > available {
            let short = Amount::from_minor(total.minor().saturating_sub(available.minor()));
            return Err(DomainError::Named(
                Conflict::BudgetShort,
                format!(
                    "{}'s available budget ({available}) falls short of the drop's total ({total}) by {short}",
                    campaign.name
                ),
            ));
        }
        Ok(())
    }

    /// What changed between two versions of an entry, field by field.
    pub async fn diff(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
        from: ContentVersionId,
        to: ContentVersionId,
    ) -> DomainResult<Vec<FieldDiff>> {
        actor.require(Permission::ReadContent)?;
        let entry = self.entry_record(entry_id).await?;
        let before = parse_data(&self.version_record(entry_id, from).await?.data_json)?;
        let after = parse_data(&self.version_record(entry_id, to).await?.data_json)?;
        Ok(diff(entry.content_type, &before, &after))
    }

    /// Makes an old version the draft again, as a new version (history is
    /// never rewritten); publish it to show it.
    pub async fn restore(
        &self,
        actor: &Actor,
        entry_id: ContentEntryId,
        version: ContentVersionId,
    ) -> DomainResult<ContentVersionId> {
        actor.require(Permission::ManageContent)?;
        let entry = self.entry_record(entry_id).await?;
        let old = self.version_record(entry_id, version).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "content.restored",
            format!("content:{}:{}", entry.content_type.as_str(), entry.slug),
        )
        .before(&serde_json::json!({ "draft_version": entry.draft_version_id }))
        .after(&serde_json::json!({ "restored_version": version }));
        let (_, new) = self
            .store
            .save_content_version(
                entry.content_type,
                &entry.slug,
                &old.data_json,
                actor.user_id,
                &audit,
            )
            .await?;
        Ok(new)
    }

    /// A version of this entry (never another entry's).
    async fn version_record(
        &self,
        entry_id: ContentEntryId,
        version: ContentVersionId,
    ) -> DomainResult<crate::store::ContentVersionRecord> {
        self.store
            .content_version(version)
            .await?
            .filter(|v| v.content_entry_id == entry_id)
            .ok_or(DomainError::NotFound("content version"))
    }

    async fn entry_record(&self, entry_id: ContentEntryId) -> DomainResult<ContentEntryRecord> {
        self.store
            .content_entry(entry_id)
            .await?
            .ok_or(DomainError::NotFound("content entry"))
    }
}

/// A singleton's slug is its type's name; a collection entry's is checked.
pub fn slug_of(content_type: ContentType, slug: &str) -> DomainResult<String> {
    if content_type.is_singleton() {
        return Ok(content_type.as_str().to_owned());
    }
    let s = slug.trim().to_owned();
    check_slug(&s)?;
    Ok(s)
}

/// Rich text as it may reach a page: ammonia's safe subset of HTML (no
/// scripts, styles or event handlers; links get `rel=noopener noreferrer
/// nofollow`).
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

fn parse_data(json: &str) -> DomainResult<Value> {
    serde_json::from_str(json).map_err(DomainError::internal)
}

fn published_view(
    entry: &ContentEntryRecord,
    data: &Value,
    locale: &str,
    published_at_ms: i64,
) -> PublishedContent {
    let mut fields = resolve(entry.content_type, data, locale);
    // Sanitised on save; sanitised again on the way out, so a stored value
    // from before a stricter rule can't reach a page.
    for f in schema(entry.content_type)
        .iter()
        .filter(|f| f.kind == FieldKind::RichText)
    {
        if let Some(v) = fields.get_mut(f.name) {
            *v = sanitise(v);
        }
    }
    PublishedContent {
        content_type: entry.content_type,
        slug: entry.slug.clone(),
        locale: locale.to_owned(),
        fields,
        published_at: format_ms(published_at_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn data_follows_the_schema_and_names_the_bad_field() {
        let data = data_from_inputs(
            ContentType::Banner,
            &inputs(&[
                ("title.en", "Season two"),
                ("title.es", ""),
                ("body.en", "<b>Play</b><script>alert(1)</script><a href=\"javascript:x\" onclick=\"y\">x</a>"),
                ("link", "/quests"),
            ]),
        )
        .expect("valid");
        assert_eq!(data["title"]["en"], "Season two");
        assert!(data["title"].get("es").is_none(), "empty is absent");
        let body = data["body"]["en"].as_str().unwrap_or_default();
        assert!(body.contains("<b>Play</b>"), "{body}");
        assert!(
            !body.contains("script") && !body.contains("onclick") && !body.contains("javascript"),
            "{body}"
        );
        for (bad, field) in [
            (inputs(&[("title.es", "solo")]), "title"),
            (
                inputs(&[("title.en", "x"), ("link", "javascript:alert(1)")]),
                "link",
            ),
            (inputs(&[("title.en", &"x".repeat(121))]), "title"),
        ] {
            assert!(
                matches!(data_from_inputs(ContentType::Banner, &bad), Err(DomainError::InvalidField { field: f, .. }) if f == field),
                "{bad:?}"
            );
        }
        assert!(matches!(
            data_from_inputs(
                ContentType::Banner,
                &inputs(&[("title.en", "x"), ("colour", "red")])
            ),
            Err(DomainError::InvalidInput(_))
        ));
        assert!(matches!(
            data_from_inputs(
                ContentType::KDrop,
                &inputs(&[("title.en", "x"), ("campaign_id", "1"), ("total", "-5")])
            ),
            Err(DomainError::InvalidField { field: "total", .. })
        ));
    }

    #[test]
    fn a_missing_translation_falls_back_per_field() {
        let data = data_from_inputs(
            ContentType::Leaderboard,
            &inputs(&[
                ("title.en", "Top players"),
                ("title.es", "Mejores"),
                ("period.en", "Sprint 1"),
            ]),
        )
        .expect("valid");
        let es = resolve(ContentType::Leaderboard, &data, "es");
        assert_eq!(es["title"], "Mejores");
        assert_eq!(es["period"], "Sprint 1", "falls back to en");
        assert_eq!(
            untranslated(ContentType::Leaderboard, &data),
            vec!["period.es"]
        );
        assert_eq!(locale_or_default(Some("fr")), "en");
        assert_eq!(
            inputs_from_data(ContentType::Leaderboard, &data)
                .get("title.es")
                .map(String::as_str),
            Some("Mejores")
        );
    }

    #[test]
    fn a_diff_names_the_changed_inputs_word_by_word() {
        let a = data_from_inputs(
            ContentType::Banner,
            &inputs(&[("title.en", "Season one starts"), ("link", "/a")]),
        )
        .expect("a");
        let b = data_from_inputs(
            ContentType::Banner,
            &inputs(&[("title.en", "Season two starts"), ("link", "/a")]),
        )
        .expect("b");
        let d = diff(ContentType::Banner, &a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name, "title.en");
        let text = |kind: &str| -> String {
            d[0].parts
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| p.text.as_str())
                .collect()
        };
        assert_eq!(
            (text("removed"), text("added")),
            ("one".to_owned(), "two".to_owned())
        );
        assert!(diff(ContentType::Banner, &a, &a).is_empty());
    }

    #[test]
    fn a_due_time_is_read_as_utc_with_or_without_seconds() {
        assert_eq!(
            parse_due_at("2026-12-01T20:15").expect("test input"),
            1_796_156_100_000
        );
        assert_eq!(
            parse_due_at("2026-12-01T20:15:30").expect("test input"),
            1_796_156_130_000
        );
        for bad in [
            "",
            "tomorrow",
            "2026-13-01T20:15",
            "2026-12-01 20:15",
            "2026-12-01T20:15:30.000000",
        ] {
            assert!(parse_due_at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_are_plain() {
        assert!(check_slug("summer-cup-2").is_ok());
        for bad in ["", "Summer", "a b", "-x", "x-", "ü", &"a".repeat(81)] {
            assert!(check_slug(bad).is_err(), "{bad:?}");
        }
    }
}
