//! Gamers and activities, shared SQL for both backends (see `sql.rs`).
//! A batch is written with multi-row statements: one for gamers, one for
//! activities (`ON CONFLICT DO NOTHING`), one to read back what existed.

use super::ActivityRecord;
use std::collections::HashMap;

use payquest_types::{ActivityId, ApiClientId, QuestId};

#[derive(sqlx::FromRow)]
pub(super) struct ActivityRow {
    pub activity_id: ActivityId,
    pub api_client_id: ApiClientId,
    pub external_id: String,
    pub quest_id: QuestId,
    pub wallet: String,
    #[sqlx(try_from = "String")]
    pub status: payquest_types::ActivityStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub validated_at_ms: Option<i64>,
    pub rewarded_at_ms: Option<i64>,
}

impl From<ActivityRow> for ActivityRecord {
    fn from(r: ActivityRow) -> Self {
        ActivityRecord {
            activity_id: r.activity_id,
            api_client_id: r.api_client_id,
            external_id: r.external_id,
            quest_id: r.quest_id,
            wallet: r.wallet,
            status: r.status,
            reason: r.reason,
            attempts: r.attempts,
            occurred_at_ms: r.occurred_at_ms,
            received_at_ms: r.received_at_ms,
            validated_at_ms: r.validated_at_ms,
            rewarded_at_ms: r.rewarded_at_ms,
        }
    }
}

/// The batch's results in input order: each item's stored row, and whether
/// this call created it.
pub(super) fn stored_in_order(
    items: &[super::NewActivity],
    created: &HashMap<String, ActivityId>,
    existing: Vec<(String, ActivityId, String, String)>,
) -> super::StoreResult<Vec<super::StoredActivity>> {
    let existing: HashMap<String, (ActivityId, String, String)> = existing
        .into_iter()
        .map(|(ext, id, hash, status)| (ext, (id, hash, status)))
        .collect();
    items
        .iter()
        .map(|i| {
            let (activity_id, payload_hash, status) =
                existing.get(&i.external_id).cloned().ok_or_else(|| {
                    super::StoreError::Corrupt(format!("activity {} vanished", i.external_id))
                })?;
            Ok(super::StoredActivity {
                created: created.get(&i.external_id) == Some(&activity_id),
                activity_id,
                external_id: i.external_id.clone(),
                payload_hash,
                status: super::stored(status)?,
            })
        })
        .collect()
}

/// Implements `ActivityStore` for `$store`.
macro_rules! impl_activities {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Creates the batch's gamers that don't exist yet; every wallet's gamer id.
            async fn upsert_gamers(
                conn: &mut <$db as sqlx::Database>::Connection,
                items: &[$crate::store::NewActivity],
                at_ms: i64,
            ) -> $crate::store::StoreResult<std::collections::HashMap<String, GamerId>> {
                let wallets: std::collections::BTreeSet<&str> = items.iter().map(|i| i.wallet.as_str()).collect();
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO gamer (wallet, created_at_ms) ");
                q.push_values(&wallets, |mut b, w| {
                    b.push_bind(*w).push_bind(at_ms);
                });
                q.push(" ON CONFLICT (wallet) DO NOTHING");
                q.build().execute(&mut *conn).await?;
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT wallet, gamer_id FROM gamer WHERE wallet IN (");
                let mut list = q.separated(", ");
                for w in &wallets {
                    list.push_bind(*w);
                }
                q.push(")");
                Ok(q.build_query_as::<(String, GamerId)>().fetch_all(&mut *conn).await?.into_iter().collect())
            }

            /// Records the game and social accounts the batch names for its gamers.
            async fn link_accounts(
                conn: &mut <$db as sqlx::Database>::Connection,
                items: &[$crate::store::NewActivity],
                gamers: &std::collections::HashMap<String, GamerId>,
                at_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut links: std::collections::BTreeSet<(GamerId, &str, &str)> = Default::default();
                for i in items {
                    let gamer = gamers.get(&i.wallet).copied().unwrap_or_default();
                    if let Some(id) = &i.game_account_id {
                        links.insert((gamer, "game", id.as_str()));
                    }
                    if let Some(handle) = &i.social_handle {
                        links.insert((gamer, "social", handle.as_str()));
                    }
                }
                if links.is_empty() {
                    return Ok(());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO gamer_account (gamer_id, kind, account_ref, linked_at_ms) ",
                );
                q.push_values(&links, |mut b, (gamer, kind, reference)| {
                    b.push_bind(*gamer).push_bind(*kind).push_bind(*reference).push_bind(at_ms);
                });
                q.push(" ON CONFLICT (gamer_id, kind, account_ref) DO NOTHING");
                q.build().execute(&mut *conn).await?;
                Ok(())
            }

            /// Inserts the activities not reported before; the ids of those it
            /// created, by external id. The idempotency key is claimed in
            /// `activity_ref` (unique there, which a month-partitioned
            /// activity table cannot be), and only the keys it gave out are
            /// inserted as activities.
            async fn insert_new_activities(
                conn: &mut <$db as sqlx::Database>::Connection,
                api_client_id: ApiClientId,
                items: &[$crate::store::NewActivity],
                gamers: &std::collections::HashMap<String, GamerId>,
                received_at_ms: i64,
            ) -> $crate::store::StoreResult<std::collections::HashMap<String, ActivityId>> {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO activity_ref (api_client_id, external_id, payload_hash, received_at_ms) ",
                );
                q.push_values(items, |mut b, i| {
                    b.push_bind(api_client_id)
                        .push_bind(&i.external_id)
                        .push_bind(&i.payload_hash)
                        .push_bind(received_at_ms);
                });
                q.push(" ON CONFLICT (api_client_id, external_id) DO NOTHING RETURNING activity_id, external_id");
                let created: std::collections::HashMap<String, ActivityId> = q
                    .build_query_as::<(ActivityId, String)>()
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|(id, ext)| (ext, id))
                    .collect();
                let mut seen = std::collections::HashSet::new();
                let new: Vec<(&$crate::store::NewActivity, ActivityId)> = items
                    .iter()
                    .filter_map(|i| created.get(&i.external_id).map(|id| (i, *id)))
                    .filter(|(i, _)| seen.insert(i.external_id.as_str()))
                    .collect();
                if new.is_empty() {
                    return Ok(created);
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO activity (activity_id, api_client_id, external_id, payload_hash, quest_id, gamer_id, \
                     game_account_id, social_handle, evidence_json, signature, status, next_attempt_at_ms, \
                     occurred_at_ms, received_at_ms) ",
                );
                q.push_values(new, |mut b, (i, activity_id)| {
                    b.push_bind(activity_id)
                        .push_bind(api_client_id)
                        .push_bind(&i.external_id)
                        .push_bind(&i.payload_hash)
                        .push_bind(i.quest_id)
                        .push_bind(gamers.get(&i.wallet).copied().unwrap_or_default())
                        .push_bind(&i.game_account_id)
                        .push_bind(&i.social_handle)
                        .push_bind(&i.evidence_json)
                        .push_bind(&i.signature)
                        .push_bind("received")
                        .push_bind(received_at_ms)
                        .push_bind(i.occurred_at_ms)
                        .push_bind(received_at_ms);
                });
                q.build().execute(&mut *conn).await?;
                Ok(created)
            }

            /// The activities of the batch reported before, as stored now.
            /// Found by their key in `activity_ref` (unique, so the plan
            /// is a lookup per key whatever the statistics say), then by id.
            async fn read_back_activities(
                conn: &mut <$db as sqlx::Database>::Connection,
                api_client_id: ApiClientId,
                items: &[&$crate::store::NewActivity],
            ) -> $crate::store::StoreResult<Vec<(String, ActivityId, String, String)>> {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT r.external_id, r.activity_id, r.payload_hash, a.status FROM activity_ref r \
                     JOIN activity a ON a.activity_id = r.activity_id AND a.received_at_ms = r.received_at_ms \
                     WHERE r.api_client_id = ",
                );
                q.push_bind(api_client_id).push(" AND r.external_id IN (");
                let mut list = q.separated(", ");
                for i in items {
                    list.push_bind(&i.external_id);
                }
                q.push(")");
                Ok(q.build_query_as::<(String, ActivityId, String, String)>().fetch_all(&mut *conn).await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ActivityStore for $store {
            async fn insert_activities(
                &self,
                api_client_id: ApiClientId,
                items: &[$crate::store::NewActivity],
                received_at_ms: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StoredActivity>> {
                if items.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let gamers = Self::upsert_gamers(&mut tx, items, received_at_ms).await?;
                Self::link_accounts(&mut tx, items, &gamers, received_at_ms).await?;
                let created = Self::insert_new_activities(&mut tx, api_client_id, items, &gamers, received_at_ms).await?;
                // What this call created is known; only the rest is read back.
                let mut existing: Vec<(String, ActivityId, String, String)> = Vec::with_capacity(items.len());
                let mut seen = std::collections::HashSet::new();
                let mut reported_before = Vec::new();
                for i in items {
                    if !seen.insert(i.external_id.as_str()) {
                        continue;
                    }
                    match created.get(&i.external_id) {
                        Some(id) => existing.push((i.external_id.clone(), *id, i.payload_hash.clone(), "received".to_owned())),
                        None => reported_before.push(i),
                    }
                }
                if !reported_before.is_empty() {
                    existing.extend(Self::read_back_activities(&mut tx, api_client_id, &reported_before).await?);
                }
                tx.commit().await?;
                $crate::store::activity_sql::stored_in_order(items, &created, existing)
            }

            async fn activity(&self, activity_id: ActivityId) -> $crate::store::StoreResult<Option<$crate::store::ActivityRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::activity_sql::ActivityRow>(
                    "SELECT a.activity_id, a.api_client_id, a.external_id, a.quest_id, g.wallet, a.status, a.reason, \
                     a.attempts, a.occurred_at_ms, a.received_at_ms, a.validated_at_ms, a.rewarded_at_ms \
                     FROM activity a JOIN gamer g ON g.gamer_id = a.gamer_id WHERE a.activity_id = $1",
                )
                .bind(activity_id)
                .fetch_optional(&self.pool)
                .await?
                .map(Into::into))
            }

            async fn list_activities(
                &self,
                f: &$crate::store::ActivityFilter,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ActivityListRow>> {
                let rows = sqlx::query_as::<_, (ActivityId, String, String, String, String, String, Option<String>, i64, i64, i64, Option<String>)>(
                    "SELECT a.activity_id, a.external_id, c.name, q.name, g.wallet, a.status, a.reason, a.attempts, \
                       a.occurred_at_ms, a.received_at_ms, p.state \
                     FROM activity a JOIN quest q ON q.quest_id = a.quest_id \
                       JOIN campaign c ON c.campaign_id = q.campaign_id JOIN gamer g ON g.gamer_id = a.gamer_id \
                       LEFT JOIN payout_item p ON p.activity_id = a.activity_id \
                     WHERE ($1 = 0 OR c.owner_user_id = $1) AND ($2 = 0 OR c.campaign_id = $2) \
                       AND ($3 = '' OR a.status = $3) AND a.activity_id < $4 \
                     ORDER BY a.activity_id DESC LIMIT $5",
                )
                .bind(f.owner_user_id.map_or(0, StaffUserId::get))
                .bind(f.campaign_id.map_or(0, CampaignId::get))
                .bind(f.status.clone().unwrap_or_default())
                .bind(f.before_id.map_or(i64::MAX, ActivityId::get))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows
                    .into_iter()
                    .map(|r| Ok($crate::store::ActivityListRow {
                        activity_id: r.0,
                        external_id: r.1,
                        campaign_name: r.2,
                        quest_name: r.3,
                        wallet: r.4,
                        status: $crate::store::stored(r.5)?,
                        reason: r.6,
                        attempts: r.7,
                        occurred_at_ms: r.8,
                        received_at_ms: r.9,
                        payout: r.10.map($crate::store::stored).transpose()?,
                    }))
                    .collect()
            }

            async fn linked_accounts(&self, wallet: &str) -> $crate::store::StoreResult<Vec<(String, String)>> {
                Ok(sqlx::query_as::<_, (String, String)>(
                    "SELECT a.kind, a.account_ref FROM gamer_account a JOIN gamer g ON g.gamer_id = a.gamer_id \
                     WHERE g.wallet = $1 ORDER BY a.kind, a.account_ref",
                )
                .bind(wallet)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn gamer(&self, gamer_id: GamerId) -> $crate::store::StoreResult<Option<$crate::store::GamerRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::GamerRecord>(
                    "SELECT gamer_id, wallet, created_at_ms FROM gamer WHERE gamer_id = $1",
                )
                .bind(gamer_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn gamer_activities(
                &self,
                gamer_id: GamerId,
                before: ActivityId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::GamerActivityRow>> {
                Ok(sqlx::query_as::<_, $crate::store::GamerActivityRow>(
                    "SELECT a.activity_id, q.name AS quest, c.campaign_id, c.name AS campaign, a.status, a.reason, \
                     a.received_at_ms, p.amount_minor, p.state AS reward_state, p.created_at_ms AS rewarded_at_ms, \
                     p.approved_at_ms, p.confirmed_at_ms, \
                     (SELECT ch.mined_tx_hash FROM chunk_member m \
                      JOIN payout_chunk ch ON ch.payout_chunk_id = m.payout_chunk_id \
                      WHERE m.payout_item_id = p.payout_item_id AND ch.mined_tx_hash IS NOT NULL \
                      ORDER BY ch.payout_chunk_id DESC LIMIT 1) AS tx_hash \
                     FROM activity a JOIN quest q ON q.quest_id = a.quest_id \
                     JOIN campaign c ON c.campaign_id = q.campaign_id \
                     LEFT JOIN payout_item p ON p.activity_id = a.activity_id \
                     WHERE a.gamer_id = $1 AND ($2 = 0 OR a.activity_id < $2) \
                     ORDER BY a.activity_id DESC LIMIT $3",
                )
                .bind(gamer_id)
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn gamer_for_wallet(&self, wallet: &str, now_ms: i64) -> $crate::store::StoreResult<$crate::store::GamerRecord> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO gamer (wallet, created_at_ms) VALUES ($1, $2) ON CONFLICT (wallet) DO NOTHING")
                    .bind(wallet)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                let gamer = sqlx::query_as::<_, $crate::store::GamerRecord>(
                    "SELECT gamer_id, wallet, created_at_ms FROM gamer WHERE wallet = $1",
                )
                .bind(wallet)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(gamer)
            }

            async fn link_gamer_account(
                &self,
                gamer_id: GamerId,
                kind: &str,
                account: &str,
                now_ms: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let taken: Option<i64> = sqlx::query_scalar(
                    "SELECT gamer_id FROM gamer_account WHERE kind = $1 AND account_ref = $2 AND gamer_id <> $3 LIMIT 1",
                )
                .bind(kind)
                .bind(account)
                .bind(gamer_id)
                .fetch_optional(&mut *tx)
                .await?;
                if taken.is_some() {
                    return Err($crate::store::StoreError::Conflict(
                        "this account is linked to another wallet".into(),
                    ));
                }
                sqlx::query(
                    "INSERT INTO gamer_account (gamer_id, kind, account_ref, linked_at_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (gamer_id, kind, account_ref) DO UPDATE SET linked_at_ms = excluded.linked_at_ms",
                )
                .bind(gamer_id)
                .bind(kind)
                .bind(account)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn unlink_gamer_account(
                &self,
                gamer_id: GamerId,
                kind: &str,
                account: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let gone = sqlx::query(
                    "DELETE FROM gamer_account WHERE gamer_id = $1 AND kind = $2 AND account_ref = $3",
                )
                .bind(gamer_id)
                .bind(kind)
                .bind(account)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if gone {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(gone)
            }

            async fn gamer_accounts(&self, gamer_id: GamerId, limit: u32) -> $crate::store::StoreResult<Vec<(String, String, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT kind, account_ref, linked_at_ms FROM gamer_account WHERE gamer_id = $1 \
                     ORDER BY kind, linked_at_ms DESC, account_ref LIMIT $2",
                )
                .bind(gamer_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn gamer_quests(&self, gamer_id: GamerId, limit: u32) -> $crate::store::StoreResult<Vec<$crate::store::GamerQuestRow>> {
                Ok(sqlx::query_as(
                    "SELECT q.quest_id, q.name AS quest, c.name AS campaign, q.reward_minor, q.max_per_gamer, \
                     COALESCE(t.completions, 0) AS completions \
                     FROM quest q JOIN campaign c ON c.campaign_id = q.campaign_id \
                     LEFT JOIN quest_gamer_tally t ON t.quest_id = q.quest_id AND t.gamer_id = $1 \
                     WHERE q.active AND c.status = 'active' ORDER BY q.quest_id LIMIT $2",
                )
                .bind(gamer_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn insert_siwe_nonce(&self, nonce: &str, now_ms: i64, expires_at_ms: i64) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO siwe_nonce (nonce, created_at_ms, expires_at_ms) VALUES ($1, $2, $3)")
                    .bind(nonce)
                    .bind(now_ms)
                    .bind(expires_at_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_siwe_nonce(&self, nonce: &str, now_ms: i64) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM siwe_nonce WHERE nonce = $1 AND expires_at_ms > $2")
                    .bind(nonce)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn sweep_siwe_nonces(&self, now_ms: i64) -> $crate::store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM siwe_nonce WHERE expires_at_ms <= $1")
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn count_activities(&self) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM activity").fetch_one(&self.pool).await?)
            }
        }
    };
}

pub(super) use impl_activities;
