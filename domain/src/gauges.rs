//! The pipeline's gauges for Prometheus: rows per state of activities,
//! payout items, batches and chunks, open reconciliation findings and the
//! reconciliation lag, read from the database every few seconds (the same on
//! every replica, so any replica's scrape tells the whole system).

use std::collections::BTreeSet;

use crate::store::DynStore;

/// Sets the gauges from one reading. A state that had rows before and has
/// none now is set to zero (a gauge otherwise keeps its last value).
pub async fn update(
    store: &DynStore,
    seen: &mut BTreeSet<(String, String)>,
    now_ms: i64,
) -> crate::store::StoreResult<()> {
    let counts = store.pipeline_counts().await?;
    let mut now_seen = BTreeSet::new();
    for (table, state, rows) in counts.by_state {
        metrics::gauge!("payquest_pipeline_rows", "table" => table.clone(), "state" => state.clone())
            .set(rows as f64);
        now_seen.insert((table, state));
    }
    for (table, state) in seen.difference(&now_seen) {
        metrics::gauge!("payquest_pipeline_rows", "table" => table.clone(), "state" => state.clone())
            .set(0.0);
    }
    *seen = now_seen.union(seen).cloned().collect();
    metrics::gauge!("payquest_findings_open").set(counts.findings_open as f64);
    let lag_s = counts
        .oldest_unreconciled_at_ms
        .map_or(0.0, |at| (now_ms - at).max(0) as f64 / 1000.0);
    metrics::gauge!("payquest_reconciliation_lag_seconds").set(lag_s);
    Ok(())
}

/// Updates the gauges every `every` until `stop` turns true.
pub async fn run(
    store: DynStore,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = BTreeSet::new();
    loop {
        if let Err(e) = update(&store, &mut seen, crate::clock::now_ms()).await {
            tracing::warn!(error = %e, "reading the pipeline gauges failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
