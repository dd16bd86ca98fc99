//! Validation claims, attempts, manual review and rewards; shared SQL for
//! both backends (see `sql.rs`). The caps are enforced with guarded writes on
//! counters (the quest's completions, the gamer's tally per quest), so two
//! workers validating at once can't both take the last completion.

use super::ClaimedActivity;
use payquest_types::{ActivityId, CampaignId, GamerId, QuestId};

pub(super) const CLAIMED_SELECT: &str = "\
    SELECT a.activity_id, a.claimed_until_ms, a.attempts, a.external_id, a.quest_id, g.wallet, \
      COALESCE(a.game_account_id, (SELECT ga.account_ref FROM gamer_account ga \
        WHERE ga.gamer_id = a.gamer_id AND ga.kind = 'game' ORDER BY ga.linked_at_ms DESC LIMIT 1)) AS game_account_id, \
      COALESCE(a.social_handle, (SELECT ga.account_ref FROM gamer_account ga \
        WHERE ga.gamer_id = a.gamer_id AND ga.kind = 'social' ORDER BY ga.linked_at_ms DESC LIMIT 1)) AS social_handle, \
      a.evidence_json, a.signature, a.occurred_at_ms, \
      q.validator_config_json \
    FROM activity a JOIN gamer g ON g.gamer_id = a.gamer_id JOIN quest q ON q.quest_id = a.quest_id";

#[derive(sqlx::FromRow)]
pub(super) struct ClaimedRow {
    pub activity_id: ActivityId,
    pub claimed_until_ms: Option<i64>,
    pub attempts: i64,
    pub external_id: String,
    pub quest_id: QuestId,
    pub wallet: String,
    pub game_account_id: Option<String>,
    pub social_handle: Option<String>,
    pub evidence_json: Option<String>,
    pub signature: Option<String>,
    pub occurred_at_ms: i64,
    pub validator_config_json: String,
}

impl From<ClaimedRow> for ClaimedActivity {
    fn from(r: ClaimedRow) -> Self {
        ClaimedActivity {
            activity_id: r.activity_id,
            claim_until_ms: r.claimed_until_ms.unwrap_or_default(),
            attempts: r.attempts,
            external_id: r.external_id,
            quest_id: r.quest_id,
            wallet: r.wallet,
            game_account_id: r.game_account_id,
            social_handle: r.social_handle,
            evidence_json: r.evidence_json,
            signature: r.signature,
            occurred_at_ms: r.occurred_at_ms,
            validator_config_json: r.validator_config_json,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PricingRow {
    pub reward_minor: i64,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub campaign_id: CampaignId,
    pub gamer_id: GamerId,
    pub quest_id: QuestId,
    pub occurred_at_ms: i64,
    pub game_account_id: Option<String>,
    pub social_handle: Option<String>,
    pub validator_config_json: String,
}

/// Implements `ValidationStore` for `$store` (which defines `CLAIM_LOCK`).
macro_rules! impl_validation {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Prices the activity and applies the caps; the payout item id, or
            /// why the caps refuse it. Call inside a savepoint: a refusal leaves
            /// counters half-moved until the caller rolls it back.
            async fn reward(
                conn: &mut <$db as sqlx::Database>::Connection,
                activity_id: ActivityId,
                now_ms: i64,
            ) -> $crate::store::StoreResult<Result<PayoutItemId, String>> {
                let p = sqlx::query_as::<_, $crate::store::validation_sql::PricingRow>(
                    "SELECT q.reward_minor, q.max_per_gamer, q.repeat_period_s, q.campaign_id, \
                     a.gamer_id, a.quest_id, a.occurred_at_ms, \
                     COALESCE(a.game_account_id, (SELECT ga.account_ref FROM gamer_account ga \
                       WHERE ga.gamer_id = a.gamer_id AND ga.kind = 'game' ORDER BY ga.linked_at_ms DESC LIMIT 1)) AS game_account_id, \
                     COALESCE(a.social_handle, (SELECT ga.account_ref FROM gamer_account ga \
                       WHERE ga.gamer_id = a.gamer_id AND ga.kind = 'social' ORDER BY ga.linked_at_ms DESC LIMIT 1)) AS social_handle, \
                     q.validator_config_json \
                     FROM activity a JOIN quest q ON q.quest_id = a.quest_id WHERE a.activity_id = $1",
                )
                .bind(activity_id)
                .fetch_one(&mut *conn)
                .await?;
                if let Err(why) = Self::claim_account(&mut *conn, &p, now_ms).await? {
                    return Ok(Err(why));
                }
                if let Err(why) = Self::count_completion(&mut *conn, &p).await? {
                    return Ok(Err(why));
                }
                let id = sqlx::query_scalar::<_, PayoutItemId>(
                    "INSERT INTO payout_item (activity_id, quest_id, campaign_id, gamer_id, amount_minor, state, \
                     created_at_ms) VALUES ($1, $2, $3, $4, $5, 'eligible', $6) \
                     ON CONFLICT (activity_id) DO NOTHING RETURNING payout_item_id",
                )
                .bind(activity_id)
                .bind(p.quest_id)
                .bind(p.campaign_id)
                .bind(p.gamer_id)
                .bind(p.reward_minor)
                .bind(now_ms)
                .fetch_optional(&mut *conn)
                .await?;
                // One activity, one payout item: a second is a programming error.
                let Some(id) = id else {
                    return Ok(Err("a payout item exists for this activity".to_owned()));
                };
                // The leaderboards it counts for, in this same transaction.
                static SCORE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    $crate::store::leaderboard_sql::SCORE_ACTIVITY.replace("{lock}", <$store>::SHARE_LOCK)
                });
                sqlx::query(SCORE.as_str())
                    .bind(p.gamer_id)
                    .bind(p.reward_minor)
                    .bind(p.occurred_at_ms)
                    .bind(p.campaign_id)
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?;
                Ok(Ok(id))
            }

            /// Binds the external account the validator proved to this gamer
            /// for the quest (the first to earn it keeps it); refused when the
            /// account already earned the quest with another wallet.
            async fn claim_account(
                conn: &mut <$db as sqlx::Database>::Connection,
                p: &$crate::store::validation_sql::PricingRow,
                now_ms: i64,
            ) -> $crate::store::StoreResult<Result<(), String>> {
                let Some(account) = $crate::validation::proven_account(
                    &p.validator_config_json,
                    p.game_account_id.clone(),
                    p.social_handle.clone(),
                ) else {
                    return Ok(Ok(()));
                };
                sqlx::query(
                    "INSERT INTO quest_account_claim (quest_id, account_key, gamer_id, created_at_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (quest_id, account_key) DO NOTHING",
                )
                .bind(p.quest_id)
                .bind(&account)
                .bind(p.gamer_id)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
                let owner = sqlx::query_scalar::<_, GamerId>(
                    "SELECT gamer_id FROM quest_account_claim WHERE quest_id = $1 AND account_key = $2",
                )
                .bind(p.quest_id)
                .bind(&account)
                .fetch_one(&mut *conn)
                .await?;
                if owner != p.gamer_id {
                    return Ok(Err("this account already earned this quest with another wallet".into()));
                }
                Ok(Ok(()))
            }

            /// Counts the completion against the gamer's cap and repeat period
            /// and the quest's cap, each with a guarded counter; refused when
            /// one is reached.
            async fn count_completion(
                conn: &mut <$db as sqlx::Database>::Connection,
                p: &$crate::store::validation_sql::PricingRow,
            ) -> $crate::store::StoreResult<Result<(), String>> {
                let tally = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO quest_gamer_tally (quest_id, gamer_id, completions, last_at_ms) VALUES ($1, $2, 1, $3) \
                     ON CONFLICT (quest_id, gamer_id) DO UPDATE \
                     SET completions = quest_gamer_tally.completions + 1, last_at_ms = excluded.last_at_ms \
                     WHERE ($4 IS NULL OR quest_gamer_tally.completions < $4) \
                       AND ($5 IS NULL OR quest_gamer_tally.last_at_ms <= excluded.last_at_ms - $5) \
                     RETURNING completions",
                )
                .bind(p.quest_id)
                .bind(p.gamer_id)
                .bind(p.occurred_at_ms)
                .bind(p.max_per_gamer)
                .bind(p.repeat_period_s.map(|s| s.saturating_mul(1000)))
                .fetch_optional(&mut *conn)
                .await?;
                if tally.is_none() {
                    return Ok(Err("the gamer's cap or repeat period for this quest is reached".into()));
                }
                let quest_cap = sqlx::query(
                    "UPDATE quest SET completions = completions + 1 \
                     WHERE quest_id = $1 AND (max_completions IS NULL OR completions < max_completions)",
                )
                .bind(p.quest_id)
                .execute(&mut *conn)
                .await?;
                if quest_cap.rows_affected() != 1 {
                    return Ok(Err("the quest's completion cap is reached".into()));
                }
                Ok(Ok(()))
            }

            async fn insert_attempt(
                conn: &mut <$db as sqlx::Database>::Connection,
                activity_id: ActivityId,
                attempt_no: i64,
                a: &$crate::store::AttemptRecord,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO activity_attempt (activity_id, attempt_no, at_ms, duration_ms, outcome, detail, \
                     evidence_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(activity_id)
                .bind(attempt_no)
                .bind(a.at_ms)
                .bind(a.duration_ms)
                .bind(a.outcome)
                .bind(&a.detail)
                .bind(&a.evidence_json)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Applies a verdict to an activity this transaction holds.
            async fn apply_verdict(
                tx: &mut sqlx::Transaction<'static, $db>,
                activity_id: ActivityId,
                verdict: &$crate::store::Verdict,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::store::Finished> {
                use $crate::store::Verdict;
                let (status, reason, retry_at, payout) = match verdict {
                    Verdict::Validated => {
                        let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
                        match Self::reward(&mut savepoint, activity_id, now_ms).await? {
                            Ok(id) => {
                                savepoint.commit().await?;
                                ("validated", None, None, Some(id))
                            }
                            Err(why) => {
                                savepoint.rollback().await?;
                                ("rejected", Some(why), None, None)
                            }
                        }
                    }
                    Verdict::Rejected { reason } => ("rejected", Some(reason.clone()), None, None),
                    Verdict::NeedsReview { reason } => ("needs_review", Some(reason.clone()), None, None),
                    Verdict::RetryAt { at_ms } => ("received", None, Some(*at_ms), None),
                };
                sqlx::query(
                    "UPDATE activity SET status = $1, reason = $2, claimed_until_ms = NULL, \
                     next_attempt_at_ms = COALESCE($3, next_attempt_at_ms), \
                     validated_at_ms = CASE WHEN $1 = 'validated' THEN $4 ELSE validated_at_ms END, \
                     rewarded_at_ms = CASE WHEN $1 = 'validated' THEN $4 ELSE rewarded_at_ms END \
                     WHERE activity_id = $5",
                )
                .bind(status)
                .bind(&reason)
                .bind(retry_at)
                .bind(now_ms)
                .bind(activity_id)
                .execute(&mut **tx)
                .await?;
                Ok($crate::store::Finished::Done {
                    status: status.to_owned(),
                    reason,
                    payout_item_id: payout,
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ValidationStore for $store {
            async fn claim_activities(
                &self,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ClaimedActivity>> {
                let until = now_ms + lease_ms;
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE activity SET status = 'validating', claimed_until_ms = $1 WHERE activity_id IN ( \
                       SELECT activity_id FROM activity \
                       WHERE (status = 'received' AND next_attempt_at_ms <= $2) \
                          OR (status = 'validating' AND claimed_until_ms < $2) \
                       ORDER BY next_attempt_at_ms LIMIT $3{}) RETURNING activity_id",
                    Self::CLAIM_LOCK
                );
                let ids = sqlx::query_scalar::<_, ActivityId>(&sql)
                    .bind(until)
                    .bind(now_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut claimed = Vec::with_capacity(ids.len());
                let sql = format!("{} WHERE a.activity_id = $1", $crate::store::validation_sql::CLAIMED_SELECT);
                for id in ids {
                    let row = sqlx::query_as::<_, $crate::store::validation_sql::ClaimedRow>(&sql)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                    claimed.push(row.into());
                }
                tx.commit().await?;
                Ok(claimed)
            }

            async fn finish_attempt(
                &self,
                claim: &$crate::store::ClaimedActivity,
                attempt: &$crate::store::AttemptRecord,
                verdict: &$crate::store::Verdict,
            ) -> $crate::store::StoreResult<$crate::store::Finished> {
                let mut tx = self.begin_write().await?;
                let ours = sqlx::query(
                    "UPDATE activity SET attempts = attempts + 1 \
                     WHERE activity_id = $1 AND status = 'validating' AND claimed_until_ms = $2",
                )
                .bind(claim.activity_id)
                .bind(claim.claim_until_ms)
                .execute(&mut *tx)
                .await?;
                if ours.rows_affected() != 1 {
                    return Ok($crate::store::Finished::LostClaim);
                }
                Self::insert_attempt(&mut tx, claim.activity_id, claim.attempts + 1, attempt).await?;
                let finished = Self::apply_verdict(&mut tx, claim.activity_id, verdict, attempt.at_ms).await?;
                // The worker's result is a money change (a payout item, moved
                // caps): audited in the same transaction.
                if let $crate::store::Finished::Done { status, reason, payout_item_id } = &finished {
                    let action = match status.as_str() {
                        "validated" => "activity.validated",
                        "rejected" => "activity.rejected",
                        "needs_review" => "activity.needs_review",
                        _ => "activity.retry_scheduled",
                    };
                    let audit = $crate::audit::AuditRecord::new(
                        &$crate::audit::AuditActor::system("validation"),
                        action,
                        format!("activity:{}", claim.activity_id),
                    )
                    .after(&serde_json::json!({
                        "status": status,
                        "reason": reason,
                        "payout_item_id": payout_item_id,
                        "attempt": claim.attempts + 1,
                    }));
                    Self::insert_audit(&mut tx, &audit).await?;
                }
                tx.commit().await?;
                Ok(finished)
            }

            async fn review_queue(
                &self,
                after_id: ActivityId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ReviewItem>> {
                let rows = sqlx::query_as::<_, (ActivityId, String, QuestId, String, String, Option<String>, Option<String>, Option<String>, i64)>(
                    "SELECT a.activity_id, a.external_id, a.quest_id, q.name, g.wallet, a.reason, a.evidence_json, \
                       (SELECT t.evidence_json FROM activity_attempt t WHERE t.activity_id = a.activity_id \
                        ORDER BY t.attempt_no DESC LIMIT 1), a.occurred_at_ms \
                     FROM activity a JOIN quest q ON q.quest_id = a.quest_id JOIN gamer g ON g.gamer_id = a.gamer_id \
                     WHERE a.status = 'needs_review' AND a.activity_id > $1 ORDER BY a.activity_id LIMIT $2",
                )
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| $crate::store::ReviewItem {
                        activity_id: r.0,
                        external_id: r.1,
                        quest_id: r.2,
                        quest_name: r.3,
                        wallet: r.4,
                        reason: r.5,
                        evidence_json: r.6,
                        last_attempt_evidence_json: r.7,
                        occurred_at_ms: r.8,
                    })
                    .collect())
            }

            async fn decide_review(
                &self,
                activity_id: ActivityId,
                approve: bool,
                reason: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<Option<$crate::store::Finished>> {
                let mut tx = self.begin_write().await?;
                let attempts = sqlx::query_scalar::<_, i64>(
                    "UPDATE activity SET status = 'validating', attempts = attempts + 1 \
                     WHERE activity_id = $1 AND status = 'needs_review' RETURNING attempts",
                )
                .bind(activity_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(attempt_no) = attempts else { return Ok(None) };
                let attempt = $crate::store::AttemptRecord {
                    at_ms: audit.at_ms,
                    duration_ms: 0,
                    outcome: "reviewed",
                    detail: format!("{}: {reason}", if approve { "approved" } else { "rejected" }),
                    evidence_json: None,
                };
                Self::insert_attempt(&mut tx, activity_id, attempt_no, &attempt).await?;
                let verdict = if approve {
                    $crate::store::Verdict::Validated
                } else {
                    $crate::store::Verdict::Rejected { reason: reason.to_owned() }
                };
                let finished = Self::apply_verdict(&mut tx, activity_id, &verdict, audit.at_ms).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(Some(finished))
            }

            async fn count_payout_items(&self, quest_id: QuestId) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM payout_item WHERE quest_id = $1")
                    .bind(quest_id)
                    .fetch_one(&self.pool)
                    .await?)
            }
        }
    };
}

pub(super) use impl_validation;
