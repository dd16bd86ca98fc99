//! The disbursement worker and receipt watcher (money rule 5). One sender per
//! signing wallet across replicas holds a lease in the database. Each round:
//!
//! 1. chunks already signed: find a receipt for any of their transactions;
//!    deep enough → confirm (post budget) or revert (void budget, finding);
//!    mined but shallow → remember the block; a receipt that vanished (reorg)
//!    → back to broadcast; no receipt → re-send the stored bytes, and past
//!    the stuck timeout sign a replacement at the same nonce with higher fees;
//! 2. new chunks: sign at the wallet's next nonce, store the signed bytes and
//!    the nonce with the items' move to `submitted` in one transaction, and
//!    only then broadcast.
//!
//! A crash at any point leaves either nothing (before the store) or stored
//! bytes that the next round re-sends: never a second payment.

use payquest_types::{ChainTxId, ChunkId};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use tokio::sync::watch;

use crate::audit::{AuditActor, AuditRecord};
use crate::chain::{Chain, ChainError, ChainResult, ReceiptInfo, SendOutcome};
use crate::clock::now_ms;
use crate::store::{DynStore, InflightChunk, NewChainTx, PlannedChunk};
use payquest_types::{ChunkState, FindingKind};

/// A lease lasts this long; the holder renews it every round.
pub const WALLET_LEASE_MS: i64 = 15_000;
/// Chunks signed and not yet confirmed, at most, unless set from the
/// chain's block gas (`ChunkFit::in_flight`).
pub const MAX_INFLIGHT_CHUNKS: usize = 8;
/// Refusals of one signed transaction by the node before a finding says so.
pub const MAX_SEND_REFUSALS: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundReport {
    pub signed: u32,
    pub confirmed: u32,
    pub reverted: u32,
    pub replaced: u32,
    pub reorged: u32,
}

pub struct Disburser {
    store: DynStore,
    chain: Arc<Chain>,
    holder: String,
    lease_ms: i64,
    max_inflight: usize,
    highest_head: std::sync::atomic::AtomicU64,
}

/// Fault injection for the crash-safety tests: with `PAYQUEST_CRASH_AT` set
/// to `after_store`, `after_broadcast` or `after_receipt`, the process aborts
/// there, as abruptly as `kill -9` (no destructors, no lease release).
fn crash_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("PAYQUEST_CRASH_AT").ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("crash point {name}: aborting");
        std::process::abort();
    }
}

/// Stored (wallet, minor units) pairs as the chain client takes them.
fn payments<'a>(entries: impl Iterator<Item = (&'a str, i64)>) -> ChainResult<Vec<(Address, i64)>> {
    entries
        .map(|(wallet, amount)| {
            wallet
                .parse::<Address>()
                .map(|to| (to, amount))
                .map_err(|_| ChainError::Config(format!("stored wallet {wallet} is invalid")))
        })
        .collect()
}

/// A signed transaction as the store keeps it.
fn record(signed: &crate::chain::SignedTx, nonce: i64) -> NewChainTx {
    NewChainTx {
        nonce,
        tx_hash: signed.tx_hash.clone(),
        raw_tx: hex::encode(&signed.raw),
        max_fee_wei: signed.max_fee_wei.to_string(),
        priority_fee_wei: signed.priority_fee_wei.to_string(),
    }
}

/// What a chunk without a receipt of ours needs next.
enum NoReceipt {
    /// Nothing more this round.
    Done,
    /// The contract paid it in a transaction we did not store: settle that.
    PaidBy(ReceiptInfo),
    /// Its nonce is unused: send its bytes again.
    Resend,
}

fn audit(action: &'static str, subject: String) -> AuditRecord {
    AuditRecord::new(&AuditActor::system("disburser"), action, subject)
}

fn store_err(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(format!("store: {e}"))
}

impl Disburser {
    pub fn new(store: DynStore, chain: Arc<Chain>, holder: impl Into<String>) -> Self {
        Self {
            store,
            chain,
            holder: holder.into(),
            lease_ms: WALLET_LEASE_MS,
            max_inflight: MAX_INFLIGHT_CHUNKS,
            highest_head: Default::default(),
        }
    }

    /// How long the wallet lease lasts without renewal (a dead holder's
    /// wallet is free again after this long).
    pub fn with_lease_ms(mut self, lease_ms: i64) -> Self {
        self.lease_ms = lease_ms.max(1);
        self
    }

    /// Chunks signed and not yet confirmed, at most (consecutive nonces in
    /// flight at once).
    pub fn with_max_inflight(mut self, chunks: usize) -> Self {
        self.max_inflight = chunks.max(1);
        self
    }

    fn wallet(&self) -> String {
        self.chain.sender().to_checksum(None)
    }

    /// One round; see the module docs.
    pub async fn round(&self) -> ChainResult<RoundReport> {
        let mut report = RoundReport::default();
        let wallet = self.wallet();
        let Some(next_nonce) = self.take_lease(&wallet).await? else {
            tracing::debug!(%wallet, "another replica holds the wallet lease");
            return Ok(report);
        };
        let head = self.checked_head().await?;
        let inflight = self
            .store
            .inflight_chunks(&wallet)
            .await
            .map_err(store_err)?;
        for chunk in &inflight {
            self.watch(chunk, head, &mut report).await?;
        }
        let mut next_nonce = self.resync_nonce(&wallet, next_nonce).await?;
        let mut open = inflight.len();
        while open < self.max_inflight {
            let Some(chunk) = self.store.next_planned_chunk().await.map_err(store_err)? else {
                break;
            };
            if self.chain.executed(chunk.payout_chunk_id).await? {
                // The chain already ran this chunk id, but our record of it
                // is gone (a lost commit, a restore from backup): adopt the
                // contract's transaction instead of ever signing it again.
                if self.adopt_paid(&chunk, &wallet).await? {
                    open += 1;
                    continue;
                }
                break;
            }
            if !self.sign_and_send(&chunk, &wallet, next_nonce).await? {
                // The lease or the nonce moved under us: start over next round.
                break;
            }
            report.signed += 1;
            next_nonce += 1;
            open += 1;
        }
        Ok(report)
    }

    /// Takes or renews the signing wallet's lease; the next nonce to use, or
    /// `None` while another replica holds it.
    async fn take_lease(&self, wallet: &str) -> ChainResult<Option<i64>> {
        let evm_chain = self.chain.settings().chain_id as i64;
        self.store
            .lease_wallet(wallet, evm_chain, &self.holder, now_ms(), self.lease_ms)
            .await
            .map_err(store_err)
    }

    /// The chain's head, refusing a chain that went back (a reset dev chain
    /// or a wrong endpoint), after checking the contracts are there.
    async fn checked_head(&self) -> ChainResult<u64> {
        let head = self.chain.head().await?;
        let seen = self
            .highest_head
            .fetch_max(head, std::sync::atomic::Ordering::Relaxed);
        if head < seen {
            return Err(ChainError::ChainReset { now: head, seen });
        }
        self.chain.check_contracts().await?;
        Ok(head)
    }

    /// Resyncs with the node: a nonce used outside this service is skipped.
    async fn resync_nonce(&self, wallet: &str, next_nonce: i64) -> ChainResult<i64> {
        let mined = self.chain.mined_nonce().await? as i64;
        if mined <= next_nonce {
            return Ok(next_nonce);
        }
        self.store
            .raise_next_nonce(wallet, &self.holder, mined)
            .await
            .map_err(store_err)?;
        Ok(mined)
    }

    /// Signs a planned chunk at `nonce`, stores the signed bytes (and the
    /// nonce, and the items' `submitted` state) before anything is sent,
    /// then broadcasts them. False when the store refused (the lease or the
    /// nonce moved): nothing was signed for good then.
    #[tracing::instrument(name = "disburse.sign_and_send", skip_all, fields(
        payout_batch_id = %chunk.payout_batch_id,
        payout_chunk_id = %chunk.payout_chunk_id,
        nonce,
    ))]
    async fn sign_and_send(
        &self,
        chunk: &PlannedChunk,
        wallet: &str,
        nonce: i64,
    ) -> ChainResult<bool> {
        let entries = payments(chunk.entries.iter().map(|e| (e.1.as_str(), e.2)))?;
        let fees = self.chain.fees().await?;
        let signed = self
            .chain
            .sign_payout(chunk.payout_chunk_id, &entries, nonce as u64, fees)
            .await?;
        let new = record(&signed, nonce);
        let a = audit(
            "payout.chunk_signed",
            format!("payout_chunk:{}", chunk.payout_chunk_id),
        )
        .after(&serde_json::json!({
            "tx_hash": signed.tx_hash, "nonce": nonce, "items": chunk.entries.len()
        }));
        let Some(chain_tx_id) = self
            .store
            .store_signed_chunk(
                chunk.payout_chunk_id,
                wallet,
                &self.holder,
                now_ms(),
                &new,
                &a,
            )
            .await
            .map_err(store_err)?
        else {
            return Ok(false);
        };
        crash_point("after_store");
        if let SendOutcome::Rejected(why) = self.chain.send_raw(&signed.raw).await? {
            self.refused(chunk.payout_chunk_id, chain_tx_id, nonce, &why)
                .await?;
            return Ok(true);
        }
        crash_point("after_broadcast");
        self.store
            .mark_broadcast(chain_tx_id, now_ms())
            .await
            .map_err(store_err)?;
        Ok(true)
    }

    /// Records the transaction in which the contract paid a planned chunk
    /// as that chunk's own; false if it can't be found yet.
    async fn adopt_paid(&self, chunk: &PlannedChunk, wallet: &str) -> ChainResult<bool> {
        let id = chunk.payout_chunk_id;
        let Some(hash) = self.chain.batch_paid_tx(id).await? else {
            tracing::error!(
                chunk = %id,
                "the contract ran this chunk but its BatchPaid log is not found yet"
            );
            return Ok(false);
        };
        let Some(nonce) = self.chain.tx_nonce(&hash).await? else {
            return Ok(false);
        };
        tracing::warn!(chunk = %id, %hash, "a planned chunk was already paid on chain (lost commit); adopting its transaction");
        let a = audit("payout.chunk_found_paid", format!("payout_chunk:{id}"))
            .after(&serde_json::json!({"tx_hash": hash, "nonce": nonce}));
        self.store
            .adopt_paid_chunk(id, wallet, &self.holder, &hash, nonce as i64, &a)
            .await
            .map_err(store_err)
    }

    /// A failed receipt does not mean unpaid: the contract refuses a chunk id
    /// it already ran, so if its `BatchPaid` log names another transaction,
    /// that one's receipt is the chunk's.
    async fn paid_elsewhere(
        &self,
        chunk: &InflightChunk,
        failed: crate::chain::ReceiptInfo,
    ) -> ChainResult<crate::chain::ReceiptInfo> {
        let Some(hash) = self.chain.batch_paid_tx(chunk.payout_chunk_id).await? else {
            return Ok(failed);
        };
        if hash == failed.tx_hash {
            return Ok(failed);
        }
        match self.chain.receipt(&hash).await? {
            Some(paid) if paid.success => {
                tracing::warn!(chunk = %chunk.payout_chunk_id, %hash, "a reverted payout's chunk was paid by another transaction");
                Ok(paid)
            }
            _ => Ok(failed),
        }
    }

    /// One signed chunk, in named steps: find a receipt of any of its
    /// transactions; without one, see whether its nonce was used elsewhere;
    /// with one, settle it once deep enough; otherwise send it again.
    #[tracing::instrument(name = "disburse.watch", skip_all, fields(
        payout_batch_id = %chunk.payout_batch_id,
        payout_chunk_id = %chunk.payout_chunk_id,
        head,
    ))]
    async fn watch(
        &self,
        chunk: &InflightChunk,
        head: u64,
        report: &mut RoundReport,
    ) -> ChainResult<()> {
        let mut found = self.find_receipt(chunk).await?;
        if found.is_none() {
            match self.without_receipt(chunk, head, report).await? {
                NoReceipt::Done => return Ok(()),
                NoReceipt::PaidBy(r) => found = Some(r),
                NoReceipt::Resend => {}
            }
        }
        let found = match found {
            Some(r) if !r.success => Some(self.paid_elsewhere(chunk, r).await?),
            other => other,
        };
        match found {
            Some(r) => self.settle(chunk, r, head, report).await,
            None => self.resend(chunk, report).await,
        }
    }

    /// A receipt of any of the chunk's transactions (original or
    /// replacements), newest first.
    async fn find_receipt(&self, chunk: &InflightChunk) -> ChainResult<Option<ReceiptInfo>> {
        for tx in chunk.txs.iter().rev() {
            if let Some(r) = self.chain.receipt(&tx.tx_hash).await? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// No receipt of ours: a mined chunk was reorged away (watch it again);
    /// if our nonce was used anyway, never re-sign — the contract's own
    /// record says whether (and where) it paid, and once the nonce's use is
    /// deep enough without that, the chunk ends unpaid.
    async fn without_receipt(
        &self,
        chunk: &InflightChunk,
        head: u64,
        report: &mut RoundReport,
    ) -> ChainResult<NoReceipt> {
        let subject = format!("payout_chunk:{}", chunk.payout_chunk_id);
        if chunk.state == ChunkState::Mined {
            let a = audit("payout.chunk_reorged", subject.clone()).before(&serde_json::json!({
                "tx_hash": chunk.mined_tx_hash, "block": chunk.mined_block
            }));
            if self
                .store
                .unmine_chunk(chunk.payout_chunk_id, &a)
                .await
                .map_err(store_err)?
            {
                report.reorged += 1;
            }
        }
        if (self.chain.mined_nonce().await? as i64) <= chunk.nonce {
            return Ok(NoReceipt::Resend);
        }
        if let Some(hash) = self.chain.batch_paid_tx(chunk.payout_chunk_id).await? {
            // Ours when a block came between the receipt we asked for and
            // the nonce: it was mined while we looked.
            if chunk
                .txs
                .iter()
                .any(|t| t.tx_hash.eq_ignore_ascii_case(&hash))
            {
                tracing::debug!(chunk = %chunk.payout_chunk_id, %hash, "chunk mined while its receipt was asked for");
            } else {
                tracing::warn!(chunk = %chunk.payout_chunk_id, %hash, "chunk paid by a transaction we did not store");
            }
            return Ok(match self.chain.receipt(&hash).await? {
                Some(r) => NoReceipt::PaidBy(r),
                None => NoReceipt::Done,
            });
        }
        let confirmations = self.chain.settings().confirmations.max(1);
        let safe = (head + 1).saturating_sub(confirmations);
        if (self.chain.nonce_at(safe).await? as i64) > chunk.nonce
            && !self.chain.executed_at(chunk.payout_chunk_id, safe).await?
        {
            let a = audit("payout.chunk_dropped", subject)
                .before(&serde_json::json!({"nonce": chunk.nonce}));
            if self
                .store
                .drop_chunk(chunk.payout_chunk_id, safe as i64, &a)
                .await
                .map_err(store_err)?
            {
                report.reverted += 1;
            }
        }
        Ok(NoReceipt::Done)
    }

    /// A receipt: shallow, it is recorded as mined; deep enough on the
    /// canonical chain, the chunk is confirmed (budget posted) or reverted
    /// (budget voided, a finding).
    async fn settle(
        &self,
        chunk: &InflightChunk,
        r: ReceiptInfo,
        head: u64,
        report: &mut RoundReport,
    ) -> ChainResult<()> {
        let subject = format!("payout_chunk:{}", chunk.payout_chunk_id);
        let confirmations = self.chain.settings().confirmations.max(1);
        let depth = head.saturating_sub(r.block_number) + 1;
        if depth < confirmations {
            if chunk.mined_tx_hash.as_deref() != Some(r.tx_hash.as_str())
                || chunk.mined_block_hash.as_deref() != Some(r.block_hash.as_str())
            {
                self.store
                    .record_mined(
                        chunk.payout_chunk_id,
                        &r.tx_hash,
                        r.block_number as i64,
                        &r.block_hash,
                        now_ms(),
                    )
                    .await
                    .map_err(store_err)?;
            }
            return Ok(());
        }
        // Deep enough; make sure the block is still the canonical one.
        if self.chain.block_hash(r.block_number).await?.as_deref() != Some(r.block_hash.as_str()) {
            return Ok(());
        }
        crash_point("after_receipt");
        if r.success {
            let a = audit("payout.chunk_confirmed", subject).after(&serde_json::json!({
                "tx_hash": r.tx_hash, "block": r.block_number, "transfers": r.transfers.len()
            }));
            if self
                .store
                .confirm_chunk(
                    chunk.payout_chunk_id,
                    &r.tx_hash,
                    r.block_number as i64,
                    &r.transfers,
                    &a,
                )
                .await
                .map_err(store_err)?
            {
                report.confirmed += 1;
                // From the first broadcast of the chunk to its confirmation.
                if let Some(sent) = chunk.txs.iter().filter_map(|t| t.broadcast_at_ms).min() {
                    metrics::histogram!("payquest_chain_confirmation_seconds")
                        .record((now_ms() - sent).max(0) as f64 / 1000.0);
                }
            }
        } else {
            let a = audit("payout.chunk_reverted", subject)
                .after(&serde_json::json!({"tx_hash": r.tx_hash, "block": r.block_number}));
            if self
                .store
                .revert_chunk(chunk.payout_chunk_id, &r.tx_hash, r.block_number as i64, &a)
                .await
                .map_err(store_err)?
            {
                report.reverted += 1;
            }
        }
        Ok(())
    }

    /// Not mined yet: the newest stored bytes are sent again (never new
    /// ones), marked broadcast once the node takes them; a refusal is
    /// counted; stuck, underpriced or refused for its fees, a replacement at
    /// the same nonce is signed within the fee cap.
    async fn resend(&self, chunk: &InflightChunk, report: &mut RoundReport) -> ChainResult<()> {
        let Some(latest) = chunk.txs.last() else {
            return Ok(());
        };
        if latest.raw_tx.is_empty() {
            // An adopted transaction: we never had its bytes; only watch it.
            return Ok(());
        }
        let raw = hex::decode(&latest.raw_tx)
            .map_err(|e| ChainError::Rpc(format!("stored bytes: {e}")))?;
        let outcome = self.chain.send_raw(&raw).await?;
        let fee_refused = match &outcome {
            SendOutcome::Rejected(why) => {
                self.refused(chunk.payout_chunk_id, latest.chain_tx_id, chunk.nonce, why)
                    .await?;
                // Only new fees can change a refusal about fees.
                let why = why.to_ascii_lowercase();
                why.contains("fee") || why.contains("gas price")
            }
            SendOutcome::Accepted | SendOutcome::Known if latest.broadcast_at_ms.is_none() => {
                self.store
                    .mark_broadcast(latest.chain_tx_id, now_ms())
                    .await
                    .map_err(store_err)?;
                false
            }
            _ => false,
        };
        let since = latest.broadcast_at_ms.unwrap_or(latest.created_at_ms);
        let stuck = now_ms() - since > self.chain.settings().stuck_after_ms;
        if stuck || fee_refused || outcome == SendOutcome::Underpriced {
            self.replace(chunk, latest, report).await?;
        }
        Ok(())
    }

    /// The node refused a signed transaction: it is not broadcast. Counted;
    /// from the `MAX_SEND_REFUSALS`th time on a finding says so, since every
    /// later payout from this wallet waits behind its nonce.
    async fn refused(
        &self,
        payout_chunk_id: ChunkId,
        chain_tx_id: ChainTxId,
        nonce: i64,
        why: &str,
    ) -> ChainResult<()> {
        // The node's words, shown to staff: printable ASCII only, and short.
        let why: String = why
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(200)
            .collect();
        let n = self
            .store
            .record_refusal(chain_tx_id, &why)
            .await
            .map_err(store_err)?;
        tracing::warn!(chunk = %payout_chunk_id, refusals = n, %why, "the node refused a payout transaction");
        if n < MAX_SEND_REFUSALS {
            return Ok(());
        }
        let finding = crate::store::NewFinding {
            kind: FindingKind::Refused,
            dedupe_key: format!("refused:{payout_chunk_id}:{nonce}"),
            payout_item_id: None,
            payout_chunk_id: Some(payout_chunk_id),
            tx_hash: None,
            detail: format!(
                "the node refused the chunk's transaction {n} times (last: {why}); it is not \
                 broadcast, and every later payout from this wallet waits behind nonce {nonce}"
            ),
        };
        let a = audit(
            "payout.chunk_refused",
            format!("payout_chunk:{payout_chunk_id}"),
        )
        .after(&serde_json::json!({"refusals": n, "nonce": nonce, "reason": why}));
        self.store
            .record_findings(&[finding], &a)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// Signs the same payout at the same nonce with fees at least 25 % higher.
    async fn replace(
        &self,
        chunk: &InflightChunk,
        latest: &crate::store::ChainTxRecord,
        report: &mut RoundReport,
    ) -> ChainResult<()> {
        let old_max: u128 = latest.max_fee_wei.parse().unwrap_or(0);
        let old_tip: u128 = latest.priority_fee_wei.parse().unwrap_or(0);
        let (cur_max, cur_tip) = self.chain.fees().await?;
        let cap = self.chain.settings().max_fee_cap_wei;
        let max_fee = (old_max + old_max / 4 + 1).max(cur_max).min(cap);
        let tip = (old_tip + old_tip / 4 + 1).max(cur_tip).min(max_fee);
        if max_fee <= old_max {
            tracing::warn!(
                chunk = %chunk.payout_chunk_id,
                "stuck payout is at the fee cap; waiting"
            );
            return Ok(());
        }
        let entries = self
            .store
            .chunk_expected(chunk.payout_chunk_id)
            .await
            .map_err(store_err)?;
        let list = payments(entries.iter().map(|e| (e.wallet.as_str(), e.amount_minor)))?;
        let signed = self
            .chain
            .sign_payout(
                chunk.payout_chunk_id,
                &list,
                chunk.nonce as u64,
                (max_fee, tip),
            )
            .await?;
        let new = record(&signed, chunk.nonce);
        let a = audit("payout.chunk_replaced", format!("payout_chunk:{}", chunk.payout_chunk_id))
            .after(&serde_json::json!({"tx_hash": signed.tx_hash, "nonce": chunk.nonce, "max_fee_wei": max_fee.to_string()}));
        if self
            .store
            .store_replacement(
                chunk.payout_chunk_id,
                &self.wallet(),
                &self.holder,
                &new,
                &a,
            )
            .await
            .map_err(store_err)?
        {
            report.replaced += 1;
            self.chain.send_raw(&signed.raw).await?;
        }
        Ok(())
    }

    /// Runs rounds until `stop` turns true.
    pub async fn run(self, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            match self.round().await {
                Ok(r) if r.signed + r.confirmed + r.reverted + r.replaced + r.reorged > 0 => {
                    tracing::info!(?r, "disbursement round");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "disbursement round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
        }
        let _ = self
            .store
            .release_wallet(&self.wallet(), &self.holder)
            .await;
    }
}
