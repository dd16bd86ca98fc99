//! CMS entries and versions, shared SQL for both backends (see `sql.rs`).
//! Versions are only ever inserted (the database refuses anything else);
//! saving, publishing and unpublishing move the entry's pointers.

use payquest_types::{ContentEntryId, ContentVersionId, StaffUserId};

use super::ContentVersionRecord;

pub(super) const ENTRY_COLUMNS: &str = "e.content_entry_id, e.content_type, e.slug, e.state, \
     e.draft_version_id, e.published_version_id, e.published_at_ms, e.created_at_ms, e.updated_at_ms";

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
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn unpublish_content(
                &self,
                entry: ContentEntryId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.transition_audited(
                    "UPDATE content_entry SET state = 'draft', published_version_id = NULL, \
                     published_at_ms = NULL, updated_at_ms = $1 \
                     WHERE content_entry_id = $2 AND state = 'published'",
                    entry,
                    audit,
                )
                .await
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
    };
}

pub(crate) use impl_content;
