//! Campaigns and quests, shared SQL for both backends (see `sql.rs`).

use payquest_types::Amount;
use payquest_types::{CampaignId, CostCentreId, QuestId, StaffUserId};

use super::{CampaignRecord, CostCentreRecord, QuestRecord};

pub(super) const CAMPAIGN_SELECT: &str = "\
    SELECT c.campaign_id, c.name, c.owner_user_id, u.email AS owner_email, c.starts_at_ms, \
      c.ends_at_ms, c.status, CAST(c.alert_threshold_pct AS BIGINT) AS alert_threshold_pct, \
      b.cost_centre_id, b.code, b.name AS cost_centre_name, b.funded_minor, b.reserved_minor, b.spent_minor \
    FROM campaign c \
    JOIN staff_user u ON u.staff_user_id = c.owner_user_id \
    JOIN cost_centre b ON b.cost_centre_id = c.cost_centre_id";

#[derive(sqlx::FromRow)]
pub(super) struct CampaignRow {
    pub campaign_id: CampaignId,
    pub name: String,
    pub owner_user_id: StaffUserId,
    pub owner_email: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    #[sqlx(try_from = "String")]
    pub status: payquest_types::CampaignStatus,
    pub alert_threshold_pct: i64,
    pub cost_centre_id: CostCentreId,
    pub code: String,
    pub cost_centre_name: String,
    pub funded_minor: i64,
    pub reserved_minor: i64,
    pub spent_minor: i64,
}

impl From<CampaignRow> for CampaignRecord {
    fn from(r: CampaignRow) -> Self {
        CampaignRecord {
            campaign_id: r.campaign_id,
            name: r.name,
            owner_user_id: r.owner_user_id,
            owner_email: r.owner_email,
            starts_at_ms: r.starts_at_ms,
            ends_at_ms: r.ends_at_ms,
            status: r.status,
            alert_threshold_pct: r.alert_threshold_pct,
            budget: CostCentreRecord {
                cost_centre_id: r.cost_centre_id,
                code: r.code,
                name: r.cost_centre_name,
                funded: Amount::from_minor(r.funded_minor),
                reserved: Amount::from_minor(r.reserved_minor),
                spent: Amount::from_minor(r.spent_minor),
            },
        }
    }
}

pub(super) const QUEST_COLUMNS: &str =
    "quest_id, campaign_id, name, reward_minor, max_completions, \
    max_per_gamer, repeat_period_s, validator_kind, validator_config_json, active";

#[derive(sqlx::FromRow)]
pub(super) struct QuestRow {
    pub quest_id: QuestId,
    pub campaign_id: CampaignId,
    pub name: String,
    pub reward_minor: i64,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub validator_kind: String,
    pub validator_config_json: String,
    pub active: bool,
}

impl From<QuestRow> for QuestRecord {
    fn from(r: QuestRow) -> Self {
        QuestRecord {
            quest_id: r.quest_id,
            campaign_id: r.campaign_id,
            name: r.name,
            reward: Amount::from_minor(r.reward_minor),
            max_completions: r.max_completions,
            max_per_gamer: r.max_per_gamer,
            repeat_period_s: r.repeat_period_s,
            validator_kind: r.validator_kind,
            validator_config_json: r.validator_config_json,
            active: r.active,
        }
    }
}

pub(super) fn map_reference_errors(
    e: sqlx::Error,
    unique: &str,
    missing: &'static str,
) -> super::StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            super::StoreError::Conflict(unique.to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            super::StoreError::NotFound(missing)
        }
        _ => e.into(),
    }
}

/// Implements `CampaignStore` for `$store`.
macro_rules! impl_campaigns {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::CampaignStore for $store {
            async fn create_campaign(
                &self,
                new: &$crate::store::NewCampaign<'_>,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::CampaignRecord> {
                let mut tx = self.begin_write().await?;
                let id = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO campaign (name, owner_user_id, cost_centre_id, starts_at_ms, ends_at_ms, \
                     status, alert_threshold_pct, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7) RETURNING campaign_id",
                )
                .bind(new.name)
                .bind(new.owner_user_id)
                .bind(new.cost_centre_id)
                .bind(new.starts_at_ms)
                .bind(new.ends_at_ms)
                .bind(new.alert_threshold_pct)
                .bind(audit.at_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    $crate::store::campaigns_sql::map_reference_errors(
                        e,
                        "that cost centre already belongs to a campaign",
                        "owner or cost centre",
                    )
                })?;
                Self::insert_audit_as(&mut tx, audit, format!("campaign:{id}")).await?;
                let sql = format!("{} WHERE c.campaign_id = $1", $crate::store::campaigns_sql::CAMPAIGN_SELECT);
                let row = sqlx::query_as::<_, $crate::store::campaigns_sql::CampaignRow>(&sql)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn campaign(
                &self,
                campaign_id: CampaignId,
            ) -> $crate::store::StoreResult<Option<$crate::store::CampaignRecord>> {
                let sql = format!("{} WHERE c.campaign_id = $1", $crate::store::campaigns_sql::CAMPAIGN_SELECT);
                self.find_one::<$crate::store::campaigns_sql::CampaignRow, _>(&sql, campaign_id).await
            }

            async fn list_campaigns(
                &self,
                owner_user_id: Option<StaffUserId>,
                after_id: CampaignId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::CampaignRecord>> {
                let sql = format!(
                    "{} WHERE c.campaign_id > $1 AND ($2 = 0 OR c.owner_user_id = $2) \
                     ORDER BY c.campaign_id LIMIT $3",
                    $crate::store::campaigns_sql::CAMPAIGN_SELECT
                );
                Ok(sqlx::query_as::<_, $crate::store::campaigns_sql::CampaignRow>(&sql)
                    .bind(after_id)
                    .bind(owner_user_id.map_or(0, StaffUserId::get))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn set_campaign_status(
                &self,
                campaign_id: CampaignId,
                status: payquest_types::CampaignStatus,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE campaign SET status = $1, updated_at_ms = $2 WHERE campaign_id = $3")
                    .bind(status.as_str())
                    .bind(audit.at_ms)
                    .bind(campaign_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::NotFound("campaign"));
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_quest(
                &self,
                new: &$crate::store::NewQuest<'_>,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::QuestRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO quest (campaign_id, name, reward_minor, max_completions, max_per_gamer, \
                     repeat_period_s, validator_kind, validator_config_json, active, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9) RETURNING {}",
                    $crate::store::campaigns_sql::QUEST_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::campaigns_sql::QuestRow>(&sql)
                    .bind(new.campaign_id)
                    .bind(new.name)
                    .bind(new.reward.minor())
                    .bind(new.max_completions)
                    .bind(new.max_per_gamer)
                    .bind(new.repeat_period_s)
                    .bind(new.validator_kind)
                    .bind(new.validator_config_json)
                    .bind(audit.at_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| $crate::store::campaigns_sql::map_reference_errors(e, "quest exists", "campaign"))?;
                Self::insert_audit_as(&mut tx, audit, format!("quest:{}", row.quest_id)).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn quest(&self, quest_id: QuestId) -> $crate::store::StoreResult<Option<$crate::store::QuestRecord>> {
                let sql = format!(
                    "SELECT {} FROM quest WHERE quest_id = $1",
                    $crate::store::campaigns_sql::QUEST_COLUMNS
                );
                self.find_one::<$crate::store::campaigns_sql::QuestRow, _>(&sql, quest_id).await
            }

            async fn set_quest_active(
                &self,
                quest_id: QuestId,
                active: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE quest SET active = $1, updated_at_ms = $2 WHERE quest_id = $3")
                    .bind(active)
                    .bind(audit.at_ms)
                    .bind(quest_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::NotFound("quest"));
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn quests_of(
                &self,
                campaign_id: CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::QuestRecord>> {
                let sql = format!(
                    "SELECT {} FROM quest WHERE campaign_id = $1 ORDER BY quest_id",
                    $crate::store::campaigns_sql::QUEST_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::campaigns_sql::QuestRow>(&sql)
                    .bind(campaign_id)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn budget_movements(
                &self,
                cost_centre_id: CostCentreId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::BudgetMovement>> {
                let mut rows = sqlx::query_as::<_, $crate::store::BudgetMovement>(
                    "SELECT j.at_ms, \
                       CAST(SUM(CASE WHEN e.account = 'funding' THEN -e.amount_minor ELSE 0 END) AS BIGINT) AS funded, \
                       CAST(SUM(CASE WHEN e.account = 'available' THEN e.amount_minor ELSE 0 END) AS BIGINT) AS available, \
                       CAST(SUM(CASE WHEN e.account = 'reserved' THEN e.amount_minor ELSE 0 END) AS BIGINT) AS reserved, \
                       CAST(SUM(CASE WHEN e.account = 'spent' THEN e.amount_minor ELSE 0 END) AS BIGINT) AS spent \
                     FROM ledger_journal j JOIN ledger_entry e ON e.ledger_journal_id = j.ledger_journal_id \
                     WHERE e.cost_centre_id = $1 GROUP BY j.ledger_journal_id, j.at_ms \
                     ORDER BY j.ledger_journal_id DESC LIMIT $2",
                )
                .bind(cost_centre_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.reverse();
                Ok(rows)
            }

            async fn stage_times(
                &self,
                campaign_id: CampaignId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<(i64, i64, Option<i64>, Option<i64>)>> {
                Ok(sqlx::query_as::<_, (i64, i64, Option<i64>, Option<i64>)>(
                    "SELECT a.occurred_at_ms, a.received_at_ms, a.validated_at_ms, a.rewarded_at_ms \
                     FROM activity a JOIN quest q ON q.quest_id = a.quest_id \
                     WHERE q.campaign_id = $1 ORDER BY a.activity_id DESC LIMIT $2",
                )
                .bind(campaign_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn unpaid_total(&self, campaign_id: CampaignId) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payout_item \
                     WHERE campaign_id = $1 AND state IN ('eligible', 'batched')",
                )
                .bind(campaign_id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn rewards_earned(
                &self,
                campaign_id: CampaignId,
                since_ms: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<(i64, i64)>> {
                let mut rows = sqlx::query_as::<_, (i64, i64)>(
                    "SELECT created_at_ms, amount_minor FROM payout_item \
                     WHERE campaign_id = $1 AND created_at_ms >= $2 \
                     ORDER BY payout_item_id DESC LIMIT $3",
                )
                .bind(campaign_id)
                .bind(since_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.reverse();
                Ok(rows)
            }

            async fn claim_budget_alert(&self, campaign_id: CampaignId, threshold_pct: i64, now_ms: i64) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO budget_alert (campaign_id, threshold_pct, alerted_at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (campaign_id, threshold_pct) DO NOTHING",
                )
                .bind(campaign_id)
                .bind(threshold_pct)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_budget_alert(&self, campaign_id: CampaignId, threshold_pct: i64) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM budget_alert WHERE campaign_id = $1 AND threshold_pct = $2")
                    .bind(campaign_id)
                    .bind(threshold_pct)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_campaigns;
