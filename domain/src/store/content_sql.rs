//! CMS entries and versions, shared SQL for both backends (see `sql.rs`).
//! Versions are only ever inserted (the database refuses anything else);
//! saving, publishing and unpublishing move the entry's pointers.

use payquest_types::{ContentEntryId, ContentVersionId, StaffUserId};

use super::ContentVersionRecord;

pub(super) const ENTRY_COLUMNS: &str = "e.content_entry_id, e.content_type, e.slug, e.state, \
     e.draft_version_id, e.published_version_id, e.published_at_ms, e.created_at_ms, e.updated_at_ms";

pub(super) const SCHEDULE_SELECT: &str =
    "SELECT c.content_schedule_id, c.content_entry_id, c.action, \
     c.content_version_id, c.due_at_ms, c.state, c.claimed_until_ms, c.reason, c.created_by, \
     s.email AS created_by_email, c.created_at_ms, c.finished_at_ms \
     FROM content_schedule c JOIN staff_user s ON s.staff_user_id = c.created_by";

pub(super) const WEBHOOK_COLUMNS: &str =
    "webhook_event_id, kind, content_entry_id, content_type, slug, \
     content_version_id, state, attempts, retries_left, next_attempt_at_ms, claimed_until_ms, \
     last_outcome, created_at_ms, delivered_at_ms";

#[derive(sqlx::FromRow)]
pub(super) struct VersionRow {
    pub content_version_id: ContentVersionId,
    pub content_entry_id: ContentEntryId,
    pub data_json: String,
    pub author_id: StaffUserId,
    pub author_email: String,
    pub created_at_ms: i64,
}

impl From<VersionRow> for ContentVersionRecord {
    fn from(r: VersionRow) -> Self {
        ContentVersionRecord {
            content_version_id: r.content_version_id,
            content_entry_id: r.content_entry_id,
            data_json: r.data_json,
            author_id: r.author_id,
            author_email: r.author_email,
            created_at_ms: r.created_at_ms,
        }
    }
}

macro_rules! impl_content {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ContentStore for $store {
            async fn save_content_version(
                &self,
                content_type: payquest_types::ContentType,
                slug: &str,
                data_json: &str,
                author: StaffUserId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<(ContentEntryId, ContentVersionId)> {
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO content_entry (content_type, slug, state, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, 'draft', $3, $3) ON CONFLICT (content_type, slug) DO NOTHING",
                )
                .bind(content_type.as_str())
                .bind(slug)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let entry = sqlx::query_scalar::<_, ContentEntryId>(
                    "SELECT content_entry_id FROM content_entry WHERE content_type = $1 AND slug = $2",
                )
                .bind(content_type.as_str())
                .bind(slug)
                .fetch_one(&mut *tx)
                .await?;
                let version = sqlx::query_scalar::<_, ContentVersionId>(
                    "INSERT INTO content_version (content_entry_id, data_json, author_id, created_at_ms) \
                     VALUES ($1, $2, $3, $4) RETURNING content_version_id",
                )
                .bind(entry)
                .bind(data_json)
                .bind(author)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE content_entry SET draft_version_id = $1, updated_at_ms = $2 WHERE content_entry_id = $3",
                )
                .bind(version)
                .bind(now)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit_as(&mut tx, audit, format!("content_version:{version}")).await?;
                tx.commit().await?;
                Ok((entry, version))
            }

            async fn publish_content(
                &self,
                entry: ContentEntryId,
                version: ContentVersionId,
                notify: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                // Only the version that is still the draft: a save in between wins.
                let done = sqlx::query(
                    "UPDATE content_entry SET state = 'published', published_version_id = $1, \
                     published_at_ms = $2, updated_at_ms = $2 \
                     WHERE content_entry_id = $3 AND draft_version_id = $1",
                )
                .bind(version)
                .bind(audit.at_ms)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                if notify {
                    Self::insert_webhook_event(&mut tx, "content.published", entry, Some(version), audit.at_ms).await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn unpublish_content(
                &self,
                entry: ContentEntryId,
                notify: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                if !Self::apply_unpublish(&mut tx, entry, audit.at_ms).await? {
                    return Ok(false);
                }
                if notify {
                    Self::insert_webhook_event(&mut tx, "content.unpublished", entry, None, audit.at_ms).await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn add_content_schedule(
                &self,
                new: &$crate::store::NewContentSchedule,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<payquest_types::ContentScheduleId> {
                let mut tx = self.begin_write().await?;
                let id = sqlx::query_scalar::<_, payquest_types::ContentScheduleId>(
                    "INSERT INTO content_schedule (content_entry_id, action, content_version_id, due_at_ms, \
                     created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING content_schedule_id",
                )
                .bind(new.entry)
                .bind(new.action.as_str())
                .bind(new.version)
                .bind(new.due_at_ms)
                .bind(new.created_by)
                .bind(audit.at_ms)
                .fetch_one(&mut *tx)
                .await?;
                Self::insert_audit_as(&mut tx, audit, format!("content_schedule:{id}")).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn cancel_content_schedule(
                &self,
                entry: ContentEntryId,
                schedule: payquest_types::ContentScheduleId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE content_schedule SET state = 'cancelled', finished_at_ms = $1, claimed_until_ms = NULL \
                     WHERE content_schedule_id = $2 AND content_entry_id = $3 AND state = 'pending'",
                )
                .bind(audit.at_ms)
                .bind(schedule)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn content_schedules(
                &self,
                entry: ContentEntryId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ContentScheduleRecord>> {
                let sql = format!(
                    "{} WHERE c.content_entry_id = $1 ORDER BY c.content_schedule_id DESC LIMIT $2",
                    $crate::store::content_sql::SCHEDULE_SELECT
                );
                Ok(sqlx::query_as::<_, $crate::store::ContentScheduleRecord>(&sql)
                    .bind(entry)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn claim_content_schedules(
                &self,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ContentScheduleRecord>> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE content_schedule SET claimed_until_ms = $1 WHERE content_schedule_id IN ( \
                       SELECT content_schedule_id FROM content_schedule \
                       WHERE state = 'pending' AND due_at_ms <= $2 \
                         AND (claimed_until_ms IS NULL OR claimed_until_ms < $2) \
                       ORDER BY due_at_ms LIMIT $3{}) RETURNING content_schedule_id",
                    Self::CLAIM_LOCK
                );
                let ids = sqlx::query_scalar::<_, payquest_types::ContentScheduleId>(&sql)
                    .bind(now_ms + lease_ms)
                    .bind(now_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let sql = format!(
                    "{} WHERE c.content_schedule_id = $1",
                    $crate::store::content_sql::SCHEDULE_SELECT
                );
                let mut claimed = Vec::with_capacity(ids.len());
                for id in ids {
                    claimed.push(
                        sqlx::query_as::<_, $crate::store::ContentScheduleRecord>(&sql)
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?,
                    );
                }
                tx.commit().await?;
                claimed.sort_by_key(|c| (c.due_at_ms, c.content_schedule_id));
                Ok(claimed)
            }

            async fn finish_content_schedule(
                &self,
                claim: &$crate::store::ContentScheduleRecord,
                outcome: &$crate::store::ScheduleOutcome,
                notify: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::ScheduleOutcome;
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                let (state, mut reason) = match outcome {
                    ScheduleOutcome::Apply => ("done", None),
                    ScheduleOutcome::Skip(why) => ("done", Some(why.clone())),
                    ScheduleOutcome::Fail(why) => ("failed", Some(why.clone())),
                };
                let mut changed = false;
                if *outcome == ScheduleOutcome::Apply {
                    match (claim.action, claim.content_version_id) {
                        (payquest_types::ScheduleAction::Publish, Some(version)) => {
                            sqlx::query(
                                "UPDATE content_entry SET state = 'published', published_version_id = $1, \
                                 published_at_ms = $2, updated_at_ms = $2 WHERE content_entry_id = $3",
                            )
                            .bind(version)
                            .bind(now)
                            .bind(claim.content_entry_id)
                            .execute(&mut *tx)
                            .await?;
                            changed = true;
                        }
                        _ => {
                            changed = Self::apply_unpublish(&mut tx, claim.content_entry_id, now).await?;
                            if !changed {
                                reason = Some("the entry was not published".to_owned());
                            }
                        }
                    }
                }
                // The claim is the guard: a second worker, or a cancel, finds no row.
                let done = sqlx::query(
                    "UPDATE content_schedule SET state = $1, reason = $2, finished_at_ms = $3, claimed_until_ms = NULL \
                     WHERE content_schedule_id = $4 AND state = 'pending' AND claimed_until_ms = $5",
                )
                .bind(state)
                .bind(reason.as_deref())
                .bind(now)
                .bind(claim.content_schedule_id)
                .bind(claim.claimed_until_ms)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                if changed && notify {
                    let kind = match claim.action {
                        payquest_types::ScheduleAction::Publish => "content.published",
                        payquest_types::ScheduleAction::Unpublish => "content.unpublished",
                    };
                    Self::insert_webhook_event(&mut tx, kind, claim.content_entry_id, claim.content_version_id, now).await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn late_content_schedules(
                &self,
                now_ms: i64,
                late_ms: i64,
            ) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM content_schedule WHERE state = 'pending' AND due_at_ms < $1",
                )
                .bind(now_ms - late_ms)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn claim_webhook_events(
                &self,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::WebhookEventRecord>> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE webhook_event SET claimed_until_ms = $1 WHERE webhook_event_id IN ( \
                       SELECT webhook_event_id FROM webhook_event \
                       WHERE state = 'pending' AND next_attempt_at_ms <= $2 \
                         AND (claimed_until_ms IS NULL OR claimed_until_ms < $2) \
                       ORDER BY next_attempt_at_ms LIMIT $3{}) RETURNING webhook_event_id",
                    Self::CLAIM_LOCK
                );
                let ids = sqlx::query_scalar::<_, payquest_types::WebhookEventId>(&sql)
                    .bind(now_ms + lease_ms)
                    .bind(now_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let sql = format!(
                    "SELECT {} FROM webhook_event WHERE webhook_event_id = $1",
                    $crate::store::content_sql::WEBHOOK_COLUMNS
                );
                let mut claimed = Vec::with_capacity(ids.len());
                for id in ids {
                    claimed.push(
                        sqlx::query_as::<_, $crate::store::WebhookEventRecord>(&sql)
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?,
                    );
                }
                tx.commit().await?;
                claimed.sort_by_key(|e| e.webhook_event_id);
                Ok(claimed)
            }

            async fn record_webhook_attempt(
                &self,
                claim: &$crate::store::WebhookEventRecord,
                attempt: &$crate::store::WebhookAttempt,
                retry_at_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let (state, retries_left, delivered_at) = if attempt.delivered {
                    ("delivered", claim.retries_left, Some(attempt.at_ms))
                } else if claim.retries_left <= 1 {
                    ("failed", 0, None)
                } else {
                    ("pending", claim.retries_left - 1, None)
                };
                let done = sqlx::query(
                    "UPDATE webhook_event SET state = $1, attempts = attempts + 1, retries_left = $2, \
                     next_attempt_at_ms = $3, claimed_until_ms = NULL, last_outcome = $4, delivered_at_ms = $5 \
                     WHERE webhook_event_id = $6 AND state = 'pending' AND claimed_until_ms = $7",
                )
                .bind(state)
                .bind(retries_left)
                .bind(retry_at_ms)
                .bind(&attempt.outcome)
                .bind(delivered_at)
                .bind(claim.webhook_event_id)
                .bind(claim.claimed_until_ms)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO webhook_attempt (webhook_event_id, attempt, at_ms, status_code, outcome, duration_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(claim.webhook_event_id)
                .bind(claim.attempts + 1)
                .bind(attempt.at_ms)
                .bind(attempt.status_code.map(i32::from))
                .bind(&attempt.outcome)
                .bind(attempt.duration_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn redeliver_webhook_event(
                &self,
                event: payquest_types::WebhookEventId,
                retries: u32,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                // A pending event is already on its way; only a finished one is sent again.
                let done = sqlx::query(
                    "UPDATE webhook_event SET state = 'pending', retries_left = $1, next_attempt_at_ms = $2, \
                     claimed_until_ms = NULL, delivered_at_ms = NULL \
                     WHERE webhook_event_id = $3 AND state <> 'pending'",
                )
                .bind(i64::from(retries))
                .bind(audit.at_ms)
                .bind(event)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn webhook_events(
                &self,
                before: payquest_types::WebhookEventId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::WebhookEventRecord>> {
                let sql = format!(
                    "SELECT {} FROM webhook_event WHERE ($1 = 0 OR webhook_event_id < $1) \
                     ORDER BY webhook_event_id DESC LIMIT $2",
                    $crate::store::content_sql::WEBHOOK_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::WebhookEventRecord>(&sql)
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn insert_media(
                &self,
                media: &$crate::store::MediaRecord,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO media (sha256, content_type, byte_size, width, height, file_name, uploaded_by, created_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(&media.sha256)
                .bind(&media.content_type)
                .bind(media.byte_size)
                .bind(media.width)
                .bind(media.height)
                .bind(&media.file_name)
                .bind(media.uploaded_by)
                .bind(media.created_at_ms)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_media(&self, limit: u32) -> $crate::store::StoreResult<Vec<$crate::store::MediaRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::MediaRecord>(
                    "SELECT sha256, content_type, byte_size, width, height, file_name, uploaded_by, created_at_ms \
                     FROM media ORDER BY created_at_ms DESC, sha256 LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn unused_media(
                &self,
                before_ms: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::MediaRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::MediaRecord>(
                    "SELECT sha256, content_type, byte_size, width, height, file_name, uploaded_by, created_at_ms \
                     FROM media m WHERE created_at_ms < $1 AND NOT EXISTS (SELECT 1 FROM content_version v \
                       WHERE v.data_json LIKE '%' || m.sha256 || '%') \
                     ORDER BY created_at_ms, sha256 LIMIT $2",
                )
                .bind(before_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn delete_unused_media(
                &self,
                sha256: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let gone = sqlx::query(
                    "DELETE FROM media WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM content_version v \
                       WHERE v.data_json LIKE '%' || $1 || '%')",
                )
                .bind(sha256)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if gone {
                    Self::insert_audit(&mut tx, audit).await?;
                    tx.commit().await?;
                }
                Ok(gone)
            }

            async fn webhook_backlog(&self) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM webhook_event WHERE state = 'pending'",
                )
                .fetch_one(&self.pool)
                .await?)
            }

            async fn content_entry(
                &self,
                entry: ContentEntryId,
            ) -> $crate::store::StoreResult<Option<$crate::store::ContentEntryRecord>> {
                let sql = format!(
                    "SELECT {} FROM content_entry e WHERE e.content_entry_id = $1",
                    $crate::store::content_sql::ENTRY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ContentEntryRecord>(&sql)
                    .bind(entry)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn content_entry_by_slug(
                &self,
                content_type: payquest_types::ContentType,
                slug: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::ContentEntryRecord>> {
                let sql = format!(
                    "SELECT {} FROM content_entry e WHERE e.content_type = $1 AND e.slug = $2",
                    $crate::store::content_sql::ENTRY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ContentEntryRecord>(&sql)
                    .bind(content_type.as_str())
                    .bind(slug)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn content_entries(
                &self,
                content_type: Option<payquest_types::ContentType>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<($crate::store::ContentEntryRecord, String)>> {
                let sql = format!(
                    "SELECT {}, v.data_json FROM content_entry e \
                     JOIN content_version v ON v.content_version_id = e.draft_version_id \
                     WHERE ($1 = '' OR e.content_type = $1) ORDER BY e.updated_at_ms DESC, e.content_entry_id DESC LIMIT $2",
                    $crate::store::content_sql::ENTRY_COLUMNS
                );
                let rows = sqlx::query_as::<_, $crate::store::ContentEntryWithData>(&sql)
                    .bind(content_type.map_or("", |t| t.as_str()))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(|r| (r.entry, r.data_json)).collect())
            }

            async fn content_versions(
                &self,
                entry: ContentEntryId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ContentVersionRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::content_sql::VersionRow>(
                    "SELECT v.content_version_id, v.content_entry_id, v.data_json, v.author_id, \
                     s.email AS author_email, v.created_at_ms FROM content_version v \
                     JOIN staff_user s ON s.staff_user_id = v.author_id \
                     WHERE v.content_entry_id = $1 ORDER BY v.content_version_id DESC LIMIT $2",
                )
                .bind(entry)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
            }

            async fn content_version(
                &self,
                version: ContentVersionId,
            ) -> $crate::store::StoreResult<Option<$crate::store::ContentVersionRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::content_sql::VersionRow>(
                    "SELECT v.content_version_id, v.content_entry_id, v.data_json, v.author_id, \
                     s.email AS author_email, v.created_at_ms FROM content_version v \
                     JOIN staff_user s ON s.staff_user_id = v.author_id WHERE v.content_version_id = $1",
                )
                .bind(version)
                .fetch_optional(&self.pool)
                .await?
                .map(Into::into))
            }

            async fn published_content(
                &self,
                content_type: payquest_types::ContentType,
                slug: &str,
            ) -> $crate::store::StoreResult<Option<($crate::store::ContentEntryRecord, String, i64)>> {
                let sql = format!(
                    "SELECT {}, v.data_json FROM content_entry e \
                     JOIN content_version v ON v.content_version_id = e.published_version_id \
                     WHERE e.content_type = $1 AND e.slug = $2 AND e.state = 'published'",
                    $crate::store::content_sql::ENTRY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ContentEntryWithData>(&sql)
                    .bind(content_type.as_str())
                    .bind(slug)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| {
                        let at = r.entry.published_at_ms.unwrap_or(r.entry.updated_at_ms);
                        (r.entry, r.data_json, at)
                    }))
            }

            async fn published_contents(
                &self,
                content_type: payquest_types::ContentType,
                after_slug: &str,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<($crate::store::ContentEntryRecord, String, i64)>> {
                let sql = format!(
                    "SELECT {}, v.data_json FROM content_entry e \
                     JOIN content_version v ON v.content_version_id = e.published_version_id \
                     WHERE e.content_type = $1 AND e.state = 'published' AND e.slug > $2 \
                     ORDER BY e.slug LIMIT $3",
                    $crate::store::content_sql::ENTRY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ContentEntryWithData>(&sql)
                    .bind(content_type.as_str())
                    .bind(after_slug)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|r| {
                        let at = r.entry.published_at_ms.unwrap_or(r.entry.updated_at_ms);
                        (r.entry, r.data_json, at)
                    })
                    .collect())
            }
        }

        impl $store {
            /// Takes a published entry off the site; false if it was not published.
            async fn apply_unpublish(
                conn: &mut <$db as sqlx::Database>::Connection,
                entry: ContentEntryId,
                now: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE content_entry SET state = 'draft', published_version_id = NULL, \
                     published_at_ms = NULL, updated_at_ms = $1 \
                     WHERE content_entry_id = $2 AND state = 'published'",
                )
                .bind(now)
                .bind(entry)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            /// The outbox row of a publish or unpublish, due at once.
            async fn insert_webhook_event(
                conn: &mut <$db as sqlx::Database>::Connection,
                kind: &str,
                entry: ContentEntryId,
                version: Option<ContentVersionId>,
                now: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO webhook_event (kind, content_entry_id, content_type, slug, content_version_id, \
                     retries_left, next_attempt_at_ms, created_at_ms) \
                     SELECT $1, content_entry_id, content_type, slug, $2, $3, $4, $4 \
                     FROM content_entry WHERE content_entry_id = $5",
                )
                .bind(kind)
                .bind(version)
                .bind(i64::from($crate::limits::WEBHOOK_RETRIES))
                .bind(now)
                .bind(entry)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_content;
