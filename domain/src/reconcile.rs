//! Reconciliation (money rule 6): every confirmed payout item is matched to a
//! Transfer log of its chunk's transaction, by recipient and amount, or
//! becomes a finding; every outgoing transfer from the treasury that no
//! transaction of ours explains becomes a finding too. Only logs at least
//! `confirmations` blocks deep are read.
//!
//! The matching itself is a pure function over memory (`match_payments`), so
//! it can be tested and measured on its own (`make bench-reconcile`).

use payquest_types::{ChunkId, PayoutItemId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::audit::{AuditActor, AuditRecord};
use crate::chain::{Chain, ChainError, ChainResult, LOG_WINDOW_BLOCKS};
use crate::store::{DynStore, ExpectedPayment, NewFinding, ObservedTransfer};
use payquest_types::{ChunkState, FindingKind};

pub const TRANSFERS_CURSOR: &str = "treasury_transfers";
const CHUNKS_PER_ROUND: u32 = 100;

/// The result of matching one transaction's expected payments to its logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matched {
    pub matched_item_ids: Vec<PayoutItemId>,
    pub findings: Vec<NewFinding>,
}

fn key(wallet: &str) -> String {
    wallet.to_ascii_lowercase()
}

/// Matches one chunk's expected payments to the Transfer logs of its
/// transaction. Exact (recipient, amount) pairs match one to one; what is
/// left pairs up as wrong amount (same recipient) or wrong recipient (same
/// amount); leftover items are missing; leftover logs pay an item twice if
/// they repeat a matched pair, and are unknown otherwise.
pub fn match_payments(
    payout_chunk_id: ChunkId,
    tx_hash: &str,
    expected: &[ExpectedPayment],
    observed: &[ObservedTransfer],
) -> Matched {
    let expected: Vec<&ExpectedPayment> = expected.iter().collect();
    let observed: Vec<&ObservedTransfer> = observed.iter().collect();
    match_refs(payout_chunk_id, tx_hash, &expected, &observed)
}

fn match_refs(
    payout_chunk_id: ChunkId,
    tx_hash: &str,
    expected: &[&ExpectedPayment],
    observed: &[&ObservedTransfer],
) -> Matched {
    let mut out = Matched::default();
    // (recipient, amount) → indexes of logs not yet used.
    let mut by_pair: HashMap<(String, Option<i64>), Vec<usize>> =
        HashMap::with_capacity(observed.len());
    for (i, t) in observed.iter().enumerate().rev() {
        by_pair
            .entry((key(&t.to_address), t.amount_minor))
            .or_default()
            .push(i);
    }
    let mut used = vec![false; observed.len()];
    let mut unmatched_items = Vec::new();
    for &e in expected {
        match by_pair
            .get_mut(&(key(&e.wallet), Some(e.amount_minor)))
            .and_then(Vec::pop)
        {
            Some(i) => {
                used[i] = true;
                out.matched_item_ids.push(e.payout_item_id);
            }
            None => unmatched_items.push(e),
        }
    }
    let mut left: Vec<usize> = (0..observed.len()).filter(|&i| !used[i]).collect();
    let finding =
        |kind: FindingKind, key: String, item: Option<PayoutItemId>, detail: String| NewFinding {
            kind,
            dedupe_key: key,
            payout_item_id: item,
            payout_chunk_id: Some(payout_chunk_id),
            tx_hash: Some(tx_hash.to_owned()),
            detail,
        };
    for e in unmatched_items {
        let same_to = left
            .iter()
            .position(|&i| key(&observed[i].to_address) == key(&e.wallet));
        let same_amount = left
            .iter()
            .position(|&i| observed[i].amount_minor == Some(e.amount_minor));
        if let Some(p) = same_to {
            let t = &observed[left.remove(p)];
            out.findings.push(finding(
                FindingKind::WrongAmount,
                format!("wrong_amount:{}", e.payout_item_id),
                Some(e.payout_item_id),
                format!(
                    "expected {} minor units to {}, the log says {}",
                    e.amount_minor, e.wallet, t.amount_raw
                ),
            ));
        } else if let Some(p) = same_amount {
            let t = &observed[left.remove(p)];
            out.findings.push(finding(
                FindingKind::WrongRecipient,
                format!("wrong_recipient:{}", e.payout_item_id),
                Some(e.payout_item_id),
                format!(
                    "expected {} to receive {} minor units, the log pays {}",
                    e.wallet, e.amount_minor, t.to_address
                ),
            ));
        } else {
            out.findings.push(finding(
                FindingKind::Missing,
                format!("missing:{}", e.payout_item_id),
                Some(e.payout_item_id),
                format!(
                    "no Transfer of {} minor units to {} in the transaction",
                    e.amount_minor, e.wallet
                ),
            ));
        }
    }
    for i in left {
        let t = &observed[i];
        let repeats = expected.iter().find(|e| {
            key(&e.wallet) == key(&t.to_address) && Some(e.amount_minor) == t.amount_minor
        });
        let (kind, item) = match repeats {
            Some(e) => (FindingKind::PaidTwice, Some(e.payout_item_id)),
            None => (FindingKind::UnknownTransfer, None),
        };
        out.findings.push(finding(
            kind,
            format!("{kind}:{}:{}", t.tx_hash, t.log_index),
            item,
            format!(
                "Transfer of {} to {} (log {})",
                t.amount_raw, t.to_address, t.log_index
            ),
        ));
    }
    out
}

/// Matches many transactions at once (the in-memory benchmark's entry point):
/// expected payments grouped by transaction hash, logs likewise.
pub fn match_all(
    expected: &[(ChunkId, String, ExpectedPayment)],
    observed: &[ObservedTransfer],
) -> Matched {
    // References only: the inputs are the big part of the memory.
    let mut logs: HashMap<&str, Vec<&ObservedTransfer>> = HashMap::new();
    for t in observed {
        logs.entry(t.tx_hash.as_str()).or_default().push(t);
    }
    let mut groups: HashMap<(ChunkId, &str), Vec<&ExpectedPayment>> = HashMap::new();
    for (chunk, tx, e) in expected {
        groups.entry((*chunk, tx.as_str())).or_default().push(e);
    }
    let mut out = Matched::default();
    out.matched_item_ids.reserve(expected.len());
    for ((chunk, tx), items) in groups {
        let m = match_refs(
            chunk,
            tx,
            &items,
            logs.get(tx).map(Vec::as_slice).unwrap_or(&[]),
        );
        out.matched_item_ids.extend(m.matched_item_ids);
        out.findings.extend(m.findings);
    }
    out
}

fn paid_twice(item: PayoutItemId, paid_by: ChunkId, also_paid_by: ChunkId) -> NewFinding {
    NewFinding {
        kind: FindingKind::PaidTwice,
        dedupe_key: format!(
            "paid_twice:{item}:{}:{}",
            paid_by.min(also_paid_by),
            paid_by.max(also_paid_by)
        ),
        payout_item_id: Some(item),
        payout_chunk_id: Some(paid_by),
        tx_hash: None,
        detail: format!(
            "payout item {item} was paid by chunk {paid_by} and also by chunk {also_paid_by}"
        ),
    }
}

pub struct Reconciler {
    store: DynStore,
    chain: Arc<Chain>,
}

fn store_err(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(format!("store: {e}"))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub scanned_to: u64,
    pub chunks: u32,
    pub findings: u32,
}

impl Reconciler {
    pub fn new(store: DynStore, chain: Arc<Chain>) -> Self {
        Self { store, chain }
    }

    /// The newest block deep enough to trust.
    async fn safe_head(&self) -> ChainResult<Option<u64>> {
        let head = self.chain.head().await?;
        let depth = self.chain.settings().confirmations.max(1);
        Ok((head + 1).checked_sub(depth))
    }

    /// Reads the treasury's Transfer logs in `[from, to]` (no further than
    /// the deep-enough head) into the store; on demand for a block range, or
    /// from the cursor. The cursor moves only over blocks read without a gap
    /// after it, and only forward.
    pub async fn scan(&self, from: u64, to: u64) -> ChainResult<usize> {
        let Some(safe) = self.safe_head().await? else {
            return Ok(0);
        };
        let to = to.min(safe);
        let mut n = 0;
        let mut start = from;
        let mut cursor = self
            .store
            .cursor(TRANSFERS_CURSOR)
            .await
            .map_err(store_err)?;
        while start <= to {
            let end = (start + LOG_WINDOW_BLOCKS - 1).min(to);
            let logs = self.chain.treasury_transfers(start, end).await?;
            n += logs.len();
            let contiguous = match cursor {
                Some(c) => start as i64 <= c + 1,
                None => start <= self.chain.settings().start_block,
            };
            let moved =
                (contiguous && cursor.is_none_or(|c| (end as i64) > c)).then_some(end as i64);
            self.store
                .store_transfers(&logs, moved.map(|b| (TRANSFERS_CURSOR, b)))
                .await
                .map_err(store_err)?;
            if moved.is_some() {
                cursor = moved;
            }
            start = end + 1;
        }
        Ok(n)
    }

    #[tracing::instrument(name = "reconcile.round", skip_all)]
    pub async fn round(&self) -> ChainResult<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let Some(safe) = self.safe_head().await? else {
            return Ok(report);
        };
        let start = self.chain.settings().start_block;
        let from = match self
            .store
            .cursor(TRANSFERS_CURSOR)
            .await
            .map_err(store_err)?
        {
            Some(c) => (c + 1) as u64,
            None => start,
        };
        if from <= safe {
            // A scan that fails (the node refuses even one block's logs, or is
            // down) must not stop the receipts below from being reconciled.
            match self.scan(from, safe).await {
                Ok(_) => report.scanned_to = safe,
                Err(e) => {
                    tracing::warn!(error = %e, "scanning Transfer logs failed; reconciling the rest")
                }
            }
        } else {
            report.scanned_to = safe;
        }

        for (chunk_id, tx_hash) in self
            .store
            .chunks_to_reconcile(safe as i64, CHUNKS_PER_ROUND)
            .await
            .map_err(store_err)?
        {
            self.reconcile_chunk(chunk_id, &tx_hash, safe, &mut report)
                .await?;
        }
        self.check_failed_chunks(safe, &mut report).await?;
        self.file_unknown_transfers(safe, &mut report).await?;
        Ok(report)
    }

    /// Matches one confirmed chunk's items to its transaction's logs, if the
    /// transaction is still on the canonical chain and deep enough.
    async fn reconcile_chunk(
        &self,
        chunk_id: ChunkId,
        tx_hash: &str,
        safe: u64,
        report: &mut ReconcileReport,
    ) -> ChainResult<()> {
        let system = AuditActor::system("reconciler");
        // Trust only what is still on the canonical chain: a reorg deeper
        // than the confirmations can take a confirmed payment away, and
        // bring it back in a later block that is not deep enough yet.
        let receipt = self.chain.receipt(tx_hash).await?;
        let canonical = match &receipt {
            Some(r) => {
                r.success
                    && self.chain.block_hash(r.block_number).await?.as_deref()
                        == Some(r.block_hash.as_str())
            }
            None => false,
        };
        if !canonical {
            let finding = NewFinding {
                kind: FindingKind::Missing,
                dedupe_key: format!("vanished:{chunk_id}"),
                payout_item_id: None,
                payout_chunk_id: Some(chunk_id),
                tx_hash: Some(tx_hash.to_owned()),
                detail: "the confirmed transaction is no longer on the chain (a reorg deeper \
                         than the confirmations): the ledger counts it paid, the chain does not"
                    .into(),
            };
            let audit = AuditRecord::new(
                &system,
                "recon.payment_vanished",
                format!("payout_chunk:{chunk_id}"),
            );
            report.findings += self
                .store
                .record_findings(&[finding], &audit)
                .await
                .map_err(store_err)? as u32;
            return Ok(());
        }
        if receipt.as_ref().is_some_and(|r| r.block_number > safe) {
            // Included again after a reorg, but not yet as deep as a payment
            // must be: wait for it.
            return Ok(());
        }
        let expected = self
            .store
            .chunk_expected(chunk_id)
            .await
            .map_err(store_err)?;
        let observed = self
            .store
            .transfers_of_tx(tx_hash)
            .await
            .map_err(store_err)?;
        let mut m = match_payments(chunk_id, tx_hash, &expected, &observed);
        m.findings.extend(self.paid_by_siblings(chunk_id).await?);
        report.chunks += 1;
        report.findings += m.findings.len() as u32;
        let audit = AuditRecord::new(
            &system,
            "recon.chunk_reconciled",
            format!("payout_chunk:{chunk_id}"),
        );
        self.store
            .apply_reconciliation(chunk_id, tx_hash, &m.matched_item_ids, &m.findings, &audit)
            .await
            .map_err(store_err)
    }

    /// Items of a paid chunk that an earlier, failed chunk of theirs paid
    /// too (the contract ran it after all): each is paid twice.
    async fn paid_by_siblings(&self, chunk_id: ChunkId) -> ChainResult<Vec<NewFinding>> {
        let mut out = Vec::new();
        let mut executed: HashMap<ChunkId, bool> = HashMap::new();
        for (item, other, state) in self
            .store
            .sibling_chunks(chunk_id)
            .await
            .map_err(store_err)?
        {
            let ran = match executed.get(&other) {
                Some(&ran) => ran,
                None => {
                    let ran = state != ChunkState::Planned && self.chain.executed(other).await?;
                    executed.insert(other, ran);
                    ran
                }
            };
            if ran {
                out.push(paid_twice(item, chunk_id, other));
            }
        }
        Ok(out)
    }

    /// Reverted and dropped chunks are asked again, until a reorg window
    /// past their failure, whether the contract ran them after all. One that
    /// ran is a payment the ledger voided (and, if its items were paid
    /// again, a second payment); one that did not is marked proven unpaid,
    /// and only then can its items be retried.
    async fn check_failed_chunks(
        &self,
        safe: u64,
        report: &mut ReconcileReport,
    ) -> ChainResult<()> {
        let system = AuditActor::system("reconciler");
        let window = self.chain.settings().reorg_window_blocks;
        for (chunk_id, failed_at) in self
            .store
            .unpaid_chunks_to_check(CHUNKS_PER_ROUND)
            .await
            .map_err(store_err)?
        {
            let subject = format!("payout_chunk:{chunk_id}");
            if self.chain.executed(chunk_id).await? {
                let mut findings = vec![NewFinding {
                    kind: FindingKind::PaidAfterFailure,
                    dedupe_key: format!("paid_after_failure:{chunk_id}"),
                    payout_item_id: None,
                    payout_chunk_id: Some(chunk_id),
                    tx_hash: self.chain.batch_paid_tx(chunk_id).await?,
                    detail: "the payout contract ran this chunk after it was counted unpaid (a \
                             reorg brought it back): its items were paid on chain while the ledger \
                             voided them; their retry is refused"
                        .into(),
                }];
                for (item, other, state) in self
                    .store
                    .sibling_chunks(chunk_id)
                    .await
                    .map_err(store_err)?
                {
                    if state.is_in_flight()
                        || matches!(state, ChunkState::Confirmed | ChunkState::Reconciled)
                    {
                        findings.push(paid_twice(item, other, chunk_id));
                    }
                }
                let audit = AuditRecord::new(&system, "recon.paid_after_failure", subject);
                report.findings += self
                    .store
                    .record_findings(&findings, &audit)
                    .await
                    .map_err(store_err)? as u32;
                continue;
            }
            let failed_at = failed_at.unwrap_or(0).max(0) as u64;
            if safe >= failed_at.saturating_add(window)
                && !self.chain.executed_at(chunk_id, safe).await?
            {
                let audit = AuditRecord::new(&system, "payout.chunk_proven_unpaid", subject).after(
                    &serde_json::json!({"failed_at_block": failed_at, "checked_at_block": safe}),
                );
                self.store
                    .mark_unpaid_checked(chunk_id, &audit)
                    .await
                    .map_err(store_err)?;
            }
        }
        Ok(())
    }

    /// Outgoing treasury transfers that no transaction of ours explains
    /// become findings, except those of a transaction whose `BatchPaid`
    /// names a chunk of ours still planned: that is our payment whose record
    /// was lost (a restore), and the disburser adopts it.
    async fn file_unknown_transfers(
        &self,
        safe: u64,
        report: &mut ReconcileReport,
    ) -> ChainResult<()> {
        let unknown = self
            .store
            .unexplained_transfers(safe as i64, 500)
            .await
            .map_err(store_err)?;
        if unknown.is_empty() {
            return Ok(());
        }
        let mut ours: HashMap<String, bool> = HashMap::new();
        let mut findings = Vec::new();
        for t in &unknown {
            let is_ours = match ours.get(&t.tx_hash) {
                Some(&v) => v,
                None => {
                    let mut v = false;
                    for id in self.chain.batch_paid_ids(&t.tx_hash).await? {
                        let state = self.store.chunk_state(id).await.map_err(store_err)?;
                        if state == Some(ChunkState::Planned) {
                            v = true;
                        }
                    }
                    ours.insert(t.tx_hash.clone(), v);
                    v
                }
            };
            if is_ours {
                continue;
            }
            findings.push(NewFinding {
                kind: FindingKind::UnknownTransfer,
                dedupe_key: format!("unknown:{}:{}", t.tx_hash, t.log_index),
                payout_item_id: None,
                payout_chunk_id: None,
                tx_hash: Some(t.tx_hash.clone()),
                detail: format!(
                    "outgoing Transfer of {} to {} in block {} that no payout explains",
                    t.amount_raw, t.to_address, t.block_number
                ),
            });
        }
        if findings.is_empty() {
            return Ok(());
        }
        let audit = AuditRecord::new(
            &AuditActor::system("reconciler"),
            "recon.unknown_transfers",
            "treasury",
        );
        report.findings += self
            .store
            .record_findings(&findings, &audit)
            .await
            .map_err(store_err)? as u32;
        Ok(())
    }

    pub async fn run(self, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            match self.round().await {
                Ok(r) if r.chunks + r.findings > 0 => tracing::info!(?r, "reconciliation round"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reconciliation round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(id: i64, w: &str, a: i64) -> ExpectedPayment {
        ExpectedPayment {
            payout_item_id: PayoutItemId(id),
            wallet: w.into(),
            amount_minor: a,
        }
    }

    fn log(i: i64, to: &str, a: i64) -> ObservedTransfer {
        ObservedTransfer {
            tx_hash: "0xt".into(),
            log_index: i,
            block_number: 1,
            from_address: "0xT".into(),
            to_address: to.into(),
            amount_minor: Some(a),
            amount_raw: a.to_string(),
        }
    }

    fn kinds(m: &Matched) -> Vec<&str> {
        m.findings.iter().map(|f| f.kind.as_str()).collect()
    }

    #[test]
    fn exact_matches_have_no_findings() {
        let m = match_payments(
            ChunkId(1),
            "0xt",
            &[exp(1, "0xA", 5), exp(2, "0xB", 7)],
            &[log(0, "0xb", 7), log(1, "0xA", 5)],
        );
        assert_eq!(m.matched_item_ids, vec![1, 2]);
        assert!(m.findings.is_empty());
    }

    #[test]
    fn each_mismatch_has_its_kind() {
        let expected = [
            exp(1, "0xA", 5),
            exp(2, "0xB", 7),
            exp(3, "0xC", 9),
            exp(4, "0xD", 1),
        ];
        let observed = [
            log(0, "0xA", 6), // wrong amount for 1
            log(1, "0xE", 7), // wrong recipient for 2
            log(2, "0xD", 1), // matches 4
            log(3, "0xD", 1), // pays 4 twice
            log(4, "0xF", 3), // explains nothing
        ];
        let m = match_payments(ChunkId(1), "0xt", &expected, &observed);
        assert_eq!(m.matched_item_ids, vec![4]);
        assert_eq!(
            kinds(&m),
            vec![
                "wrong_amount",
                "wrong_recipient",
                "missing",
                "paid_twice",
                "unknown_transfer"
            ]
        );
    }
}
