//! The SQL both backends share, and the macro that turns it into a `Store`
//! implementation for a concrete sqlx driver. Both engines accept `$n`
//! parameters, `RETURNING` and `ON CONFLICT`, so one text serves both; where
//! they differ, the backend struct supplies the piece (`begin_write`).
//!
//! A macro rather than a generic impl: sqlx's generic bounds make async trait
//! futures hard to prove `Send`, while concrete pools compile plainly.

use payquest_types::Role;
use payquest_types::{AuditId, RoleRequestId, StaffUserId};

use super::{parse_roles, AuditRow, StaffRecord, StoreResult};

pub(super) const STAFF_COLUMNS: &str = "staff_user_id, email, display_name, password_hash, \
    must_change_password, totp_secret, totp_confirmed, totp_last_step, session_epoch, \
    disabled, created_at_ms";

#[derive(sqlx::FromRow)]
pub(super) struct StaffRow {
    pub staff_user_id: StaffUserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub totp_secret: Option<String>,
    pub totp_confirmed: bool,
    pub totp_last_step: Option<i64>,
    pub session_epoch: i64,
    pub disabled: bool,
    pub created_at_ms: i64,
}

impl StaffRow {
    pub(super) fn with_roles(self, roles: Vec<String>) -> StoreResult<StaffRecord> {
        Ok(StaffRecord {
            staff_user_id: self.staff_user_id,
            email: self.email,
            display_name: self.display_name,
            password_hash: self.password_hash,
            must_change_password: self.must_change_password,
            totp_secret: self.totp_secret,
            totp_confirmed: self.totp_confirmed,
            totp_last_step: self.totp_last_step,
            session_epoch: self.session_epoch,
            disabled: self.disabled,
            created_at_ms: self.created_at_ms,
            roles: parse_roles(roles)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditEventRow {
    pub audit_event_id: AuditId,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub ip: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl From<AuditEventRow> for AuditRow {
    fn from(r: AuditEventRow) -> Self {
        AuditRow {
            audit_event_id: r.audit_event_id,
            at_ms: r.at_ms,
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            ip: r.ip,
            before_json: r.before_json,
            after_json: r.after_json,
        }
    }
}

pub(super) fn role_names(roles: &[Role]) -> Vec<&'static str> {
    let mut names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[derive(sqlx::FromRow)]
pub(super) struct RoleRequestRow {
    pub staff_role_request_id: RoleRequestId,
    pub staff_user_id: StaffUserId,
    pub email: String,
    pub roles_json: String,
    pub requested_by: StaffUserId,
    pub requested_by_email: String,
    pub requested_at_ms: i64,
    #[sqlx(try_from = "String")]
    pub state: payquest_types::RoleRequestState,
}

impl RoleRequestRow {
    pub(super) fn into_record(self) -> StoreResult<super::RoleRequestRecord> {
        Ok(super::RoleRequestRecord {
            staff_role_request_id: self.staff_role_request_id,
            staff_user_id: self.staff_user_id,
            email: self.email,
            roles: roles_from_json(&self.roles_json)?,
            requested_by: self.requested_by,
            requested_by_email: self.requested_by_email,
            requested_at_ms: self.requested_at_ms,
            state: self.state,
        })
    }
}

pub(super) fn roles_from_json(raw: &str) -> StoreResult<Vec<Role>> {
    let names: Vec<String> =
        serde_json::from_str(raw).map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
    parse_roles(names)
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The constraint a write broke: its name where the database reports one
/// (PostgreSQL), else what SQLite's message names (a named constraint's
/// name, an unnamed CHECK's expression).
pub(super) fn violated_constraint(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    if let Some(name) = db.constraint() {
        return Some(name.to_owned());
    }
    db.message()
        .split_once("constraint failed: ")
        .map(|(_, what)| what.trim().to_owned())
}

/// `batch_approval`'s CHECK that the maker is not the checker, as each
/// backend names it (the `payouts::four_eyes` tests check both names).
pub(super) const MAKER_IS_NOT_CHECKER: [&str; 2] =
    ["batch_approval_check", "checker_id <> maker_id"];

/// Implements `Store` for `$store`, whose field `pool` is a `sqlx::Pool<$db>`
/// and which has `async fn begin_write(&self) -> sqlx::Result<Transaction<'static, $db>>`.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn roles_of(
                conn: &mut <$db as sqlx::Database>::Connection,
                staff_user_id: StaffUserId,
            ) -> $crate::store::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar::<_, String>(
                    "SELECT role FROM staff_role WHERE staff_user_id = $1",
                )
                .bind(staff_user_id)
                .fetch_all(&mut *conn)
                .await?)
            }

            /// One row of `sql` (the id bound as `$1`), mapped to its record.
            async fn find_one<R, T>(&self, sql: &str, id: impl Into<i64> + Send) -> $crate::store::StoreResult<Option<T>>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
                T: From<R>,
            {
                Ok(sqlx::query_as::<_, R>(sql)
                    .bind(id.into())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(Into::into))
            }

            /// A keyset page: `sql` binds the last id seen as `$1` and the page size as `$2`.
            async fn find_page<R, T>(&self, sql: &str, after: impl Into<i64> + Send, limit: u32) -> $crate::store::StoreResult<Vec<T>>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
                T: From<R>,
            {
                Ok(sqlx::query_as::<_, R>(sql)
                    .bind(after.into())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            /// The audit record of a row this transaction just created, naming that row.
            async fn insert_audit_as(
                conn: &mut <$db as sqlx::Database>::Connection,
                audit: &$crate::audit::AuditRecord,
                subject: String,
            ) -> $crate::store::StoreResult<()> {
                let mut audit = audit.clone();
                audit.subject = subject;
                Self::insert_audit(conn, &audit).await
            }

            async fn insert_audit(
                conn: &mut <$db as sqlx::Database>::Connection,
                a: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                Self::insert_audits(conn, std::slice::from_ref(a)).await
            }

            /// `insert_audit` for many records, one statement.
            async fn insert_audits(
                conn: &mut <$db as sqlx::Database>::Connection,
                records: &[$crate::audit::AuditRecord],
            ) -> $crate::store::StoreResult<()> {
                if records.is_empty() {
                    return Ok(());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO audit_event (at_ms, actor_user_id, actor, action, subject, ip, before_json, after_json) ",
                );
                q.push_values(records, |mut b, a| {
                    b.push_bind(a.at_ms)
                        .push_bind(a.actor.user_id)
                        .push_bind(&a.actor.label)
                        .push_bind(a.action)
                        .push_bind(&a.subject)
                        .push_bind(&a.actor.ip)
                        .push_bind(&a.before_json)
                        .push_bind(&a.after_json);
                });
                q.build().execute(&mut *conn).await?;
                Ok(())
            }

            async fn insert_role_request(
                conn: &mut <$db as sqlx::Database>::Connection,
                staff_user_id: StaffUserId,
                roles: &[payquest_types::Role],
                requested_by: StaffUserId,
                now_ms: i64,
            ) -> $crate::store::StoreResult<RoleRequestId> {
                let names = serde_json::to_string(&$crate::store::sql::role_names(roles))
                    .map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                sqlx::query_scalar::<_, RoleRequestId>(
                    "INSERT INTO staff_role_request (staff_user_id, roles_json, requested_by, \
                     requested_at_ms) VALUES ($1, $2, $3, $4) RETURNING staff_role_request_id",
                )
                .bind(staff_user_id)
                .bind(names)
                .bind(requested_by)
                .bind(now_ms)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    if $crate::store::sql::is_unique_violation(&e) {
                        $crate::store::StoreError::Conflict(
                            "a role change for this person is already waiting for approval".into(),
                        )
                    } else {
                        e.into()
                    }
                })
            }

            async fn role_requests_where(
                &self,
                clause: &str,
                bind: impl Into<i64> + Send,
            ) -> $crate::store::StoreResult<Vec<$crate::store::RoleRequestRecord>> {
                let sql = format!(
                    "SELECT r.staff_role_request_id, r.staff_user_id, t.email, r.roles_json, \
                     r.requested_by, q.email AS requested_by_email, r.requested_at_ms, r.state \
                     FROM staff_role_request r \
                     JOIN staff_user t ON t.staff_user_id = r.staff_user_id \
                     JOIN staff_user q ON q.staff_user_id = r.requested_by \
                     WHERE {clause}"
                );
                let rows = sqlx::query_as::<_, $crate::store::sql::RoleRequestRow>(&sql)
                    .bind(bind.into())
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map($crate::store::sql::RoleRequestRow::into_record).collect()
            }

            async fn replace_roles(
                conn: &mut <$db as sqlx::Database>::Connection,
                staff_user_id: StaffUserId,
                roles: &[payquest_types::Role],
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM staff_role WHERE staff_user_id = $1")
                    .bind(staff_user_id)
                    .execute(&mut *conn)
                    .await?;
                for role in $crate::store::sql::role_names(roles) {
                    sqlx::query("INSERT INTO staff_role (staff_user_id, role) VALUES ($1, $2)")
                        .bind(staff_user_id)
                        .bind(role)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            async fn staff_where(
                &self,
                clause: &str,
                bind: impl for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send,
            ) -> $crate::store::StoreResult<Option<$crate::store::StaffRecord>> {
                let mut conn = self.pool.acquire().await?;
                let sql = format!(
                    "SELECT {} FROM staff_user WHERE {clause}",
                    $crate::store::sql::STAFF_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::sql::StaffRow>(&sql)
                    .bind(bind)
                    .fetch_optional(&mut *conn)
                    .await?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let roles = Self::roles_of(&mut conn, row.staff_user_id).await?;
                        row.with_roles(roles).map(Some)
                    }
                }
            }

            /// Runs one audited UPDATE of a staff row; NotFound when no row matched.
            /// A guarded state change of one row, with its audit record, in one
            /// transaction: `sql` binds the audit time as `$1` and the row's id
            /// as `$2`. False if the guard matched no row.
            async fn transition_audited(
                &self,
                sql: &str,
                id: impl Into<i64> + Send,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(sql)
                    .bind(audit.at_ms)
                    .bind(id.into())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn update_staff_audited(
                &self,
                sql: &str,
                binds: (i64, StaffUserId),
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(sql)
                    .bind(binds.0)
                    .bind(binds.1)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::NotFound("staff user"));
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn pipeline_counts(&self) -> $crate::store::StoreResult<$crate::store::PipelineCounts> {
                // Each count reads a state index (activities: the partial
                // index of each state, on PostgreSQL). Activities and
                // payout items are counted in the states they still move out
                // of: their finished rows are history that grows without
                // end (counting 10 M validated activities took 2 s a round).
                let by_state = sqlx::query_as::<_, (String, String, i64)>(
                    "SELECT 'activity', 'received', COUNT(*) FROM activity WHERE status = 'received' \
                     UNION ALL SELECT 'activity', 'validating', COUNT(*) FROM activity WHERE status = 'validating' \
                     UNION ALL SELECT 'activity', 'needs_review', COUNT(*) FROM activity WHERE status = 'needs_review' \
                     UNION ALL SELECT 'payout_item', state, COUNT(*) FROM payout_item \
                       WHERE state IN ('eligible', 'batched', 'approved', 'submitted', 'confirmed') GROUP BY state \
                     UNION ALL SELECT 'payout_batch', state, COUNT(*) FROM payout_batch GROUP BY state \
                     UNION ALL SELECT 'payout_chunk', state, COUNT(*) FROM payout_chunk GROUP BY state",
                )
                .fetch_all(&self.pool)
                .await?;
                let findings_open = sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM recon_finding WHERE resolved_at_ms IS NULL",
                )
                .fetch_one(&self.pool)
                .await?;
                let oldest_unreconciled_at_ms = sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT MIN(confirmed_at_ms) FROM payout_chunk WHERE state = 'confirmed'",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::store::PipelineCounts {
                    by_state,
                    findings_open,
                    oldest_unreconciled_at_ms,
                })
            }

            async fn ensure_partitions(
                &self,
                now_ms: i64,
                months_ahead: u32,
            ) -> $crate::store::StoreResult<Vec<String>> {
                self.create_partitions(now_ms, months_ahead).await
            }

            async fn apply_retention(
                &self,
                cutoffs: &$crate::store::RetentionCutoffs,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::RetentionReport> {
                let mut report = $crate::store::RetentionReport::default();
                let mut tx = self.begin_write().await?;
                if let Some(before) = cutoffs.evidence_before_ms {
                    // Only decided activities: one still being validated or
                    // reviewed needs its evidence.
                    report.activity_evidence_cleared = sqlx::query(
                        "UPDATE activity SET evidence_json = NULL WHERE received_at_ms < $1 \
                         AND evidence_json IS NOT NULL AND status IN ('validated', 'rejected')",
                    )
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    report.attempt_evidence_cleared = sqlx::query(
                        "UPDATE activity_attempt SET evidence_json = NULL WHERE at_ms < $1 \
                         AND evidence_json IS NOT NULL AND activity_id IN (SELECT activity_id \
                         FROM activity WHERE status IN ('validated', 'rejected'))",
                    )
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                if let Some(before) = cutoffs.webhooks_before_ms {
                    let done = "state IN ('delivered', 'failed') AND created_at_ms < $1";
                    report.webhook_attempts_deleted = sqlx::query(&format!(
                        "DELETE FROM webhook_attempt WHERE webhook_event_id IN \
                         (SELECT webhook_event_id FROM webhook_event WHERE {done})"
                    ))
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    report.webhook_events_deleted =
                        sqlx::query(&format!("DELETE FROM webhook_event WHERE {done}"))
                            .bind(before)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                }
                report.nonces_deleted = sqlx::query("DELETE FROM siwe_nonce WHERE expires_at_ms < $1")
                    .bind(cutoffs.expired_before_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                report.sessions_deleted =
                    sqlx::query("DELETE FROM web_session WHERE expires_at_ms < $1")
                        .bind(cutoffs.expired_before_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if report.is_empty() {
                    // Nothing went: nothing to record (every replica runs this).
                    return Ok(report);
                }
                let audit = audit.clone().after(&report);
                Self::insert_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(report)
            }

            async fn waiting_counts(
                &self,
                viewer: StaffUserId,
                cap: i64,
            ) -> $crate::store::StoreResult<$crate::store::WaitingCounts> {
                // Each count reads its index and stops at `cap`.
                Ok(sqlx::query_as::<_, $crate::store::WaitingCounts>(
                    "SELECT \
                       (SELECT COUNT(*) FROM (SELECT 1 FROM activity \
                          WHERE status = 'needs_review' LIMIT $2) r) AS reviews, \
                       (SELECT COUNT(*) FROM (SELECT 1 FROM payout_batch b \
                          WHERE b.state = 'pending_approval' AND b.maker_id <> $1 \
                            AND NOT EXISTS (SELECT 1 FROM batch_approval a \
                              WHERE a.payout_batch_id = b.payout_batch_id AND a.checker_id = $1 \
                                AND a.content_hash = b.content_hash) LIMIT $2) p) AS to_approve, \
                       (SELECT COUNT(*) FROM (SELECT 1 FROM payout_batch \
                          WHERE state = 'approved' LIMIT $2) d) AS to_disburse, \
                       (SELECT COUNT(*) FROM (SELECT 1 FROM recon_finding \
                          WHERE resolved_at_ms IS NULL LIMIT $2) f) AS findings_open, \
                       (SELECT COUNT(*) FROM (SELECT 1 FROM webhook_event \
                          WHERE state = 'failed' LIMIT $2) w) AS failed_deliveries, \
                       (SELECT COUNT(*) FROM (SELECT 1 FROM staff_role_request \
                          WHERE state = 'pending' AND requested_by <> $1 AND staff_user_id <> $1 \
                          LIMIT $2) g) AS role_requests",
                )
                .bind(viewer)
                .bind(cap)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn count_staff(&self) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM staff_user")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn create_staff(
                &self,
                new: &$crate::store::NewStaff<'_>,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::StaffRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO staff_user (email, display_name, password_hash, \
                     must_change_password, totp_confirmed, session_epoch, disabled, \
                     created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, FALSE, 0, FALSE, $5, $5) RETURNING {}",
                    $crate::store::sql::STAFF_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::sql::StaffRow>(&sql)
                    .bind(new.email)
                    .bind(new.display_name)
                    .bind(new.password_hash)
                    .bind(new.must_change_password)
                    .bind(new.now_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| {
                        if $crate::store::sql::is_unique_violation(&e) {
                            $crate::store::StoreError::Conflict(
                                "an account with that email already exists".into(),
                            )
                        } else {
                            e.into()
                        }
                    })?;
                for role in $crate::store::sql::role_names(new.roles) {
                    sqlx::query("INSERT INTO staff_role (staff_user_id, role) VALUES ($1, $2)")
                        .bind(row.staff_user_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some((requested_by, wanted)) = new.role_request {
                    Self::insert_role_request(&mut tx, row.staff_user_id, wanted, requested_by, new.now_ms)
                        .await?;
                }
                let mut audit = audit.clone();
                audit.subject = format!("staff:{}", row.staff_user_id);
                Self::insert_audit(&mut tx, &audit).await?;
                let roles = Self::roles_of(&mut tx, row.staff_user_id).await?;
                tx.commit().await?;
                row.with_roles(roles)
            }

            async fn staff_by_email(
                &self,
                email: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::StaffRecord>> {
                self.staff_where("email = $1", email.to_owned()).await
            }

            async fn staff_by_id(
                &self,
                staff_user_id: StaffUserId,
            ) -> $crate::store::StoreResult<Option<$crate::store::StaffRecord>> {
                self.staff_where("staff_user_id = $1", staff_user_id).await
            }

            async fn list_staff(
                &self,
                after_id: StaffUserId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StaffRecord>> {
                let mut conn = self.pool.acquire().await?;
                let sql = format!(
                    "SELECT {} FROM staff_user WHERE staff_user_id > $1 \
                     ORDER BY staff_user_id LIMIT $2",
                    $crate::store::sql::STAFF_COLUMNS
                );
                let rows = sqlx::query_as::<_, $crate::store::sql::StaffRow>(&sql)
                    .bind(after_id)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                let Some(last) = rows.last().map(|r| r.staff_user_id) else {
                    return Ok(Vec::new());
                };
                let pairs = sqlx::query_as::<_, (StaffUserId, String)>(
                    "SELECT staff_user_id, role FROM staff_role \
                     WHERE staff_user_id > $1 AND staff_user_id <= $2",
                )
                .bind(after_id)
                .bind(last)
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|row| {
                        let roles = pairs
                            .iter()
                            .filter(|(id, _)| *id == row.staff_user_id)
                            .map(|(_, r)| r.clone())
                            .collect();
                        row.with_roles(roles)
                    })
                    .collect()
            }

            async fn set_roles(
                &self,
                staff_user_id: StaffUserId,
                roles: &[payquest_types::Role],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let touched = sqlx::query(
                    "UPDATE staff_user SET updated_at_ms = $1 WHERE staff_user_id = $2",
                )
                .bind(audit.at_ms)
                .bind(staff_user_id)
                .execute(&mut *tx)
                .await?;
                if touched.rows_affected() != 1 {
                    return Err($crate::store::StoreError::NotFound("staff user"));
                }
Self::replace_roles(&mut tx, staff_user_id, roles).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn request_roles(
                &self,
                staff_user_id: StaffUserId,
                roles: &[payquest_types::Role],
                requested_by: StaffUserId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<RoleRequestId> {
                let mut tx = self.begin_write().await?;
                let id =
                    Self::insert_role_request(&mut tx, staff_user_id, roles, requested_by, audit.at_ms)
                        .await?;
                let mut audit = audit.clone();
                audit.subject = format!("role_request:{id}");
                Self::insert_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn role_request(
                &self,
                request_id: RoleRequestId,
            ) -> $crate::store::StoreResult<Option<$crate::store::RoleRequestRecord>> {
                Ok(self
                    .role_requests_where("r.staff_role_request_id = $1", request_id)
                    .await?
                    .pop())
            }

            async fn pending_role_requests(
                &self,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::RoleRequestRecord>> {
                self.role_requests_where(
                    "r.state = 'pending' ORDER BY r.staff_role_request_id LIMIT $1",
                    i64::from(limit),
                )
                .await
            }

            async fn pending_role_request_of(
                &self,
                staff_user_id: StaffUserId,
            ) -> $crate::store::StoreResult<Option<$crate::store::RoleRequestRecord>> {
                Ok(self
                    .role_requests_where("r.staff_user_id = $1 AND r.state = 'pending'", staff_user_id)
                    .await?
                    .pop())
            }

            async fn decide_role_request(
                &self,
                request_id: RoleRequestId,
                decided_by: StaffUserId,
                approve: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let state = if approve { "approved" } else { "rejected" };
                let decided = sqlx::query_as::<_, (StaffUserId, String)>(
                    "UPDATE staff_role_request SET state = $1, decided_by = $2, decided_at_ms = $3 \
                     WHERE staff_role_request_id = $4 AND state = 'pending' \
                     RETURNING staff_user_id, roles_json",
                )
                .bind(state)
                .bind(decided_by)
                .bind(audit.at_ms)
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((staff_user_id, roles_json)) = decided else {
                    return Ok(false);
                };
                if approve {
                    let roles = $crate::store::sql::roles_from_json(&roles_json)?;
                    let touched = sqlx::query(
                        "UPDATE staff_user SET updated_at_ms = $1 WHERE staff_user_id = $2",
                    )
                    .bind(audit.at_ms)
                    .bind(staff_user_id)
                    .execute(&mut *tx)
                    .await?;
                    if touched.rows_affected() != 1 {
                        return Err($crate::store::StoreError::NotFound("staff user"));
                    }
                    Self::replace_roles(&mut tx, staff_user_id, &roles).await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_disabled(
                &self,
                staff_user_id: StaffUserId,
                disabled: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let sql = if disabled {
                    "UPDATE staff_user SET disabled = TRUE, session_epoch = session_epoch + 1, \
                     updated_at_ms = $1 WHERE staff_user_id = $2"
                } else {
                    "UPDATE staff_user SET disabled = FALSE, updated_at_ms = $1 \
                     WHERE staff_user_id = $2"
                };
                self.update_staff_audited(sql, (audit.at_ms, staff_user_id), audit)
                    .await
            }

            async fn bump_session_epoch(
                &self,
                staff_user_id: StaffUserId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                self.update_staff_audited(
                    "UPDATE staff_user SET session_epoch = session_epoch + 1, updated_at_ms = $1 \
                     WHERE staff_user_id = $2",
                    (audit.at_ms, staff_user_id),
                    audit,
                )
                .await
            }

            async fn set_password(
                &self,
                staff_user_id: StaffUserId,
                password_hash: &str,
                must_change_password: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE staff_user SET password_hash = $1, must_change_password = $2, \
                     updated_at_ms = $3 WHERE staff_user_id = $4",
                )
                .bind(password_hash)
                .bind(must_change_password)
                .bind(audit.at_ms)
                .bind(staff_user_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::NotFound("staff user"));
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_pending_totp(
                &self,
                staff_user_id: StaffUserId,
                secret_base32: &str,
            ) -> $crate::store::StoreResult<()> {
                // Never replaces a pending secret: two pages racing to start
                // enrolment must show the same one.
                let done = sqlx::query(
                    "UPDATE staff_user SET totp_secret = $1 \
                     WHERE staff_user_id = $2 AND totp_confirmed = FALSE AND totp_secret IS NULL",
                )
                .bind(secret_base32)
                .bind(staff_user_id)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Conflict(
                        "an authenticator secret exists already".into(),
                    ));
                }
                Ok(())
            }

            async fn sealed_values(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SealedValue>> {
                use $crate::store::{SealedColumn, SealedValue};
                let mut out: Vec<SealedValue> = sqlx::query_as::<_, (i64, String)>(
                    "SELECT staff_user_id, totp_secret FROM staff_user WHERE totp_secret IS NOT NULL \
                     ORDER BY staff_user_id",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|(id, stored)| SealedValue { column: SealedColumn::TotpSecret, id: id.to_string(), stored })
                .collect();
                out.extend(
                    sqlx::query_as::<_, (String, String)>("SELECT kid, private_pkcs8 FROM signing_key ORDER BY kid")
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(|(id, stored)| SealedValue { column: SealedColumn::SigningKey, id, stored }),
                );
                Ok(out)
            }

            async fn replace_sealed(
                &self,
                value: &$crate::store::SealedValue,
                resealed: &str,
            ) -> $crate::store::StoreResult<bool> {
                let done = match value.column {
                    $crate::store::SealedColumn::TotpSecret => {
                        let id: i64 = value.id.parse().map_err(|_| $crate::store::StoreError::NotFound("staff user"))?;
                        sqlx::query(
                            "UPDATE staff_user SET totp_secret = $1 WHERE staff_user_id = $2 AND totp_secret = $3",
                        )
                        .bind(resealed)
                        .bind(id)
                        .bind(&value.stored)
                        .execute(&self.pool)
                        .await?
                    }
                    $crate::store::SealedColumn::SigningKey => {
                        sqlx::query(
                            "UPDATE signing_key SET private_pkcs8 = $1 WHERE kid = $2 AND private_pkcs8 = $3",
                        )
                        .bind(resealed)
                        .bind(&value.id)
                        .bind(&value.stored)
                        .execute(&self.pool)
                        .await?
                    }
                };
                Ok(done.rows_affected() == 1)
            }

            async fn confirm_totp(
                &self,
                staff_user_id: StaffUserId,
                step: i64,
                recovery_code_hashes: &[String],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE staff_user SET totp_confirmed = TRUE, totp_last_step = $1, \
                     updated_at_ms = $2 \
                     WHERE staff_user_id = $3 AND totp_confirmed = FALSE \
                     AND totp_secret IS NOT NULL",
                )
                .bind(step)
                .bind(audit.at_ms)
                .bind(staff_user_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM recovery_code WHERE staff_user_id = $1")
                    .bind(staff_user_id)
                    .execute(&mut *tx)
                    .await?;
                for hash in recovery_code_hashes {
                    sqlx::query(
                        "INSERT INTO recovery_code (staff_user_id, code_hash) VALUES ($1, $2)",
                    )
                    .bind(staff_user_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn accept_totp_step(
                &self,
                staff_user_id: StaffUserId,
                step: i64,
            ) -> $crate::store::StoreResult<bool> {
                // One guarded write: two requests racing with the same code
                // cannot both see an older step.
                let done = sqlx::query(
                    "UPDATE staff_user SET totp_last_step = $1 WHERE staff_user_id = $2 \
                     AND totp_confirmed = TRUE \
                     AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step)
                .bind(staff_user_id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_recovery_code(
                &self,
                staff_user_id: StaffUserId,
                code_hash: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE recovery_code SET used_at_ms = $1 \
                     WHERE staff_user_id = $2 AND code_hash = $3 AND used_at_ms IS NULL",
                )
                .bind(now_ms)
                .bind(staff_user_id)
                .bind(code_hash)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn unused_recovery_codes(
                &self,
                staff_user_id: StaffUserId,
            ) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM recovery_code \
                     WHERE staff_user_id = $1 AND used_at_ms IS NULL",
                )
                .bind(staff_user_id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn append_audit(
                &self,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut conn = self.pool.acquire().await?;
                Self::insert_audit(&mut conn, audit).await
            }

            async fn list_audit(
                &self,
                before_id: Option<AuditId>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::AuditRow>> {
                let rows = sqlx::query_as::<_, $crate::store::sql::AuditEventRow>(
                    "SELECT audit_event_id, at_ms, actor, action, subject, ip, before_json, \
                     after_json FROM audit_event WHERE audit_event_id < $1 \
                     ORDER BY audit_event_id DESC LIMIT $2",
                )
                .bind(before_id.map_or(i64::MAX, AuditId::get))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn session_load(
                &self,
                session_id: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar::<_, String>(
                    "SELECT data_json FROM web_session WHERE session_id = $1 \
                     AND expires_at_ms > $2",
                )
                .bind(session_id)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn session_create(
                &self,
                session_id: &str,
                data_json: &str,
                expires_at_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO web_session (session_id, data_json, expires_at_ms) \
                     VALUES ($1, $2, $3) ON CONFLICT (session_id) DO NOTHING",
                )
                .bind(session_id)
                .bind(data_json)
                .bind(expires_at_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn session_save(
                &self,
                session_id: &str,
                data_json: &str,
                expires_at_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO web_session (session_id, data_json, expires_at_ms) \
                     VALUES ($1, $2, $3) ON CONFLICT (session_id) DO UPDATE \
                     SET data_json = excluded.data_json, expires_at_ms = excluded.expires_at_ms",
                )
                .bind(session_id)
                .bind(data_json)
                .bind(expires_at_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session_delete(&self, session_id: &str) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM web_session WHERE session_id = $1")
                    .bind(session_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_delete_expired(
                &self,
                now_ms: i64,
            ) -> $crate::store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM web_session WHERE expires_at_ms <= $1")
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(super) use impl_store;
