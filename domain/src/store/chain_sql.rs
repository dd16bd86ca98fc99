//! The sending side and reconciliation; shared SQL for both backends (see
//! `sql.rs`). A chunk's signed transaction, its nonce and its items' move to
//! `submitted` are written in one transaction before anything is broadcast,
//! so a crash can only ever lead to re-sending the same bytes.

pub(super) const TRANSFER_COLUMNS: &str =
    "tx_hash, log_index, block_number, from_address, to_address, amount_minor, amount_raw";

pub(super) const CHAIN_TX_COLUMNS: &str = "chain_tx_id, payout_chunk_id, nonce, tx_hash, raw_tx, \
    max_fee_wei, priority_fee_wei, created_at_ms, broadcast_at_ms";

/// Implements `ChainStore` for `$store` (whose ledger macro provides `settle_in`).
macro_rules! impl_chain {
    ($store:ty, $db:ty) => {
        impl $store {
            /// disbursing → disbursed (or partially_failed) once no chunk is on its way.
            async fn finish_batch_if_done(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_batch_id: BatchId,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE payout_batch SET finished_at_ms = $1, state = CASE WHEN EXISTS \
                       (SELECT 1 FROM payout_chunk k WHERE k.payout_batch_id = $2 AND k.state = 'reverted') \
                       THEN 'partially_failed' ELSE 'disbursed' END \
                     WHERE payout_batch_id = $2 AND state = 'disbursing' AND NOT EXISTS \
                       (SELECT 1 FROM payout_chunk k WHERE k.payout_batch_id = $2 \
                        AND k.state IN ('planned', 'prepared', 'broadcast', 'mined'))",
                )
                .bind(now_ms)
                .bind(payout_batch_id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Ends a chunk unpaid (reverted or dropped): voids its
            /// reservations, fails its items, records the finding.
            async fn fail_chunk(
                &self,
                payout_chunk_id: ChunkId,
                tx_hash: Option<&str>,
                at_block: i64,
                finding: $crate::store::NewFinding,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                let batch = sqlx::query_scalar::<_, BatchId>(
                    "UPDATE payout_chunk SET state = 'reverted', mined_tx_hash = COALESCE($1, mined_tx_hash), \
                     updated_at_ms = $2, failed_at_block = $3, unpaid_checked_at_ms = NULL \
                     WHERE payout_chunk_id = $4 AND state IN ('prepared', 'broadcast', 'mined') \
                     RETURNING payout_batch_id",
                )
                .bind(tx_hash)
                .bind(now)
                .bind(at_block)
                .bind(payout_chunk_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(batch) = batch else { return Ok(false) };
                Self::settle_chunk(&mut tx, payout_chunk_id, $crate::store::Settlement::Void, audit).await?;
                sqlx::query(
                    "UPDATE payout_item SET state = 'failed' WHERE payout_chunk_id = $1 AND state = 'submitted'",
                )
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                Self::insert_findings(&mut tx, &[finding], now).await?;
                Self::finish_batch_if_done(&mut tx, batch, now).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            /// Stores a signed transaction of a chunk; its id.
            /// Whether `holder` has the wallet's lease now; the row lock it
            /// takes orders replicas writing for the same wallet.
            async fn lease_held(
                conn: &mut <$db as sqlx::Database>::Connection,
                wallet: &str,
                holder: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let leased = sqlx::query(
                    "UPDATE chain_wallet SET lease_until_ms = lease_until_ms WHERE address = $1 \
                     AND lease_holder = $2 AND lease_until_ms >= $3",
                )
                .bind(wallet)
                .bind(holder)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
                Ok(leased.rows_affected() == 1)
            }

            async fn insert_chain_tx(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_chunk_id: ChunkId,
                new: &$crate::store::NewChainTx,
                now_ms: i64,
            ) -> $crate::store::StoreResult<ChainTxId> {
                Ok(sqlx::query_scalar::<_, ChainTxId>(
                    "INSERT INTO chain_tx (payout_chunk_id, nonce, tx_hash, raw_tx, max_fee_wei, \
                     priority_fee_wei, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING chain_tx_id",
                )
                .bind(payout_chunk_id)
                .bind(new.nonce)
                .bind(&new.tx_hash)
                .bind(&new.raw_tx)
                .bind(&new.max_fee_wei)
                .bind(&new.priority_fee_wei)
                .bind(now_ms)
                .fetch_one(&mut *conn)
                .await?)
            }

            async fn settle_chunk(
                conn: &mut <$db as sqlx::Database>::Connection,
                payout_chunk_id: ChunkId,
                settlement: $crate::store::Settlement,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let ids = sqlx::query_scalar::<_, ReservationId>(
                    "SELECT budget_reservation_id FROM chunk_reservation WHERE payout_chunk_id = $1 \
                     ORDER BY budget_reservation_id",
                )
                .bind(payout_chunk_id)
                .fetch_all(&mut *conn)
                .await?;
                for id in ids {
                    Self::settle_in(&mut *conn, id, settlement, audit).await?;
                }
                Ok(())
            }

            async fn insert_findings(
                conn: &mut <$db as sqlx::Database>::Connection,
                findings: &[$crate::store::NewFinding],
                now_ms: i64,
            ) -> $crate::store::StoreResult<u64> {
                let mut n = 0;
                for f in findings {
                    n += sqlx::query(
                        "INSERT INTO recon_finding (kind, dedupe_key, payout_item_id, payout_chunk_id, \
                         tx_hash, detail, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (dedupe_key) DO NOTHING",
                    )
                    .bind(f.kind.as_str())
                    .bind(&f.dedupe_key)
                    .bind(f.payout_item_id)
                    .bind(f.payout_chunk_id)
                    .bind(&f.tx_hash)
                    .bind(&f.detail)
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                }
                Ok(n)
            }

            async fn insert_transfers(
                conn: &mut <$db as sqlx::Database>::Connection,
                transfers: &[$crate::store::ObservedTransfer],
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                for t in transfers {
                    sqlx::query(
                        "INSERT INTO chain_transfer (tx_hash, log_index, block_number, from_address, \
                         to_address, amount_minor, amount_raw, seen_at_ms) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tx_hash, log_index) DO NOTHING",
                    )
                    .bind(&t.tx_hash)
                    .bind(t.log_index)
                    .bind(t.block_number)
                    .bind(&t.from_address)
                    .bind(&t.to_address)
                    .bind(t.amount_minor)
                    .bind(&t.amount_raw)
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ChainStore for $store {
            async fn lease_wallet(
                &self,
                address: &str,
                evm_chain: i64,
                holder: &str,
                now_ms: i64,
                ttl_ms: i64,
            ) -> $crate::store::StoreResult<Option<i64>> {
                let mut tx = self.begin_write().await?;
                let next = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO chain_wallet (address, chain_id, next_nonce, lease_holder, lease_until_ms) \
                     VALUES ($1, $2, 0, $3, $4) \
                     ON CONFLICT (address) DO UPDATE SET lease_holder = excluded.lease_holder, \
                       lease_until_ms = excluded.lease_until_ms \
                     WHERE chain_wallet.chain_id = excluded.chain_id AND \
                       (chain_wallet.lease_holder = excluded.lease_holder OR chain_wallet.lease_until_ms < $5) \
                     RETURNING next_nonce",
                )
                .bind(address)
                .bind(evm_chain)
                .bind(holder)
                .bind(now_ms + ttl_ms)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(next)
            }

            async fn release_wallet(&self, address: &str, holder: &str) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE chain_wallet SET lease_holder = NULL, lease_until_ms = 0 \
                     WHERE address = $1 AND lease_holder = $2",
                )
                .bind(address)
                .bind(holder)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn raise_next_nonce(
                &self,
                address: &str,
                holder: &str,
                nonce: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let raised = sqlx::query_scalar::<_, i64>(
                    "UPDATE chain_wallet SET next_nonce = $1 WHERE address = $2 AND lease_holder = $3 \
                     AND next_nonce < $1 RETURNING next_nonce",
                )
                .bind(nonce)
                .bind(address)
                .bind(holder)
                .fetch_optional(&mut *tx)
                .await?;
                if raised.is_some() {
                    let audit = $crate::audit::AuditRecord::new(
                        &$crate::audit::AuditActor::system(holder),
                        "chain.nonce_raised",
                        format!("chain_wallet:{address}"),
                    )
                    .after(&serde_json::json!({ "next_nonce": nonce }));
                    Self::insert_audit(&mut tx, &audit).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn next_planned_chunk(
                &self,
            ) -> $crate::store::StoreResult<Option<$crate::store::PlannedChunk>> {
                let chunk = sqlx::query_as::<_, (ChunkId, BatchId)>(
                    "SELECT k.payout_chunk_id, k.payout_batch_id FROM payout_chunk k \
                     JOIN payout_batch b ON b.payout_batch_id = k.payout_batch_id \
                     WHERE k.state = 'planned' AND b.state = 'disbursing' \
                       AND b.withdraw_requested_by IS NULL \
                     ORDER BY k.payout_chunk_id LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                let Some((payout_chunk_id, payout_batch_id)) = chunk else { return Ok(None) };
                let entries = sqlx::query_as::<_, (PayoutItemId, String, i64)>(
                    "SELECT p.payout_item_id, g.wallet, p.amount_minor FROM payout_item p \
                     JOIN gamer g ON g.gamer_id = p.gamer_id WHERE p.payout_chunk_id = $1 \
                     ORDER BY p.payout_item_id",
                )
                .bind(payout_chunk_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(Some($crate::store::PlannedChunk { payout_chunk_id, payout_batch_id, entries }))
            }

            async fn store_signed_chunk(
                &self,
                payout_chunk_id: ChunkId,
                wallet: &str,
                holder: &str,
                now_ms: i64,
                new: &$crate::store::NewChainTx,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<Option<ChainTxId>> {
                let mut tx = self.begin_write().await?;
                let nonce_ok = sqlx::query(
                    "UPDATE chain_wallet SET next_nonce = next_nonce + 1 WHERE address = $1 \
                     AND lease_holder = $2 AND lease_until_ms >= $3 AND next_nonce = $4",
                )
                .bind(wallet)
                .bind(holder)
                .bind(now_ms)
                .bind(new.nonce)
                .execute(&mut *tx)
                .await?;
                if nonce_ok.rows_affected() != 1 {
                    return Ok(None);
                }
                // The batch row orders this against a withdrawal (which
                // updates it first): a batch being withdrawn is not signed.
                let batch_ok = sqlx::query(
                    "UPDATE payout_batch SET state = state WHERE payout_batch_id = \
                       (SELECT payout_batch_id FROM payout_chunk WHERE payout_chunk_id = $1) \
                     AND state = 'disbursing' AND withdraw_requested_by IS NULL",
                )
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                if batch_ok.rows_affected() != 1 {
                    return Ok(None);
                }
                let chunk_ok = sqlx::query(
                    "UPDATE payout_chunk SET state = 'prepared', wallet = $1, nonce = $2, updated_at_ms = $3 \
                     WHERE payout_chunk_id = $4 AND state = 'planned'",
                )
                .bind(wallet)
                .bind(new.nonce)
                .bind(now_ms)
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                if chunk_ok.rows_affected() != 1 {
                    return Ok(None);
                }
                let chain_tx_id = Self::insert_chain_tx(&mut tx, payout_chunk_id, new, now_ms).await?;
                sqlx::query(
                    "UPDATE payout_item SET state = 'submitted' WHERE payout_chunk_id = $1 AND state = 'approved'",
                )
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(Some(chain_tx_id))
            }

            async fn adopt_paid_chunk(
                &self,
                payout_chunk_id: ChunkId,
                wallet: &str,
                holder: &str,
                tx_hash: &str,
                nonce: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                if !Self::lease_held(&mut tx, wallet, holder, audit.at_ms).await? {
                    return Ok(false);
                }
                let chunk_ok = sqlx::query(
                    "UPDATE payout_chunk SET state = 'broadcast', wallet = $1, nonce = $2, updated_at_ms = $3 \
                     WHERE payout_chunk_id = $4 AND state = 'planned'",
                )
                .bind(wallet)
                .bind(nonce)
                .bind(audit.at_ms)
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                if chunk_ok.rows_affected() != 1 {
                    return Ok(false);
                }
                let adopted = $crate::store::NewChainTx {
                    nonce,
                    tx_hash: tx_hash.to_owned(),
                    raw_tx: String::new(),
                    max_fee_wei: "0".into(),
                    priority_fee_wei: "0".into(),
                };
                let chain_tx_id =
                    Self::insert_chain_tx(&mut tx, payout_chunk_id, &adopted, audit.at_ms).await?;
                sqlx::query("UPDATE chain_tx SET broadcast_at_ms = $1 WHERE chain_tx_id = $2")
                    .bind(audit.at_ms)
                    .bind(chain_tx_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE payout_item SET state = 'submitted' WHERE payout_chunk_id = $1 AND state = 'approved'",
                )
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                // Its transfers, if reconciliation saw them first, are explained now.
                sqlx::query(
                    "UPDATE recon_finding SET payout_chunk_id = $1, resolved_at_ms = $2, resolution_note = $3 \
                     WHERE kind = 'unknown_transfer' AND tx_hash = $4 AND resolved_at_ms IS NULL",
                )
                .bind(payout_chunk_id)
                .bind(audit.at_ms)
                .bind(format!("explained: the BatchPaid transaction of chunk {payout_chunk_id}"))
                .bind(tx_hash)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn store_replacement(
                &self,
                payout_chunk_id: ChunkId,
                wallet: &str,
                holder: &str,
                new: &$crate::store::NewChainTx,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                // Only the lease holder replaces (and its row lock orders replicas).
                if !Self::lease_held(&mut tx, wallet, holder, audit.at_ms).await? {
                    return Ok(false);
                }
                // Same nonce as the chunk's, so at most one of them can be mined.
                let ok = sqlx::query(
                    "UPDATE payout_chunk SET updated_at_ms = $1 WHERE payout_chunk_id = $2 \
                     AND nonce = $3 AND state IN ('prepared', 'broadcast')",
                )
                .bind(audit.at_ms)
                .bind(payout_chunk_id)
                .bind(new.nonce)
                .execute(&mut *tx)
                .await?;
                if ok.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_chain_tx(&mut tx, payout_chunk_id, new, audit.at_ms).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn inflight_chunks(
                &self,
                wallet: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::InflightChunk>> {
                let chunks = sqlx::query_as::<_, (ChunkId, BatchId, String, i64, Option<String>, Option<i64>, Option<String>)>(
                    "SELECT payout_chunk_id, payout_batch_id, state, nonce, mined_tx_hash, mined_block, \
                     mined_block_hash FROM payout_chunk WHERE wallet = $1 \
                     AND state IN ('prepared', 'broadcast', 'mined') ORDER BY nonce",
                )
                .bind(wallet)
                .fetch_all(&self.pool)
                .await?;
                let sql = format!(
                    "SELECT {} FROM chain_tx WHERE payout_chunk_id IN (SELECT payout_chunk_id FROM payout_chunk \
                     WHERE wallet = $1 AND state IN ('prepared', 'broadcast', 'mined')) ORDER BY chain_tx_id",
                    $crate::store::chain_sql::CHAIN_TX_COLUMNS
                );
                let txs = sqlx::query_as::<_, $crate::store::ChainTxRecord>(&sql)
                    .bind(wallet)
                    .fetch_all(&self.pool)
                    .await?;
                chunks
                    .into_iter()
                    .map(|c| Ok($crate::store::InflightChunk {
                        payout_chunk_id: c.0,
                        payout_batch_id: c.1,
                        state: $crate::store::stored(c.2)?,
                        nonce: c.3,
                        mined_tx_hash: c.4,
                        mined_block: c.5,
                        mined_block_hash: c.6,
                        txs: txs.iter().filter(|t| t.payout_chunk_id == c.0).cloned().collect(),
                    }))
                    .collect()
            }

            async fn mark_broadcast(&self, chain_tx_id: ChainTxId, now_ms: i64) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let chunk = sqlx::query_scalar::<_, ChunkId>(
                    "UPDATE chain_tx SET broadcast_at_ms = COALESCE(broadcast_at_ms, $1) \
                     WHERE chain_tx_id = $2 RETURNING payout_chunk_id",
                )
                .bind(now_ms)
                .bind(chain_tx_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(chunk) = chunk {
                    let moved = sqlx::query(
                        "UPDATE payout_chunk SET state = 'broadcast', updated_at_ms = $1 \
                         WHERE payout_chunk_id = $2 AND state = 'prepared'",
                    )
                    .bind(now_ms)
                    .bind(chunk)
                    .execute(&mut *tx)
                    .await?;
                    if moved.rows_affected() == 1 {
                        let audit = $crate::audit::AuditRecord::new(
                            &$crate::audit::AuditActor::system("disbursement"),
                            "payout.chunk_broadcast",
                            format!("payout_chunk:{chunk}"),
                        )
                        .after(&serde_json::json!({ "chain_tx_id": chain_tx_id }));
                        Self::insert_audit(&mut tx, &audit).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn record_mined(
                &self,
                payout_chunk_id: ChunkId,
                tx_hash: &str,
                block: i64,
                block_hash: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let moved = sqlx::query(
                    "UPDATE payout_chunk SET state = 'mined', mined_tx_hash = $1, mined_block = $2, \
                     mined_block_hash = $3, updated_at_ms = $4 WHERE payout_chunk_id = $5 \
                     AND state IN ('prepared', 'broadcast', 'mined')",
                )
                .bind(tx_hash)
                .bind(block)
                .bind(block_hash)
                .bind(now_ms)
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() == 1 {
                    let audit = $crate::audit::AuditRecord::new(
                        &$crate::audit::AuditActor::system("disbursement"),
                        "payout.chunk_mined",
                        format!("payout_chunk:{payout_chunk_id}"),
                    )
                    .after(&serde_json::json!({ "tx_hash": tx_hash, "block": block, "block_hash": block_hash }));
                    Self::insert_audit(&mut tx, &audit).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn unmine_chunk(
                &self,
                payout_chunk_id: ChunkId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.transition_audited(
                    "UPDATE payout_chunk SET state = 'broadcast', mined_tx_hash = NULL, mined_block = NULL, \
                     mined_block_hash = NULL, updated_at_ms = $1 WHERE payout_chunk_id = $2 AND state = 'mined'",
                    payout_chunk_id,
                    audit,
                )
                .await
            }

            async fn confirm_chunk(
                &self,
                payout_chunk_id: ChunkId,
                tx_hash: &str,
                block: i64,
                transfers: &[$crate::store::ObservedTransfer],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                let batch = sqlx::query_scalar::<_, BatchId>(
                    "UPDATE payout_chunk SET state = 'confirmed', mined_tx_hash = $1, mined_block = $2, \
                     confirmed_at_ms = $3, updated_at_ms = $3 WHERE payout_chunk_id = $4 \
                     AND state IN ('prepared', 'broadcast', 'mined') RETURNING payout_batch_id",
                )
                .bind(tx_hash)
                .bind(block)
                .bind(now)
                .bind(payout_chunk_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(batch) = batch else { return Ok(false) };
                Self::settle_chunk(&mut tx, payout_chunk_id, $crate::store::Settlement::Post, audit).await?;
                sqlx::query(
                    "UPDATE payout_item SET state = 'confirmed', confirmed_at_ms = $1 \
                     WHERE payout_chunk_id = $2 AND state = 'submitted'",
                )
                .bind(now)
                .bind(payout_chunk_id)
                .execute(&mut *tx)
                .await?;
                Self::insert_transfers(&mut tx, transfers, now).await?;
                Self::finish_batch_if_done(&mut tx, batch, now).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn revert_chunk(
                &self,
                payout_chunk_id: ChunkId,
                tx_hash: &str,
                at_block: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.fail_chunk(
                    payout_chunk_id,
                    Some(tx_hash),
                    at_block,
                    $crate::store::NewFinding {
                        kind: payquest_types::FindingKind::Reverted,
                        dedupe_key: format!("reverted:{payout_chunk_id}"),
                        payout_item_id: None,
                        payout_chunk_id: Some(payout_chunk_id),
                        tx_hash: Some(tx_hash.to_owned()),
                        detail: "the chunk's transaction reverted; its reservation was voided and its \
                                 items failed (they can be retried from the batch page once the chain \
                                 shows the chunk unpaid past the reorg window)"
                            .into(),
                    },
                    audit,
                )
                .await
            }

            async fn drop_chunk(
                &self,
                payout_chunk_id: ChunkId,
                at_block: i64,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.fail_chunk(
                    payout_chunk_id,
                    None,
                    at_block,
                    $crate::store::NewFinding {
                        kind: payquest_types::FindingKind::Missing,
                        dedupe_key: format!("dropped:{payout_chunk_id}"),
                        payout_item_id: None,
                        payout_chunk_id: Some(payout_chunk_id),
                        tx_hash: None,
                        detail: "the chunk's nonce was used by a transaction that did not pay it; its \
                                 reservation was voided and its items failed (they can be retried from the batch page once \
                                 the chain shows the chunk unpaid past the reorg window)"
                            .into(),
                    },
                    audit,
                )
                .await
            }

            async fn record_refusal(
                &self,
                chain_tx_id: ChainTxId,
                reason: &str,
            ) -> $crate::store::StoreResult<i64> {
                let reason: String = reason.chars().take(200).collect();
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE chain_tx SET refusals = refusals + 1, last_refusal = $1 WHERE chain_tx_id = $2",
                )
                .bind(reason)
                .bind(chain_tx_id)
                .execute(&mut *tx)
                .await?;
                // Counted over the chunk's transactions at this nonce: a
                // replacement starts no new count.
                let n = sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(SUM(o.refusals), 0) AS BIGINT) FROM chain_tx t \
                     JOIN chain_tx o ON o.payout_chunk_id = t.payout_chunk_id AND o.nonce = t.nonce \
                     WHERE t.chain_tx_id = $1",
                )
                .bind(chain_tx_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn unpaid_chunks_to_check(
                &self,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<(ChunkId, Option<i64>)>> {
                Ok(sqlx::query_as::<_, (ChunkId, Option<i64>)>(
                    "SELECT k.payout_chunk_id, k.failed_at_block FROM payout_chunk k \
                     WHERE k.state = 'reverted' AND k.unpaid_checked_at_ms IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM recon_finding f WHERE f.dedupe_key = \
                       'paid_after_failure:' || CAST(k.payout_chunk_id AS TEXT)) \
                     ORDER BY k.payout_chunk_id LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn mark_unpaid_checked(
                &self,
                payout_chunk_id: ChunkId,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                self.transition_audited(
                    "UPDATE payout_chunk SET unpaid_checked_at_ms = $1 \
                     WHERE payout_chunk_id = $2 AND state = 'reverted' AND unpaid_checked_at_ms IS NULL",
                    payout_chunk_id,
                    audit,
                )
                .await
            }

            async fn chunk_state(
                &self,
                payout_chunk_id: ChunkId,
            ) -> $crate::store::StoreResult<Option<payquest_types::ChunkState>> {
                sqlx::query_scalar::<_, String>("SELECT state FROM payout_chunk WHERE payout_chunk_id = $1")
                    .bind(payout_chunk_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map($crate::store::stored)
                    .transpose()
            }

            async fn sibling_chunks(
                &self,
                payout_chunk_id: ChunkId,
            ) -> $crate::store::StoreResult<Vec<(PayoutItemId, ChunkId, payquest_types::ChunkState)>> {
                sqlx::query_as::<_, (PayoutItemId, ChunkId, String)>(
                    "SELECT m.payout_item_id, o.payout_chunk_id, k.state FROM chunk_member m \
                     JOIN chunk_member o ON o.payout_item_id = m.payout_item_id \
                       AND o.payout_chunk_id <> m.payout_chunk_id \
                     JOIN payout_chunk k ON k.payout_chunk_id = o.payout_chunk_id \
                     WHERE m.payout_chunk_id = $1 ORDER BY m.payout_item_id, o.payout_chunk_id",
                )
                .bind(payout_chunk_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|(item, chunk, state)| Ok((item, chunk, $crate::store::stored(state)?)))
                .collect()
            }

            async fn cursor(&self, name: &str) -> $crate::store::StoreResult<Option<i64>> {
                Ok(sqlx::query_scalar::<_, i64>("SELECT block FROM chain_cursor WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn store_transfers(
                &self,
                transfers: &[$crate::store::ObservedTransfer],
                cursor: Option<(&str, i64)>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                Self::insert_transfers(&mut tx, transfers, $crate::clock::now_ms()).await?;
                if let Some((name, block)) = cursor {
                    // Only forward: a slower replica can't move it back.
                    sqlx::query(
                        "INSERT INTO chain_cursor (name, block) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET block = CASE \
                           WHEN excluded.block > chain_cursor.block THEN excluded.block \
                           ELSE chain_cursor.block END",
                    )
                    .bind(name)
                    .bind(block)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn chunks_to_reconcile(
                &self,
                up_to_block: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<(ChunkId, String)>> {
                Ok(sqlx::query_as::<_, (ChunkId, String)>(
                    "SELECT payout_chunk_id, mined_tx_hash FROM payout_chunk WHERE state = 'confirmed' \
                     AND mined_block <= $1 AND mined_tx_hash IS NOT NULL ORDER BY payout_chunk_id LIMIT $2",
                )
                .bind(up_to_block)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn chunk_expected(
                &self,
                payout_chunk_id: ChunkId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ExpectedPayment>> {
                Ok(sqlx::query_as::<_, $crate::store::ExpectedPayment>(
                    "SELECT p.payout_item_id, g.wallet, p.amount_minor FROM payout_item p \
                     JOIN gamer g ON g.gamer_id = p.gamer_id WHERE p.payout_chunk_id = $1 \
                     ORDER BY p.payout_item_id",
                )
                .bind(payout_chunk_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn transfers_of_tx(
                &self,
                tx_hash: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ObservedTransfer>> {
                let sql = format!(
                    "SELECT {} FROM chain_transfer WHERE tx_hash = $1 ORDER BY log_index",
                    $crate::store::chain_sql::TRANSFER_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ObservedTransfer>(&sql)
                    .bind(tx_hash)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn apply_reconciliation(
                &self,
                payout_chunk_id: ChunkId,
                tx_hash: &str,
                matched_item_ids: &[PayoutItemId],
                findings: &[$crate::store::NewFinding],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let now = audit.at_ms;
                let mut tx = self.begin_write().await?;
                let batch = sqlx::query_scalar::<_, BatchId>(
                    "UPDATE payout_chunk SET state = 'reconciled', updated_at_ms = $1 \
                     WHERE payout_chunk_id = $2 AND state = 'confirmed' RETURNING payout_batch_id",
                )
                .bind(now)
                .bind(payout_chunk_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(batch) = batch else { return Ok(()) };
                for id in matched_item_ids {
                    sqlx::query(
                        "UPDATE payout_item SET state = 'reconciled', reconciled_at_ms = $1 \
                         WHERE payout_item_id = $2 AND payout_chunk_id = $3 AND state = 'confirmed'",
                    )
                    .bind(now)
                    .bind(id)
                    .bind(payout_chunk_id)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("UPDATE chain_transfer SET matched = TRUE WHERE tx_hash = $1")
                    .bind(tx_hash)
                    .execute(&mut *tx)
                    .await?;
                // A payment that a reorg took away and that came back, as deep as
                // it must be, is no longer missing.
                sqlx::query(
                    "UPDATE recon_finding SET resolved_at_ms = $1, resolution_note = $2 \
                     WHERE dedupe_key = $3 AND resolved_at_ms IS NULL",
                )
                .bind(now)
                .bind("the transaction was included again and reconciled")
                .bind(format!("vanished:{payout_chunk_id}"))
                .execute(&mut *tx)
                .await?;
                Self::insert_findings(&mut tx, findings, now).await?;
                sqlx::query(
                    "UPDATE payout_batch SET state = 'reconciled' WHERE payout_batch_id = $1 \
                     AND state = 'disbursed' AND NOT EXISTS (SELECT 1 FROM payout_item p \
                       WHERE p.payout_batch_id = $1 AND p.state <> 'reconciled')",
                )
                .bind(batch)
                .execute(&mut *tx)
                .await?;
                let mut audit = audit.clone();
                audit.after_json = Some(
                    serde_json::json!({"matched": matched_item_ids.len(), "findings": findings.len()})
                        .to_string(),
                );
                Self::insert_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn unexplained_transfers(
                &self,
                up_to_block: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ObservedTransfer>> {
                let sql = format!(
                    "SELECT {} FROM chain_transfer t WHERE t.block_number <= $1 AND t.matched = FALSE \
                     AND NOT EXISTS (SELECT 1 FROM chain_tx x WHERE x.tx_hash = t.tx_hash) \
                     AND NOT EXISTS (SELECT 1 FROM recon_finding f \
                       WHERE f.dedupe_key = 'unknown:' || t.tx_hash || ':' || CAST(t.log_index AS TEXT)) \
                     ORDER BY t.block_number, t.log_index LIMIT $2",
                    $crate::store::chain_sql::TRANSFER_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ObservedTransfer>(&sql)
                    .bind(up_to_block)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn record_findings(
                &self,
                findings: &[$crate::store::NewFinding],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let n = Self::insert_findings(&mut tx, findings, audit.at_ms).await?;
                if n > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn list_findings(
                &self,
                open_only: bool,
                before_id: Option<FindingId>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::FindingRow>> {
                Ok(sqlx::query_as::<_, $crate::store::FindingRow>(
                    "SELECT f.recon_finding_id, f.kind, f.payout_item_id, f.payout_chunk_id, f.tx_hash, \
                     f.detail, f.created_at_ms, s.email AS resolved_by_email, f.resolved_at_ms, \
                     f.resolution_note FROM recon_finding f \
                     LEFT JOIN staff_user s ON s.staff_user_id = f.resolved_by \
                     WHERE f.recon_finding_id < $1 AND ($2 = FALSE OR f.resolved_at_ms IS NULL) \
                     ORDER BY f.recon_finding_id DESC LIMIT $3",
                )
                .bind(before_id.map_or(i64::MAX, FindingId::get))
                .bind(open_only)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn resolve_finding(
                &self,
                recon_finding_id: FindingId,
                resolved_by: StaffUserId,
                note: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE recon_finding SET resolved_by = $1, resolved_at_ms = $2, resolution_note = $3 \
                     WHERE recon_finding_id = $4 AND resolved_at_ms IS NULL",
                )
                .bind(resolved_by)
                .bind(audit.at_ms)
                .bind(note)
                .bind(recon_finding_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn drift(
                &self,
                now_ms: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::DriftRow>> {
                let age = |col: &str| {
                    format!(
                        "CASE WHEN $1 - {col} < 3600000 THEN 'under 1 hour' \
                         WHEN $1 - {col} < 86400000 THEN '1 hour to 1 day' ELSE 'over 1 day' END"
                    )
                };
                let sql = format!(
                    "SELECT p.campaign_id, c.name AS campaign_name, CAST('ledger_ahead' AS TEXT) AS direction, \
                       {a1} AS age_bucket, COUNT(*) AS item_count, CAST(SUM(p.amount_minor) AS BIGINT) AS total_minor \
                     FROM payout_item p JOIN campaign c ON c.campaign_id = p.campaign_id \
                     WHERE p.state = 'confirmed' GROUP BY 1, 2, 3, 4 \
                     UNION ALL \
                     SELECT p.campaign_id, c.name AS campaign_name, CAST('chain_ahead' AS TEXT) AS direction, \
                       {a2} AS age_bucket, COUNT(*) AS item_count, CAST(SUM(p.amount_minor) AS BIGINT) AS total_minor \
                     FROM payout_item p JOIN campaign c ON c.campaign_id = p.campaign_id \
                     JOIN payout_chunk k ON k.payout_chunk_id = p.payout_chunk_id \
                     WHERE k.state = 'mined' AND p.state = 'submitted' GROUP BY 1, 2, 3, 4 \
                     ORDER BY 1, 3, 4",
                    a1 = age("p.confirmed_at_ms"),
                    a2 = age("k.updated_at_ms"),
                );
                let mut rows = sqlx::query_as::<_, $crate::store::DriftRow>(&sql)
                    .bind(now_ms)
                    .fetch_all(&self.pool)
                    .await?;
                // What actually left the treasury against what the ledger says
                // it paid: a payment no item records (a second payment of an
                // item, a transfer outside the service) shows here even when
                // every item agrees with its own transaction.
                // Left out: transfers a person resolved as explained, and those
                // of our transactions still on their way to confirmation.
                let (out_minor, out_logs) = sqlx::query_as::<_, (i64, i64)>(
                    "SELECT CAST(COALESCE(SUM(t.amount_minor), 0) AS BIGINT), COUNT(*) \
                     FROM chain_transfer t WHERE NOT EXISTS (SELECT 1 FROM recon_finding f \
                       WHERE f.dedupe_key = 'unknown:' || t.tx_hash || ':' || CAST(t.log_index AS TEXT) \
                       AND f.resolved_at_ms IS NOT NULL) \
                     AND NOT EXISTS (SELECT 1 FROM chain_tx x JOIN payout_chunk k \
                       ON k.payout_chunk_id = x.payout_chunk_id WHERE x.tx_hash = t.tx_hash \
                       AND k.state IN ('planned', 'prepared', 'broadcast', 'mined'))",
                )
                .fetch_one(&self.pool)
                .await?;
                let (paid_minor, paid_items) = sqlx::query_as::<_, (i64, i64)>(
                    "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT), COUNT(*) FROM payout_item \
                     WHERE state IN ('confirmed', 'reconciled')",
                )
                .fetch_one(&self.pool)
                .await?;
                if let Some(row) =
                    $crate::store::treasury_drift(out_minor, out_logs, paid_minor, paid_items)
                {
                    rows.push(row);
                }
                Ok(rows)
            }

            async fn paid_total_of(&self, wallet: &str) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) FROM payout_item p \
                     JOIN gamer g ON g.gamer_id = p.gamer_id WHERE g.wallet = $1 \
                     AND p.state IN ('confirmed', 'reconciled')",
                )
                .bind(wallet)
                .fetch_one(&self.pool)
                .await?)
            }
        }
    };
}

pub(super) use impl_chain;
