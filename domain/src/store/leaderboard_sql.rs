//! Leaderboards, shared SQL for both backends (see `sql.rs`). A score row
//! per gamer and leaderboard is moved in the transaction that validates an
//! activity (`score_activity`, called by the validation store); a ranking
//! is then an index range read (`leaderboard_rank`).

use payquest_types::{CampaignId, GamerId};

/// Adds one validated activity to the score of every leaderboard it counts
/// for: its campaign's (or every campaign's), its time inside the period,
/// and validated (`now_ms`) before the period's end, so a closed period
/// never moves. `{lock}` is the backend's share lock on the leaderboard row
/// (a redefinition, which rebuilds the scores, waits for it, or it for the
/// redefinition).
pub const SCORE_ACTIVITY: &str = "\
    INSERT INTO leaderboard_score (leaderboard_id, gamer_id, points, tokens_minor, score, reached_at_ms) \
    SELECT l.leaderboard_id, $1, 1, $2, CASE WHEN l.ranked_by = 'tokens' THEN $2 ELSE 1 END, $3 \
    FROM leaderboard l \
    WHERE (l.campaign_id IS NULL OR l.campaign_id = $4) AND l.starts_at_ms <= $3 \
      AND (l.ends_at_ms IS NULL OR ($3 < l.ends_at_ms AND $5 < l.ends_at_ms)){lock} \
    ON CONFLICT (leaderboard_id, gamer_id) DO UPDATE SET \
      points = leaderboard_score.points + 1, \
      tokens_minor = leaderboard_score.tokens_minor + excluded.tokens_minor, \
      score = leaderboard_score.score + excluded.score, \
      reached_at_ms = CASE WHEN excluded.reached_at_ms > leaderboard_score.reached_at_ms \
        THEN excluded.reached_at_ms ELSE leaderboard_score.reached_at_ms END";

/// The same rule over every validated, rewarded activity at once: what a
/// (re)definition writes, and what the tests check the scores against.
pub(super) const REBUILD: &str = "\
    INSERT INTO leaderboard_score (leaderboard_id, gamer_id, points, tokens_minor, score, reached_at_ms) \
    SELECT $1, p.gamer_id, COUNT(*), SUM(p.amount_minor), \
      CASE WHEN $2 = 'tokens' THEN SUM(p.amount_minor) ELSE COUNT(*) END, MAX(a.occurred_at_ms) \
    FROM payout_item p JOIN activity a ON a.activity_id = p.activity_id \
    WHERE ($3 IS NULL OR p.campaign_id = $3) AND a.occurred_at_ms >= $4 \
      AND ($5 IS NULL OR (a.occurred_at_ms < $5 AND a.validated_at_ms < $5)) \
    GROUP BY p.gamer_id";

/// A leaderboard as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaderboardRecord {
    pub leaderboard_id: i64,
    pub slug: String,
    pub campaign_id: Option<CampaignId>,
    pub ranked_by: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: Option<i64>,
}

/// One gamer's line of a ranking.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScoreRow {
    pub gamer_id: GamerId,
    pub wallet: String,
    pub points: i64,
    pub tokens_minor: i64,
    pub score: i64,
    pub reached_at_ms: i64,
}

/// Implements `LeaderboardStore` for `$store` (which defines `SHARE_LOCK`).
macro_rules! impl_leaderboards {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::LeaderboardStore for $store {
            async fn define_leaderboard(
                &self,
                def: &$crate::store::LeaderboardDef,
                now_ms: i64,
            ) -> $crate::store::StoreResult<i64> {
                use $crate::store::leaderboard_sql::LeaderboardRecord;
                const SELECT: &str = "SELECT leaderboard_id, slug, campaign_id, ranked_by, starts_at_ms, \
                    ends_at_ms FROM leaderboard WHERE slug = $1";
                let same = |r: &LeaderboardRecord| {
                    r.campaign_id == def.campaign_id
                        && r.ranked_by == def.ranked_by
                        && r.starts_at_ms == def.starts_at_ms
                        && r.ends_at_ms == def.ends_at_ms
                };
                if let Some(r) = sqlx::query_as::<_, LeaderboardRecord>(SELECT)
                    .bind(&def.slug)
                    .fetch_optional(&self.pool)
                    .await?
                {
                    if same(&r) {
                        return Ok(r.leaderboard_id);
                    }
                }
                // New, or its rule changed: (re)define and rebuild in one
                // transaction. The row's write lock makes a validation that
                // would score it wait (or this wait for the validation).
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO leaderboard (slug, campaign_id, ranked_by, starts_at_ms, ends_at_ms, defined_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO UPDATE SET \
                     campaign_id = excluded.campaign_id, ranked_by = excluded.ranked_by, \
                     starts_at_ms = excluded.starts_at_ms, ends_at_ms = excluded.ends_at_ms, \
                     defined_at_ms = excluded.defined_at_ms",
                )
                .bind(&def.slug)
                .bind(def.campaign_id)
                .bind(&def.ranked_by)
                .bind(def.starts_at_ms)
                .bind(def.ends_at_ms)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                let id: i64 = sqlx::query_scalar("SELECT leaderboard_id FROM leaderboard WHERE slug = $1")
                    .bind(&def.slug)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM leaderboard_score WHERE leaderboard_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($crate::store::leaderboard_sql::REBUILD)
                    .bind(id)
                    .bind(&def.ranked_by)
                    .bind(def.campaign_id)
                    .bind(def.starts_at_ms)
                    .bind(def.ends_at_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn leaderboard_page(
                &self,
                leaderboard_id: i64,
                offset: u32,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::leaderboard_sql::ScoreRow>> {
                Ok(sqlx::query_as(
                    "SELECT s.gamer_id, g.wallet, s.points, s.tokens_minor, s.score, s.reached_at_ms \
                     FROM leaderboard_score s JOIN gamer g ON g.gamer_id = s.gamer_id \
                     WHERE s.leaderboard_id = $1 \
                     ORDER BY s.score DESC, s.reached_at_ms ASC, s.gamer_id ASC LIMIT $2 OFFSET $3",
                )
                .bind(leaderboard_id)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn leaderboard_size(&self, leaderboard_id: i64) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM leaderboard_score WHERE leaderboard_id = $1")
                    .bind(leaderboard_id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn leaderboard_rank(
                &self,
                leaderboard_id: i64,
                gamer_id: GamerId,
            ) -> $crate::store::StoreResult<Option<(i64, $crate::store::leaderboard_sql::ScoreRow)>> {
                let Some(me) = sqlx::query_as::<_, $crate::store::leaderboard_sql::ScoreRow>(
                    "SELECT s.gamer_id, g.wallet, s.points, s.tokens_minor, s.score, s.reached_at_ms \
                     FROM leaderboard_score s JOIN gamer g ON g.gamer_id = s.gamer_id \
                     WHERE s.leaderboard_id = $1 AND s.gamer_id = $2",
                )
                .bind(leaderboard_id)
                .bind(gamer_id)
                .fetch_optional(&self.pool)
                .await?
                else {
                    return Ok(None);
                };
                let ahead: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM leaderboard_score WHERE leaderboard_id = $1 AND \
                     (score > $2 OR (score = $2 AND (reached_at_ms < $3 OR (reached_at_ms = $3 AND gamer_id < $4))))",
                )
                .bind(leaderboard_id)
                .bind(me.score)
                .bind(me.reached_at_ms)
                .bind(gamer_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(Some((ahead + 1, me)))
            }
        }
    };
}
pub(super) use impl_leaderboards;
