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
    pub activity_id: ActivityId,
    pub reward_minor: i64,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub completions: i64,
    pub max_completions: Option<i64>,
    pub campaign_id: CampaignId,
    pub gamer_id: GamerId,
    pub quest_id: QuestId,
    pub occurred_at_ms: i64,
    pub game_account_id: Option<String>,
    pub social_handle: Option<String>,
    pub validator_config_json: String,
}

/// What pricing reads of a validated activity; `WHERE` follows.
pub(super) const PRICING_SELECT: &str = "\
    SELECT a.activity_id, q.reward_minor, q.max_per_gamer, q.repeat_period_s, q.completions, \
      q.max_completions, q.campaign_id, \
      a.gamer_id, a.quest_id, a.occurred_at_ms, \
      COALESCE(a.game_account_id, (SELECT ga.account_ref FROM gamer_account ga \
        WHERE ga.gamer_id = a.gamer_id AND ga.kind = 'game' ORDER BY ga.linked_at_ms DESC LIMIT 1)) AS game_account_id, \
      COALESCE(a.social_handle, (SELECT ga.account_ref FROM gamer_account ga \
        WHERE ga.gamer_id = a.gamer_id AND ga.kind = 'social' ORDER BY ga.linked_at_ms DESC LIMIT 1)) AS social_handle, \
      q.validator_config_json \
    FROM activity a JOIN quest q ON q.quest_id = a.quest_id";

/// An activity's new status, reason and retry time for a verdict that makes
/// no payout item (a validation goes through the pricing path).
pub(super) fn unpaid_outcome(
    verdict: &super::Verdict,
) -> (&'static str, Option<String>, Option<i64>) {
    use super::Verdict;
    match verdict {
        Verdict::Validated => ("validated", None, None),
        Verdict::Rejected { reason } => ("rejected", Some(reason.clone()), None),
        Verdict::NeedsReview { reason } => ("needs_review", Some(reason.clone()), None),
        Verdict::RetryAt { at_ms } => ("received", None, Some(*at_ms)),
    }
}

/// The audit action for an activity's new status.
pub(super) fn audit_action(status: &str) -> &'static str {
    match status {
        "validated" => "activity.validated",
        "rejected" => "activity.rejected",
        "needs_review" => "activity.needs_review",
        _ => "activity.retry_scheduled",
    }
}

/// How a chunk's validated activities of one quest are counted: the
/// gamers whose whole group the set-based path can decide (no per-gamer cap
/// the group would cross, at most one activity under a repeat period), and
/// the activities left to the per-activity path.
pub(super) fn split_by_gamer<T>(
    max_per_gamer: Option<i64>,
    repeat_period_s: Option<i64>,
    rows: Vec<(GamerId, T)>,
) -> (std::collections::BTreeMap<GamerId, Vec<T>>, Vec<T>) {
    let mut groups: std::collections::BTreeMap<GamerId, Vec<T>> = Default::default();
    for (gamer, row) in rows {
        groups.entry(gamer).or_default().push(row);
    }
    let mut slow = Vec::new();
    groups.retain(|_, group| {
        let n = i64::try_from(group.len()).unwrap_or(i64::MAX);
        let fits =
            max_per_gamer.is_none_or(|max| n <= max) && (repeat_period_s.is_none() || n == 1);
        if !fits {
            slow.append(group);
        }
        fits
    });
    (groups, slow)
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
                static PRICING_ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    format!("{} WHERE a.activity_id = $1", $crate::store::validation_sql::PRICING_SELECT)
                });
                let p = sqlx::query_as::<_, $crate::store::validation_sql::PricingRow>(PRICING_ONE.as_str())
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
                    other => {
                        let (status, reason, retry_at) = $crate::store::validation_sql::unpaid_outcome(other);
                        (status, reason, retry_at, None)
                    }
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

        impl $store {
            /// Binds `ids` as a comma-separated list (the caller writes the
            /// parentheses around it).
            fn push_ids(q: &mut sqlx::QueryBuilder<'_, $db>, ids: impl Iterator<Item = ActivityId>) {
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(id);
                }
            }

            /// Prices and counts a chunk's validated activities: those whose whole
            /// group the set-based path decided (each gamer's tally moved by one
            /// multi-row guarded upsert), with what each quest's counter must move
            /// by (`count_quests`, at the end of the chunk), and those left to the
            /// per-activity path.
            #[allow(clippy::type_complexity)]
            async fn count_chunk<'a>(
                tx: &mut sqlx::Transaction<'static, $db>,
                validated: Vec<&'a $crate::store::CheckedActivity>,
            ) -> $crate::store::StoreResult<(
                Vec<(&'a $crate::store::CheckedActivity, $crate::store::validation_sql::PricingRow)>,
                Vec<&'a $crate::store::CheckedActivity>,
                Vec<(QuestId, i64)>,
            )> {
                use std::collections::{BTreeMap, HashMap, HashSet};
                use $crate::store::validation_sql::PricingRow;
                use $crate::store::CheckedActivity;
                let mut slow: Vec<&CheckedActivity> = Vec::new();
                let mut paid: Vec<(&CheckedActivity, PricingRow)> = Vec::new();
                let mut counts: Vec<(QuestId, i64)> = Vec::new();
                if validated.is_empty() {
                    return Ok((paid, slow, counts));
                }
                let mut q = sqlx::QueryBuilder::<$db>::new($crate::store::validation_sql::PRICING_SELECT);
                q.push(" WHERE a.activity_id IN (");
                Self::push_ids(&mut q, validated.iter().map(|i| i.claim.activity_id));
                q.push(")");
                let mut pricing: HashMap<ActivityId, PricingRow> = q
                    .build_query_as::<PricingRow>()
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .map(|p| (p.activity_id, p))
                    .collect();
                // Quests in id order, so concurrent chunks lock them in one order.
                let mut by_quest: BTreeMap<QuestId, Vec<(GamerId, (&CheckedActivity, PricingRow))>> = BTreeMap::new();
                for i in validated {
                    let Some(p) = pricing.remove(&i.claim.activity_id) else {
                        return Err($crate::store::StoreError::NotFound("activity"));
                    };
                    let binds_account = $crate::validation::proven_account(
                        &p.validator_config_json,
                        p.game_account_id.clone(),
                        p.social_handle.clone(),
                    )
                    .is_some();
                    if binds_account {
                        slow.push(i);
                    } else {
                        by_quest.entry(p.quest_id).or_default().push((p.gamer_id, (i, p)));
                    }
                }
                for (quest_id, rows) in by_quest {
                    let (max_per_gamer, repeat_period_s, completions, max_completions) = match rows.first() {
                        Some((_, (_, p))) => (p.max_per_gamer, p.repeat_period_s, p.completions, p.max_completions),
                        None => continue,
                    };
                    let (groups, rest) =
                        $crate::store::validation_sql::split_by_gamer(max_per_gamer, repeat_period_s, rows);
                    slow.extend(rest.into_iter().map(|(i, _)| i));
                    let count: i64 = groups.values().map(|g| g.len() as i64).sum();
                    if count == 0 {
                        continue;
                    }
                    // The cap is within this chunk's reach: one by one. (The
                    // count is read without the quest's lock; it only grows,
                    // and the guarded update in `count_quests` decides.)
                    if max_completions.is_some_and(|max| completions.saturating_add(count) > max) {
                        slow.extend(groups.into_values().flatten().map(|(i, _)| i));
                        continue;
                    }
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO quest_gamer_tally (quest_id, gamer_id, completions, last_at_ms) ",
                    );
                    q.push_values(&groups, |mut b, (gamer, group)| {
                        b.push_bind(quest_id)
                            .push_bind(*gamer)
                            .push_bind(group.len() as i64)
                            .push_bind(group.iter().map(|(_, p)| p.occurred_at_ms).max().unwrap_or_default());
                    });
                    q.push(
                        " ON CONFLICT (quest_id, gamer_id) DO UPDATE \
                         SET completions = quest_gamer_tally.completions + excluded.completions, \
                         last_at_ms = CASE WHEN excluded.last_at_ms > quest_gamer_tally.last_at_ms \
                           THEN excluded.last_at_ms ELSE quest_gamer_tally.last_at_ms END \
                         WHERE (",
                    );
                    q.push_bind(max_per_gamer)
                        .push(" IS NULL OR quest_gamer_tally.completions + excluded.completions <= ")
                        .push_bind(max_per_gamer)
                        .push(") AND (")
                        .push_bind(repeat_period_s.map(|s| s.saturating_mul(1000)))
                        .push(" IS NULL OR quest_gamer_tally.last_at_ms <= excluded.last_at_ms - ")
                        .push_bind(repeat_period_s.map(|s| s.saturating_mul(1000)))
                        .push(") RETURNING gamer_id");
                    let counted: HashSet<GamerId> =
                        q.build_query_scalar::<GamerId>().fetch_all(&mut **tx).await?.into_iter().collect();
                    let mut taken = 0i64;
                    for (gamer, group) in groups {
                        if counted.contains(&gamer) {
                            taken += group.len() as i64;
                            paid.extend(group);
                        } else {
                            // Refused by the gamer's cap or period: one by one.
                            slow.extend(group.into_iter().map(|(i, _)| i));
                        }
                    }
                    if taken > 0 {
                        counts.push((quest_id, taken));
                    }
                }
                Ok((paid, slow, counts))
            }

            /// Moves each quest's completion counter by what a chunk counted,
            /// in quest order, guarded by its cap; false if a cap would be
            /// crossed (the caller rolls back and goes one by one). Done last
            /// in the chunk's transaction, so the quest row is locked only
            /// until the commit and chunks of one quest write side by side.
            async fn count_quests(
                tx: &mut sqlx::Transaction<'static, $db>,
                counts: &[(QuestId, i64)],
            ) -> $crate::store::StoreResult<bool> {
                for (quest_id, n) in counts {
                    let taken = sqlx::query(
                        "UPDATE quest SET completions = completions + $2 \
                         WHERE quest_id = $1 AND (max_completions IS NULL OR completions + $2 <= max_completions)",
                    )
                    .bind(*quest_id)
                    .bind(*n)
                    .execute(&mut **tx)
                    .await?;
                    if taken.rows_affected() != 1 {
                        return Ok(false);
                    }
                }
                Ok(true)
            }

            /// The set-based `finish_attempts` of one chunk, inside `tx`.
            /// `None`: something only the per-activity path decides came up
            /// (a payout item that already exists, a quest cap crossed since
            /// pricing read it); the caller rolls back and takes that path
            /// for the whole chunk.
            async fn finish_chunk(
                tx: &mut sqlx::Transaction<'static, $db>,
                items: &[$crate::store::CheckedActivity],
            ) -> $crate::store::StoreResult<Option<Vec<$crate::store::Finished>>> {
                use std::collections::{HashMap, HashSet};
                use $crate::store::{CheckedActivity, Finished, Verdict};
                // The claims still ours, held until commit. Their attempts are
                // counted by the status write below: one new version of each
                // row, not two (on PostgreSQL a second update of a row this
                // transaction wrote also re-checks its four foreign keys).
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT activity.activity_id FROM (");
                q.push_values(items, |mut b, i| {
                    b.push_bind(i.claim.activity_id).push_bind(i.claim.claim_until_ms);
                });
                q.push(
                    ") AS v JOIN activity ON activity.activity_id = v.column1 \
                     AND activity.claimed_until_ms = v.column2 \
                     WHERE activity.status = 'validating' AND activity.activity_id IN (",
                );
                Self::push_ids(&mut q, items.iter().map(|i| i.claim.activity_id));
                q.push(")").push(<$store>::ROW_LOCK);
                let ours: HashSet<ActivityId> =
                    q.build_query_scalar::<ActivityId>().fetch_all(&mut **tx).await?.into_iter().collect();
                let mine: Vec<&CheckedActivity> =
                    items.iter().filter(|i| ours.contains(&i.claim.activity_id)).collect();
                let mut done: HashMap<ActivityId, Finished> = HashMap::new();
                if !mine.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO activity_attempt (activity_id, attempt_no, at_ms, duration_ms, outcome, detail, \
                         evidence_json) ",
                    );
                    q.push_values(&mine, |mut b, i| {
                        b.push_bind(i.claim.activity_id)
                            .push_bind(i.claim.attempts + 1)
                            .push_bind(i.attempt.at_ms)
                            .push_bind(i.attempt.duration_ms)
                            .push_bind(i.attempt.outcome)
                            .push_bind(&i.attempt.detail)
                            .push_bind(&i.attempt.evidence_json);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                // Validated: priced and counted, set-based where a whole group can be.
                let validated: Vec<&CheckedActivity> =
                    mine.iter().copied().filter(|i| i.verdict == Verdict::Validated).collect();
                let (paid, slow, counts) = Self::count_chunk(tx, validated).await?;
                if !paid.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO payout_item (activity_id, quest_id, campaign_id, gamer_id, amount_minor, state, \
                         created_at_ms) ",
                    );
                    q.push_values(&paid, |mut b, (i, p)| {
                        b.push_bind(p.activity_id)
                            .push_bind(p.quest_id)
                            .push_bind(p.campaign_id)
                            .push_bind(p.gamer_id)
                            .push_bind(p.reward_minor)
                            .push_bind("eligible")
                            .push_bind(i.attempt.at_ms);
                    });
                    q.push(" ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id, payout_item_id");
                    let items_made: HashMap<ActivityId, PayoutItemId> = q
                        .build_query_as::<(ActivityId, PayoutItemId)>()
                        .fetch_all(&mut **tx)
                        .await?
                        .into_iter()
                        .collect();
                    if items_made.len() != paid.len() {
                        return Ok(None);
                    }
                    // The leaderboards they count for, in this same transaction.
                    if !<$store>::SHARE_LOCK.is_empty() {
                        let now = paid.iter().map(|(i, _)| i.attempt.at_ms).min().unwrap_or_default();
                        sqlx::query(&format!(
                            "SELECT l.leaderboard_id FROM leaderboard l \
                             WHERE l.ends_at_ms IS NULL OR $1 < l.ends_at_ms ORDER BY l.leaderboard_id{}",
                            <$store>::SHARE_LOCK
                        ))
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    }
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO leaderboard_score (leaderboard_id, gamer_id, points, tokens_minor, score, reached_at_ms) \
                         SELECT l.leaderboard_id, v.column1, COUNT(*), SUM(v.column2), \
                           CASE WHEN l.ranked_by = 'tokens' THEN SUM(v.column2) ELSE COUNT(*) END, MAX(v.column3) FROM (",
                    );
                    q.push_values(&paid, |mut b, (i, p)| {
                        b.push_bind(p.gamer_id)
                            .push_bind(p.reward_minor)
                            .push_bind(p.occurred_at_ms)
                            .push_bind(p.campaign_id)
                            .push_bind(i.attempt.at_ms);
                    });
                    q.push(
                        ") AS v JOIN leaderboard l ON (l.campaign_id IS NULL OR l.campaign_id = v.column4) \
                           AND l.starts_at_ms <= v.column3 \
                           AND (l.ends_at_ms IS NULL OR (v.column3 < l.ends_at_ms AND v.column5 < l.ends_at_ms)) \
                         WHERE true GROUP BY l.leaderboard_id, l.ranked_by, v.column1 ORDER BY l.leaderboard_id, v.column1 \
                         ON CONFLICT (leaderboard_id, gamer_id) DO UPDATE SET \
                           points = leaderboard_score.points + excluded.points, \
                           tokens_minor = leaderboard_score.tokens_minor + excluded.tokens_minor, \
                           score = leaderboard_score.score + excluded.score, \
                           reached_at_ms = CASE WHEN excluded.reached_at_ms > leaderboard_score.reached_at_ms \
                             THEN excluded.reached_at_ms ELSE leaderboard_score.reached_at_ms END",
                    );
                    q.build().execute(&mut **tx).await?;
                    for (i, p) in &paid {
                        done.insert(i.claim.activity_id, Finished::Done {
                            status: "validated".into(),
                            reason: None,
                            payout_item_id: items_made.get(&p.activity_id).copied(),
                        });
                    }
                }
                // The rest of the validated, one by one (this writes their status too).
                let slow_ids: HashSet<ActivityId> = slow.iter().map(|i| i.claim.activity_id).collect();
                if !slow_ids.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE activity SET attempts = attempts + 1 WHERE activity_id IN (");
                    Self::push_ids(&mut q, slow_ids.iter().copied());
                    q.push(")");
                    q.build().execute(&mut **tx).await?;
                }
                for i in slow {
                    let finished = Self::apply_verdict(tx, i.claim.activity_id, &Verdict::Validated, i.attempt.at_ms).await?;
                    done.insert(i.claim.activity_id, finished);
                }
                // Every other status, one statement.
                let mut statuses: Vec<(ActivityId, &'static str, Option<String>, Option<i64>, i64)> = Vec::new();
                for i in &mine {
                    let id = i.claim.activity_id;
                    if slow_ids.contains(&id) {
                        continue;
                    }
                    if i.verdict == Verdict::Validated {
                        statuses.push((id, "validated", None, None, i.attempt.at_ms));
                    } else {
                        let (status, reason, retry_at) = $crate::store::validation_sql::unpaid_outcome(&i.verdict);
                        done.insert(id, Finished::Done { status: status.into(), reason: reason.clone(), payout_item_id: None });
                        statuses.push((id, status, reason, retry_at, i.attempt.at_ms));
                    }
                }
                if !statuses.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE activity SET status = v.column2, reason = v.column3, claimed_until_ms = NULL, \
                         attempts = activity.attempts + 1, next_attempt_at_ms = COALESCE(v.column4, activity.next_attempt_at_ms), \
                         validated_at_ms = CASE WHEN v.column2 = 'validated' THEN v.column5 ELSE activity.validated_at_ms END, \
                         rewarded_at_ms = CASE WHEN v.column2 = 'validated' THEN v.column5 ELSE activity.rewarded_at_ms END \
                         FROM (",
                    );
                    q.push_values(&statuses, |mut b, (id, status, reason, retry_at, at_ms)| {
                        b.push_bind(*id).push_bind(*status).push_bind(reason).push_bind(*retry_at).push_bind(*at_ms);
                    });
                    q.push(") AS v WHERE activity.activity_id = v.column1 AND activity.activity_id IN (");
                    Self::push_ids(&mut q, statuses.iter().map(|s| s.0));
                    q.push(")");
                    q.build().execute(&mut **tx).await?;
                }
                // One audit record per activity, as the per-activity path writes.
                let actor = $crate::audit::AuditActor::system("validation");
                let audits: Vec<$crate::audit::AuditRecord> = mine
                    .iter()
                    .filter_map(|i| match done.get(&i.claim.activity_id) {
                        Some(Finished::Done { status, reason, payout_item_id }) => Some(
                            $crate::audit::AuditRecord::new(
                                &actor,
                                $crate::store::validation_sql::audit_action(status),
                                format!("activity:{}", i.claim.activity_id),
                            )
                            .after(&serde_json::json!({
                                "status": status,
                                "reason": reason,
                                "payout_item_id": payout_item_id,
                                "attempt": i.claim.attempts + 1,
                            })),
                        ),
                        _ => None,
                    })
                    .collect();
                Self::insert_audits(&mut **tx, &audits).await?;
                if !Self::count_quests(tx, &counts).await? {
                    return Ok(None);
                }
                Ok(Some(
                    items
                        .iter()
                        .map(|i| done.remove(&i.claim.activity_id).unwrap_or($crate::store::Finished::LostClaim))
                        .collect(),
                ))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ValidationStore for $store {
            async fn claim_activities(
                &self,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
                take_expired: bool,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ClaimedActivity>> {
                let until = now_ms + lease_ms;
                let mut tx = self.begin_keyed_write().await?;
                // Two claims, each reading its own index in order: claims
                // whose lease ran out (few: at most what workers hold), by
                // lease, then received work, earliest due first. One query
                // with `OR` could read neither in order and sorted every due
                // row each round.
                static EXPIRED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!(
                    "UPDATE activity SET claimed_until_ms = $1 WHERE activity_id IN ( \
                       SELECT activity_id FROM activity WHERE status = 'validating' AND claimed_until_ms < $2 \
                       ORDER BY claimed_until_ms LIMIT $3{}) RETURNING activity_id",
                    <$store>::CLAIM_LOCK
                ));
                static DUE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!(
                    "UPDATE activity SET status = 'validating', claimed_until_ms = $1 WHERE activity_id IN ( \
                       SELECT activity_id FROM activity WHERE status = 'received' AND next_attempt_at_ms <= $2 \
                       ORDER BY next_attempt_at_ms LIMIT $3{}) RETURNING activity_id",
                    <$store>::CLAIM_LOCK
                ));
                let mut ids = if take_expired {
                    sqlx::query_scalar::<_, ActivityId>(EXPIRED.as_str())
                        .bind(until)
                        .bind(now_ms)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *tx)
                        .await?
                } else {
                    Vec::new()
                };
                let room = i64::from(limit) - ids.len() as i64;
                if room > 0 {
                    ids.extend(
                        sqlx::query_scalar::<_, ActivityId>(DUE.as_str())
                            .bind(until)
                            .bind(now_ms)
                            .bind(room)
                            .fetch_all(&mut *tx)
                            .await?,
                    );
                }
                let mut claimed: Vec<$crate::store::ClaimedActivity> = Vec::with_capacity(ids.len());
                if !ids.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new($crate::store::validation_sql::CLAIMED_SELECT);
                    q.push(" WHERE a.activity_id IN (");
                    Self::push_ids(&mut q, ids.iter().copied());
                    q.push(") ORDER BY a.next_attempt_at_ms, a.activity_id");
                    claimed.extend(
                        q.build_query_as::<$crate::store::validation_sql::ClaimedRow>()
                            .fetch_all(&mut *tx)
                            .await?
                            .into_iter()
                            .map(Into::into),
                    );
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
                    let action = $crate::store::validation_sql::audit_action(status);
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

            async fn finish_attempts(
                &self,
                items: &[$crate::store::CheckedActivity],
            ) -> $crate::store::StoreResult<Vec<$crate::store::Finished>> {
                let mut results = Vec::with_capacity(items.len());
                for chunk in items.chunks($crate::store::FINISH_BATCH_MAX) {
                    let mut tx = self.begin_keyed_write().await?;
                    if let Some(done) = Self::finish_chunk(&mut tx, chunk).await? {
                        tx.commit().await?;
                        results.extend(done);
                        continue;
                    }
                    tx.rollback().await?;
                    for i in chunk {
                        results.push(
                            $crate::store::ValidationStore::finish_attempt(self, &i.claim, &i.attempt, &i.verdict).await?,
                        );
                    }
                }
                Ok(results)
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
