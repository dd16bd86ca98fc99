//! `make bench-reconcile`: reconciliation of 1,000,000 synthetic payout items
//! against their Transfer logs, in memory, beside a baseline that only joins
//! the two lists on (transaction, recipient, amount) and counts the hits: the
//! least work any matcher must do. Prints time, throughput and peak memory of
//! each, and the ratio last.

use std::collections::HashMap;
use std::time::Instant;

use payquest_domain::reconcile::match_all;
use payquest_domain::store::{ExpectedPayment, ObservedTransfer};
use payquest_domain::types::{ChunkId, PayoutItemId};

const ITEMS: usize = 1_000_000;
const PER_TX: usize = 500;

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Resets the peak to the current resident size (Linux), so each phase's
/// peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    // Deterministic data: wallets repeat across transactions, amounts vary.
    let mut expected = Vec::with_capacity(ITEMS);
    let mut observed = Vec::with_capacity(ITEMS);
    for i in 0..ITEMS {
        let chunk = ChunkId((i / PER_TX) as i64);
        let tx = format!("0x{:064x}", chunk.get());
        let wallet = format!("0x{:040X}", (i * 7_919) % 200_000);
        let amount = 1_000_000 + (i % 977) as i64 * 10_000;
        expected.push((
            chunk,
            tx.clone(),
            ExpectedPayment {
                payout_item_id: PayoutItemId(i as i64),
                wallet: wallet.clone(),
                amount_minor: amount,
            },
        ));
        // Logs come in a different order from the items, lower-case addresses.
        observed.push(ObservedTransfer {
            tx_hash: tx,
            log_index: (PER_TX - 1 - i % PER_TX) as i64,
            block_number: chunk.get(),
            from_address: "0xtreasury".into(),
            to_address: wallet.to_ascii_lowercase(),
            amount_minor: Some(amount),
            amount_raw: amount.to_string(),
        });
    }
    observed.reverse();
    let base_rss = rss_mib();
    println!(
        "{ITEMS} items in {} transactions; input resident: {base_rss:.0} MiB",
        ITEMS / PER_TX
    );

    // Baseline: hash join on (tx, recipient, amount), counting hits.
    reset_peak();
    let t = Instant::now();
    let mut index: HashMap<(&str, String, i64), u32> = HashMap::with_capacity(ITEMS);
    for o in &observed {
        *index
            .entry((
                o.tx_hash.as_str(),
                o.to_address.to_ascii_lowercase(),
                o.amount_minor.unwrap_or(-1),
            ))
            .or_default() += 1;
    }
    let mut hits = 0usize;
    for (_, tx, e) in &expected {
        if let Some(n) =
            index.get_mut(&(tx.as_str(), e.wallet.to_ascii_lowercase(), e.amount_minor))
        {
            if *n > 0 {
                *n -= 1;
                hits += 1;
            }
        }
    }
    let baseline = t.elapsed();
    drop(index);
    let baseline_peak = peak_mib();
    assert_eq!(hits, ITEMS);
    println!(
        "baseline hash join:  {:>8.3} s  {:>10.0} items/s  peak {:.0} MiB (+{:.0} over the input)",
        baseline.as_secs_f64(),
        ITEMS as f64 / baseline.as_secs_f64(),
        baseline_peak,
        baseline_peak - base_rss
    );

    reset_peak();
    let t = Instant::now();
    let result = match_all(&expected, &observed);
    let ours = t.elapsed();
    let ours_peak = peak_mib();
    assert_eq!(result.matched_item_ids.len(), ITEMS);
    assert!(result.findings.is_empty());
    println!(
        "reconciliation:      {:>8.3} s  {:>10.0} items/s  peak {:.0} MiB (+{:.0} over the input; findings: {})",
        ours.as_secs_f64(),
        ITEMS as f64 / ours.as_secs_f64(),
        ours_peak,
        ours_peak - base_rss,
        result.findings.len()
    );
    println!(
        "ratio (reconciliation time / baseline time): {:.2}",
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}
