//! Payout batches and approvals; shared SQL for both backends (see `sql.rs`).
//! The approval that completes a batch's count reserves every campaign's
//! budget for every chunk in the same transaction that records it, so a
//! batch is approved with its money set aside, or not at all.

pub(super) const BATCH_SELECT: &str = "\
    SELECT b.payout_batch_id, b.maker_id, s.email AS maker_email, b.state, b.note, b.content_hash, \
      b.revision, b.item_count, b.total_minor, b.approvals_needed, \
      (SELECT COUNT(*) FROM batch_approval a WHERE a.payout_batch_id = b.payout_batch_id \
         AND a.content_hash = b.content_hash) AS approvals, \
      (SELECT COUNT(*) FROM payout_item i WHERE i.payout_batch_id = b.payout_batch_id \
         AND i.state = 'failed') AS failed_items, \
      b.decision_reason, b.created_at_ms, b.submitted_at_ms, b.approved_at_ms, b.disbursing_at_ms, \
      b.finished_at_ms, b.withdraw_requested_by, w.email AS withdraw_requested_by_email, \
      b.withdraw_reason, b.withdraw_requested_at_ms, \
      (SELECT COUNT(*) FROM payout_chunk k WHERE k.payout_batch_id = b.payout_batch_id \
         AND k.state <> 'planned') AS signed_chunks \
    FROM payout_batch b JOIN staff_user s ON s.staff_user_id = b.maker_id \
      LEFT JOIN staff_user w ON w.staff_user_id = b.withdraw_requested_by";

pub(super) const ITEM_SELECT: &str = "\
    SELECT p.payout_item_id, p.activity_id, p.campaign_id, c.name AS campaign_name, p.quest_id, \
      q.name AS quest_name, g.wallet, p.amount_minor, p.state, p.created_at_ms, p.payout_chunk_id \
    FROM payout_item p JOIN campaign c ON c.campaign_id = p.campaign_id \
      JOIN quest q ON q.quest_id = p.quest_id JOIN gamer g ON g.gamer_id = p.gamer_id";

/// The filter's conditions on `payout_item p`, binding `$1`..`$5`.
pub(super) const FILTER_WHERE: &str = "\
    p.state = 'eligible' AND ($1 IS NULL OR p.campaign_id = $1) AND ($2 IS NULL OR p.quest_id = $2) \
    AND ($3 IS NULL OR p.created_at_ms >= $3) AND ($4 IS NULL OR p.created_at_ms < $4) \
    AND ($5 IS NULL OR p.amount_minor >= $5)";

/// A batch waiting for approval, as the approval reads it (row locked).
#[derive(sqlx::FromRow)]
pub(super) struct PendingBatch {
    pub maker_id: payquest_types::StaffUserId,
    pub content_hash: String,
    pub approvals_needed: i64,
    pub total_minor: i64,
}

/// Implements `PayoutStore` for `$store` (which defines `CLAIM_LOCK`, and
/// whose ledger macro provides `reserve_in`).
macro_rules! impl_payouts {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Recomputes a batch's count, total, approvals needed and
            /// contents hash from its items; a new hash voids earlier approvals.
            async fn refresh_batch(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
                two_checkers_above_minor: i64,
            ) -> $crate::store::StoreResult<(i64, i64, String)> {
                let rows = sqlx::query_as::<_, (PayoutItemId, ActivityId, CampaignId, String, i64)>(
                    "SELECT p.payout_item_id, p.activity_id, p.campaign_id, g.wallet, p.amount_minor \
                     FROM payout_item p JOIN gamer g ON g.gamer_id = p.gamer_id \
                     WHERE p.payout_batch_id = $1 ORDER BY p.payout_item_id",
                )
                .bind(payout_batch_id)
                .fetch_all(&mut *conn)
                .await?;
                let hash = $crate::payouts::content_hash(payout_batch_id, &rows);
                let count = rows.len() as i64;
                let total: i64 = rows.iter().map(|r| r.4).sum();
                let needed: i64 = if total > two_checkers_above_minor { 2 } else { 1 };
                sqlx::query(
                    "UPDATE payout_batch SET item_count = $1, total_minor = $2, approvals_needed = $3, \
                     content_hash = $4, revision = revision + 1 WHERE payout_batch_id = $5",
                )
                .bind(count)
                .bind(total)
                .bind(needed)
                .bind(&hash)
                .bind(payout_batch_id)
                .execute(&mut *conn)
                .await?;
                Ok((count, total, hash))
            }

            /// Locks a batch waiting for approval (its row, on PostgreSQL, so
            /// approvals of one batch queue) and reads what the approval needs.
            async fn lock_pending_batch(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<Option<$crate::store::payout_sql::PendingBatch>> {
                Ok(sqlx::query_as::<_, $crate::store::payout_sql::PendingBatch>(
                    "UPDATE payout_batch SET revision = revision WHERE payout_batch_id = $1 \
                     AND state = 'pending_approval' \
                     RETURNING maker_id, content_hash, approvals_needed, total_minor",
                )
                .bind(payout_batch_id)
                .fetch_optional(&mut *conn)
                .await?)
            }

            /// How many checkers the batch needs: two when the maker's batches
            /// approved in the risk window, with this one, pass the threshold
            /// (stored on the batch, so later approvals see it).
            async fn approvals_needed(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
                batch: &$crate::store::payout_sql::PendingBatch,
                now: i64,
                two_checkers_above_minor: i64,
            ) -> $crate::store::StoreResult<i64> {
                if batch.approvals_needed >= 2 {
                    return Ok(batch.approvals_needed);
                }
                // The maker's row lock queues approvals of one maker's
                // batches, so two can't both count the other as absent.
                sqlx::query("UPDATE staff_user SET updated_at_ms = updated_at_ms WHERE staff_user_id = $1")
                    .bind(batch.maker_id)
                    .execute(&mut *conn)
                    .await?;
                let recent = sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) FROM payout_batch WHERE maker_id = $1 \
                     AND payout_batch_id <> $2 AND approved_at_ms >= $3",
                )
                .bind(batch.maker_id)
                .bind(payout_batch_id)
                .bind(now - $crate::limits::FOUR_EYES_WINDOW_MS)
                .fetch_one(&mut *conn)
                .await?;
                if recent.saturating_add(batch.total_minor) <= two_checkers_above_minor {
                    return Ok(batch.approvals_needed);
                }
                sqlx::query("UPDATE payout_batch SET approvals_needed = 2 WHERE payout_batch_id = $1")
                    .bind(payout_batch_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(2)
            }

            /// Records the checker's approval of these contents; the number of
            /// approvals they now have, or `None` if this checker approved them
            /// already. The database refuses the maker (by the constraint's name).
            async fn record_approval(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
                maker_id: StaffUserId,
                checker_id: StaffUserId,
                content_hash: &str,
                now: i64,
            ) -> $crate::store::StoreResult<Option<i64>> {
                let inserted = sqlx::query(
                    "INSERT INTO batch_approval (payout_batch_id, maker_id, checker_id, content_hash, approved_at_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(payout_batch_id)
                .bind(maker_id)
                .bind(checker_id)
                .bind(content_hash)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(|e| match $crate::store::sql::violated_constraint(&e) {
                    // Mapped by name: any other broken constraint is not "the maker approved".
                    Some(c) if $crate::store::sql::MAKER_IS_NOT_CHECKER.contains(&c.as_str()) => {
                        $crate::store::StoreError::Conflict("the batch's maker may not approve it".into())
                    }
                    _ => e.into(),
                })?;
                if inserted.rows_affected() != 1 {
                    return Ok(None);
                }
                Ok(Some(
                    sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM batch_approval WHERE payout_batch_id = $1 AND content_hash = $2",
                    )
                    .bind(payout_batch_id)
                    .bind(content_hash)
                    .fetch_one(&mut *conn)
                    .await?,
                ))
            }

            /// Splits the batch's items into planned chunks (`plan_chunks`) and
            /// reserves each chunk's amount per campaign through the ledger, all
            /// or nothing. `Err((campaign, short by))` when a budget can't cover
            /// its share: the caller rolls back.
            async fn plan_and_reserve(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
                chunk_size: u32,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<Result<(), (CampaignId, i64)>> {
                let items: Vec<$crate::payouts::PlanItem> = sqlx::query_as::<_, (PayoutItemId, CampaignId, CostCentreId, i64)>(
                    "SELECT p.payout_item_id, p.campaign_id, c.cost_centre_id, p.amount_minor \
                     FROM payout_item p JOIN campaign c ON c.campaign_id = p.campaign_id \
                     WHERE p.payout_batch_id = $1 AND p.state = 'batched' ORDER BY p.payout_item_id",
                )
                .bind(payout_batch_id)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(payout_item_id, campaign_id, cost_centre_id, amount_minor)| $crate::payouts::PlanItem {
                    payout_item_id,
                    campaign_id,
                    cost_centre_id,
                    amount_minor,
                })
                .collect();
                let mut reserve = Vec::new();
                let mut reserve_campaign = Vec::new();
                for chunk in $crate::payouts::plan_chunks(&items, chunk_size) {
                    let chunk_id = Self::insert_planned_chunk(&mut *conn, payout_batch_id, &chunk, audit.at_ms).await?;
                    for (campaign_id, cost_centre_id, amount) in chunk.per_campaign {
                        reserve.push($crate::store::ReserveItem {
                            cost_centre_id,
                            amount: payquest_types::Amount::from_minor(amount),
                            reference: format!("chunk:{chunk_id}:campaign:{campaign_id}"),
                        });
                        reserve_campaign.push((chunk_id, campaign_id, cost_centre_id));
                    }
                }
                let ids = match Self::reserve_in(&mut *conn, &reserve, audit).await? {
                    $crate::store::ReserveOutcome::Reserved(ids) => ids,
                    $crate::store::ReserveOutcome::Short { cost_centre_id, short_by } => {
                        let campaign_id = reserve_campaign
                            .iter()
                            .find(|r| r.2 == cost_centre_id)
                            .map(|r| r.1)
                            .unwrap_or_default();
                        return Ok(Err((campaign_id, short_by.minor())));
                    }
                };
                for ((chunk_id, campaign_id, _), reservation_id) in reserve_campaign.iter().zip(ids) {
                    sqlx::query(
                        "INSERT INTO chunk_reservation (payout_chunk_id, campaign_id, budget_reservation_id) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(chunk_id)
                    .bind(campaign_id)
                    .bind(reservation_id)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(Ok(()))
            }

            /// Writes one planned chunk: its row, its items moved to
            /// `approved` in it, and their membership; its id.
            async fn insert_planned_chunk(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
                chunk: &$crate::payouts::ChunkPlan,
                now: i64,
            ) -> $crate::store::StoreResult<ChunkId> {
                let chunk_id = sqlx::query_scalar::<_, ChunkId>(
                    "INSERT INTO payout_chunk (payout_batch_id, seq, state, item_count, total_minor, updated_at_ms) \
                     VALUES ($1, $2, 'planned', $3, $4, $5) RETURNING payout_chunk_id",
                )
                .bind(payout_batch_id)
                .bind(chunk.seq)
                .bind(chunk.item_count)
                .bind(chunk.total_minor)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query(
                    "UPDATE payout_item SET state = 'approved', approved_at_ms = $1, payout_chunk_id = $2 \
                     WHERE payout_batch_id = $3 AND state = 'batched' AND payout_item_id BETWEEN $4 AND $5",
                )
                .bind(now)
                .bind(chunk_id)
                .bind(payout_batch_id)
                .bind(chunk.first_item_id)
                .bind(chunk.last_item_id)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO chunk_member (payout_chunk_id, payout_item_id) \
                     SELECT $1, payout_item_id FROM payout_item WHERE payout_chunk_id = $1",
                )
                .bind(chunk_id)
                .execute(&mut *conn)
                .await?;
                Ok(chunk_id)
            }

            async fn batch_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<$crate::store::BatchRecord> {
                let sql = format!("{} WHERE b.payout_batch_id = $1", $crate::store::payout_sql::BATCH_SELECT);
                sqlx::query_as::<_, $crate::store::BatchRecord>(&sql)
                    .bind(payout_batch_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("batch"))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::PayoutStore for $store {
            async fn eligible_items(
                &self,
                f: &$crate::store::EligibleFilter,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::PayoutItemRow>> {
                let sql = format!(
                    "{} WHERE {} ORDER BY p.payout_item_id LIMIT $6",
                    $crate::store::payout_sql::ITEM_SELECT,
                    $crate::store::payout_sql::FILTER_WHERE
                );
                Ok(sqlx::query_as::<_, $crate::store::PayoutItemRow>(&sql)
                    .bind(f.campaign_id)
                    .bind(f.quest_id)
                    .bind(f.from_ms)
                    .bind(f.to_ms)
                    .bind(f.min_amount_minor)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn create_batch(
                &self,
                maker_id: StaffUserId,
                note: &str,
                f: &$crate::store::EligibleFilter,
                limit: u32,
                two_checkers_above_minor: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::BatchRecord> {
                let mut tx = self.begin_write().await?;
                let id = sqlx::query_scalar::<_, BatchId>(
                    "INSERT INTO payout_batch (maker_id, state, note, content_hash, revision, item_count, \
                     total_minor, approvals_needed, created_at_ms) \
                     VALUES ($1, 'draft', $2, '', 0, 0, 0, 1, $3) RETURNING payout_batch_id",
                )
                .bind(maker_id)
                .bind(note)
                .bind(audit.at_ms)
                .fetch_one(&mut *tx)
                .await?;
                // The outer state check makes a row another maker took meanwhile drop out.
                let sql = format!(
                    "UPDATE payout_item SET state = 'batched', payout_batch_id = $7 \
                     WHERE state = 'eligible' AND payout_item_id IN \
                       (SELECT p.payout_item_id FROM payout_item p WHERE {} \
                        ORDER BY p.payout_item_id LIMIT $6{})",
                    $crate::store::payout_sql::FILTER_WHERE,
                    Self::CLAIM_LOCK
                );
                sqlx::query(&sql)
                    .bind(f.campaign_id)
                    .bind(f.quest_id)
                    .bind(f.from_ms)
                    .bind(f.to_ms)
                    .bind(f.min_amount_minor)
                    .bind(i64::from(limit))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let (count, total, hash) = Self::refresh_batch(&mut tx, id, two_checkers_above_minor).await?;
                if count == 0 {
                    tx.rollback().await?;
                    return Err($crate::store::StoreError::Conflict(
                        "no eligible rewards match the filter".into(),
                    ));
                }
                let mut audit = audit.clone();
                audit.after_json = Some(
                    serde_json::json!({"items": count, "total_minor": total, "content_hash": hash})
                        .to_string(),
                );
                Self::insert_audit_as(&mut tx, &audit, format!("payout_batch:{id}")).await?;
                let batch = Self::batch_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(batch)
            }

            async fn batch(
                &self,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<Option<$crate::store::BatchRecord>> {
                let sql = format!("{} WHERE b.payout_batch_id = $1", $crate::store::payout_sql::BATCH_SELECT);
                self.find_one::<$crate::store::BatchRecord, _>(&sql, payout_batch_id).await
            }

            async fn list_batches(
                &self,
                states: &[payquest_types::BatchState],
                before_id: Option<BatchId>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::BatchRecord>> {
                // The enum's own texts, never user text.
                let state_filter = if states.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
                    format!(" AND b.state IN ({})", list.join(", "))
                };
                let sql = format!(
                    "{} WHERE b.payout_batch_id < $1{} ORDER BY b.payout_batch_id DESC LIMIT $2",
                    $crate::store::payout_sql::BATCH_SELECT,
                    state_filter
                );
                Ok(sqlx::query_as::<_, $crate::store::BatchRecord>(&sql)
                    .bind(before_id.map_or(i64::MAX, BatchId::get))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn batch_items(
                &self,
                payout_batch_id: BatchId,
                after_item_id: PayoutItemId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::PayoutItemRow>> {
                let sql = format!(
                    "{} WHERE p.payout_batch_id = $1 AND p.payout_item_id > $2 \
                     ORDER BY p.payout_item_id LIMIT $3",
                    $crate::store::payout_sql::ITEM_SELECT
                );
                Ok(sqlx::query_as::<_, $crate::store::PayoutItemRow>(&sql)
                    .bind(payout_batch_id)
                    .bind(after_item_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn batch_totals(
                &self,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::CampaignTotal>> {
                Ok(sqlx::query_as::<_, $crate::store::CampaignTotal>(
                    "SELECT p.campaign_id, c.name AS campaign_name, COUNT(*) AS item_count, \
                     CAST(SUM(p.amount_minor) AS BIGINT) AS total_minor \
                     FROM payout_item p JOIN campaign c ON c.campaign_id = p.campaign_id \
                     WHERE p.payout_batch_id = $1 GROUP BY p.campaign_id, c.name ORDER BY p.campaign_id",
                )
                .bind(payout_batch_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn batch_approvals(
                &self,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ApprovalRow>> {
                Ok(sqlx::query_as::<_, $crate::store::ApprovalRow>(
                    "SELECT a.checker_id, s.email AS checker_email, a.content_hash, a.approved_at_ms \
                     FROM batch_approval a JOIN staff_user s ON s.staff_user_id = a.checker_id \
                     WHERE a.payout_batch_id = $1 ORDER BY a.approved_at_ms",
                )
                .bind(payout_batch_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn remove_batch_items(
                &self,
                payout_batch_id: BatchId,
                item_ids: &[PayoutItemId],
                two_checkers_above_minor: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::BatchRecord> {
                let mut tx = self.begin_write().await?;
                let open = sqlx::query(
                    "UPDATE payout_batch SET revision = revision WHERE payout_batch_id = $1 \
                     AND state IN ('draft', 'pending_approval')",
                )
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                if open.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Conflict(
                        "only a batch that is not approved yet can change".into(),
                    ));
                }
                for id in item_ids {
                    sqlx::query(
                        "UPDATE payout_item SET state = 'eligible', payout_batch_id = NULL \
                         WHERE payout_item_id = $1 AND payout_batch_id = $2 AND state = 'batched'",
                    )
                    .bind(id)
                    .bind(payout_batch_id)
                    .execute(&mut *tx)
                    .await?;
                }
                let (count, total, hash) =
                    Self::refresh_batch(&mut tx, payout_batch_id, two_checkers_above_minor).await?;
                if count == 0 {
                    tx.rollback().await?;
                    return Err($crate::store::StoreError::Conflict(
                        "a batch keeps at least one item; reject it instead".into(),
                    ));
                }
                let mut audit = audit.clone();
                audit.after_json = Some(
                    serde_json::json!({"removed": item_ids, "items": count, "total_minor": total,
                        "content_hash": hash})
                    .to_string(),
                );
                Self::insert_audit(&mut tx, &audit).await?;
                let batch = Self::batch_in(&mut tx, payout_batch_id).await?;
                tx.commit().await?;
                Ok(batch)
            }

            async fn submit_batch(
                &self,
                payout_batch_id: BatchId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.transition_audited(
                    "UPDATE payout_batch SET state = 'pending_approval', submitted_at_ms = $1 \
                     WHERE payout_batch_id = $2 AND state = 'draft' AND item_count > 0",
                    payout_batch_id,
                    audit,
                )
                .await
            }

            async fn approve_batch(
                &self,
                payout_batch_id: BatchId,
                checker_id: StaffUserId,
                content_hash: &str,
                chunk_size: u32,
                auto_disburse: bool,
                two_checkers_above_minor: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::ApproveOutcome> {
                use $crate::store::ApproveOutcome;
                assert!(chunk_size > 0, "chunks hold at least one item");
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                let Some(batch) = Self::lock_pending_batch(&mut tx, payout_batch_id).await? else {
                    return Ok(ApproveOutcome::NotPending);
                };
                if batch.content_hash != content_hash {
                    return Ok(ApproveOutcome::Stale { current_hash: batch.content_hash });
                }
                let needed = Self::approvals_needed(&mut tx, payout_batch_id, &batch, now, two_checkers_above_minor)
                    .await?;
                let Some(approvals) =
                    Self::record_approval(&mut tx, payout_batch_id, batch.maker_id, checker_id, content_hash, now)
                        .await?
                else {
                    return Ok(ApproveOutcome::NotPending);
                };
                if approvals < needed {
                    Self::insert_audit(&mut tx, audit).await?;
                    tx.commit().await?;
                    return Ok(ApproveOutcome::Recorded { approvals, needed });
                }
                // The last approval: plan the chunks and reserve their budgets.
                if let Err((campaign_id, short_by_minor)) =
                    Self::plan_and_reserve(&mut tx, payout_batch_id, chunk_size, audit).await?
                {
                    tx.rollback().await?;
                    let campaign_name = sqlx::query_scalar::<_, String>(
                        "SELECT name FROM campaign WHERE campaign_id = $1",
                    )
                    .bind(campaign_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .unwrap_or_default();
                    return Ok(ApproveOutcome::Short { campaign_id, campaign_name, short_by_minor });
                }
                let state = if auto_disburse { "disbursing" } else { "approved" };
                sqlx::query(
                    "UPDATE payout_batch SET state = $1, approved_at_ms = $2, \
                     disbursing_at_ms = CASE WHEN $1 = 'disbursing' THEN $2 ELSE NULL END \
                     WHERE payout_batch_id = $3",
                )
                .bind(state)
                .bind(now)
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(ApproveOutcome::Approved)
            }

            async fn reject_batch(
                &self,
                payout_batch_id: BatchId,
                reason: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE payout_batch SET state = 'rejected', decision_reason = $1, finished_at_ms = $2 \
                     WHERE payout_batch_id = $3 AND state = 'pending_approval'",
                )
                .bind(reason)
                .bind(audit.at_ms)
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE payout_item SET state = 'eligible', payout_batch_id = NULL \
                     WHERE payout_batch_id = $1 AND state = 'batched'",
                )
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn start_disbursement(
                &self,
                payout_batch_id: BatchId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.transition_audited(
                    "UPDATE payout_batch SET state = 'disbursing', disbursing_at_ms = $1 \
                     WHERE payout_batch_id = $2 AND state = 'approved'",
                    payout_batch_id,
                    audit,
                )
                .await
            }

            async fn retry_failed_items(
                &self,
                payout_batch_id: BatchId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                // Only items whose chunk the chain was shown not to have run, a
                // reorg window after it failed (see the reconciler).
                let done = sqlx::query(
                    "UPDATE payout_item SET state = 'eligible', payout_batch_id = NULL, payout_chunk_id = NULL, \
                     approved_at_ms = NULL WHERE payout_batch_id = $1 AND state = 'failed' \
                     AND payout_chunk_id IN (SELECT payout_chunk_id FROM payout_chunk \
                       WHERE state = 'reverted' AND unpaid_checked_at_ms IS NOT NULL)",
                )
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                let n = done.rows_affected();
                if n > 0 {
                    let mut audit = audit.clone();
                    audit.after_json = Some(serde_json::json!({ "items_made_eligible": n }).to_string());
                    Self::insert_audit(&mut tx, &audit).await?;
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn failed_item_chunks(
                &self,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<Vec<ChunkId>> {
                Ok(sqlx::query_scalar::<_, ChunkId>(
                    "SELECT DISTINCT payout_chunk_id FROM payout_item \
                     WHERE payout_batch_id = $1 AND state = 'failed' AND payout_chunk_id IS NOT NULL \
                     ORDER BY payout_chunk_id",
                )
                .bind(payout_batch_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn request_withdrawal(
                &self,
                payout_batch_id: BatchId,
                requested_by: StaffUserId,
                reason: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE payout_batch SET withdraw_requested_by = $1, withdraw_reason = $2, \
                     withdraw_requested_at_ms = $3 WHERE payout_batch_id = $4 \
                     AND state IN ('approved', 'disbursing') AND withdraw_requested_by IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM payout_chunk k WHERE k.payout_batch_id = $4 \
                       AND k.state <> 'planned')",
                )
                .bind(requested_by)
                .bind(reason)
                .bind(audit.at_ms)
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn cancel_withdrawal(
                &self,
                payout_batch_id: BatchId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE payout_batch SET withdraw_requested_by = NULL, withdraw_reason = NULL, \
                     withdraw_requested_at_ms = NULL WHERE payout_batch_id = $1 \
                     AND state IN ('approved', 'disbursing') AND withdraw_requested_by IS NOT NULL",
                )
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn withdraw_batch(
                &self,
                payout_batch_id: BatchId,
                requested_by: StaffUserId,
                confirmed_by: StaffUserId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                // The batch row first: it orders this against the disburser,
                // which signs a chunk only while no request is open.
                let done = sqlx::query(
                    "UPDATE payout_batch SET state = 'withdrawn', withdrawn_by = $1, finished_at_ms = $2 \
                     WHERE payout_batch_id = $3 AND state IN ('approved', 'disbursing') \
                     AND withdraw_requested_by = $4",
                )
                .bind(confirmed_by)
                .bind(now)
                .bind(payout_batch_id)
                .bind(requested_by)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                let chunks = sqlx::query_as::<_, (ChunkId, String)>(
                    "SELECT payout_chunk_id, state FROM payout_chunk WHERE payout_batch_id = $1 \
                     ORDER BY payout_chunk_id",
                )
                .bind(payout_batch_id)
                .fetch_all(&mut *tx)
                .await?;
                if chunks.iter().any(|(_, state)| state.parse() != Ok(payquest_types::ChunkState::Planned)) {
                    return Ok(false);
                }
                for (chunk_id, _) in &chunks {
                    Self::settle_chunk(&mut tx, *chunk_id, $crate::store::Settlement::Void, audit).await?;
                }
                sqlx::query(
                    "UPDATE payout_item SET state = 'eligible', payout_batch_id = NULL, payout_chunk_id = NULL, \
                     approved_at_ms = NULL WHERE payout_batch_id = $1 AND state = 'approved'",
                )
                .bind(payout_batch_id)
                .execute(&mut *tx)
                .await?;
                for (chunk_id, _) in &chunks {
                    sqlx::query("DELETE FROM chunk_reservation WHERE payout_chunk_id = $1")
                        .bind(chunk_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM chunk_member WHERE payout_chunk_id = $1")
                        .bind(chunk_id)
                        .execute(&mut *tx)
                        .await?;
                    // A chunk signed since it was read above (its row was not
                    // locked then) stops the withdrawal: all or nothing.
                    let gone = sqlx::query(
                        "DELETE FROM payout_chunk WHERE payout_chunk_id = $1 AND state = 'planned'",
                    )
                    .bind(chunk_id)
                    .execute(&mut *tx)
                    .await?;
                    if gone.rows_affected() != 1 {
                        return Ok(false);
                    }
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn batch_chunks(
                &self,
                payout_batch_id: BatchId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ChunkRow>> {
                Ok(sqlx::query_as::<_, $crate::store::ChunkRow>(
                    "SELECT payout_chunk_id, payout_batch_id, seq, state, item_count, total_minor, nonce, \
                     mined_tx_hash, mined_block, confirmed_at_ms, updated_at_ms FROM payout_chunk \
                     WHERE payout_batch_id = $1 ORDER BY seq",
                )
                .bind(payout_batch_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn auto_disburse(&self) -> $crate::store::StoreResult<Option<bool>> {
                let v = sqlx::query_scalar::<_, String>(
                    "SELECT value FROM app_setting WHERE name = 'payout.auto_disburse'",
                )
                .fetch_optional(&self.pool)
                .await?;
                Ok(v.map(|v| v == "true"))
            }

            async fn set_auto_disburse(
                &self,
                on: bool,
                by: StaffUserId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO app_setting (name, value, updated_by, updated_at_ms) \
                     VALUES ('payout.auto_disburse', $1, $2, $3) ON CONFLICT (name) DO UPDATE \
                     SET value = excluded.value, updated_by = excluded.updated_by, \
                     updated_at_ms = excluded.updated_at_ms",
                )
                .bind(if on { "true" } else { "false" })
                .bind(by)
                .bind(audit.at_ms)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn payout_item_state(
                &self,
                payout_item_id: PayoutItemId,
            ) -> $crate::store::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar::<_, String>("SELECT state FROM payout_item WHERE payout_item_id = $1")
                    .bind(payout_item_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn payout_stage_times(
                &self,
                campaign_id: CampaignId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<(i64, i64, Option<i64>, Option<i64>)>> {
                Ok(sqlx::query_as::<_, (i64, i64, Option<i64>, Option<i64>)>(
                    "SELECT a.occurred_at_ms, p.created_at_ms, p.approved_at_ms, p.confirmed_at_ms FROM payout_item p \
                     JOIN activity a ON a.activity_id = p.activity_id WHERE p.campaign_id = $1 \
                     ORDER BY p.payout_item_id DESC LIMIT $2",
                )
                .bind(campaign_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(super) use impl_payouts;
