//! Stages 2 to 4 of the pipeline benchmark, on a chain set like a real one
//! (anvil with 2 s blocks of 30,000,000 gas):
//!
//! 2. `PAYQUEST_BENCH_PAYOUTS` (100,000 by default) of stage 1's eligible
//!    items batched, approved and disbursed by the server's disburser:
//!    recipients paid per second over the blocks the payouts spanned, beside
//!    the chain's capacity (block gas ÷ gas per recipient, measured from the
//!    blocks, ÷ block time); then every recipient's token balance read from
//!    the chain against the sum of their items, and the ledger's spend
//!    against both.
//! 3. Turnaround of auto-validated activities, reported a few at a time:
//!    from the report to confirmed on chain, minus the time the batch
//!    waited for a person (shown apart) and minus the chain's own
//!    confirmation wait (confirmations × block time).
//! 4. Reconciliation of stage 2's items by the reconciler reading the
//!    node's logs and receipts: items/s, beside the node's own time to
//!    answer the Transfer-log query for the same blocks.
//!
//! The fee market is held still (base fee 0): the run measures whether
//! PayQuest fills the chain's blocks, not how it bids against others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use futures::StreamExt;
use payquest_domain::api_clients::{ApiClients, ClientAdmin};
use payquest_domain::budgets::Budgets;
use payquest_domain::chain::{Address, Chain};
use payquest_domain::payouts::{
    fit_chunks, BatchRequest, ChunkFit, PayoutSettings, Payouts, BATCH_ITEMS_MAX,
};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::reconcile::Reconciler;
use payquest_domain::session::Actor;
use payquest_domain::store::DynStore;
use payquest_domain::testing::{self, DevChain, TestDb};
use payquest_types::{Amount, CampaignId, QuestId, Role};
use serde_json::json;

use crate::common::{access_token, start_server, wallet};
use crate::count;

pub const BLOCK_TIME_S: u64 = 2;
pub const BLOCK_GAS: u64 = 30_000_000;
const CONFIRMATIONS: u64 = 2;
/// Stage 3: activities reported in requests of `TAT_BATCH`, one request
/// every `TAT_EVERY`.
const TAT_ACTIVITIES: usize = 200;
const TAT_BATCH: usize = 10;
const TAT_EVERY: Duration = Duration::from_millis(500);
const DEADLINE: Duration = Duration::from_secs(3_600);

pub fn payouts_wanted() -> usize {
    std::env::var("PAYQUEST_BENCH_PAYOUTS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(100_000)
}

pub struct Disbursed {
    pub items: usize,
    pub recipients: usize,
    pub chunks: usize,
    pub fit: ChunkFit,
    pub gas_per_recipient: f64,
    pub blocks: u64,
    /// From the start of disbursement to the last item confirmed.
    pub wall_s: f64,
    pub peak_rss_mib: f64,
}

impl Disbursed {
    /// Recipients paid per second over the blocks the payouts spanned.
    pub fn paid_per_s(&self) -> f64 {
        self.items as f64 / (self.blocks * BLOCK_TIME_S) as f64
    }

    /// What the chain could carry: block gas ÷ gas per recipient ÷ block time.
    pub fn capacity(&self) -> f64 {
        BLOCK_GAS as f64 / self.gas_per_recipient / BLOCK_TIME_S as f64
    }
}

pub struct Reconciled {
    pub items: usize,
    pub seconds: f64,
    pub log_query_s: f64,
    pub logs: usize,
}

pub struct Turnaround {
    pub activities: usize,
    pub p50_s: f64,
    pub p99_s: f64,
    pub waited_for_people_p50_s: f64,
    pub confirmation_wait_s: f64,
}

pub struct PayRun {
    pub disbursed: Disbursed,
    pub reconciled: Reconciled,
    pub turnaround: Turnaround,
}

/// Funds a quest's campaign with `tokens`; the campaign.
async fn fund(store: &DynStore, finance: &Actor, quest_id: QuestId, tokens: i64) -> CampaignId {
    let campaign = testing::quest_campaign(store, quest_id).await;
    Budgets::new(store.clone())
        .fund(
            finance,
            campaign.budget.cost_centre_id,
            Amount::from_minor(tokens * 1_000_000),
            &format!("bench-fund-{quest_id}"),
        )
        .await
        .expect("fund");
    campaign.campaign_id
}

/// Makes, submits and approves batches of at most `BATCH_ITEMS_MAX` of the
/// campaign's eligible items until `items` are approved; their ids.
async fn approve(
    payouts: &Payouts,
    maker: &Actor,
    checker: &Actor,
    campaign_id: CampaignId,
    items: usize,
) -> Vec<payquest_types::BatchId> {
    let mut batches = Vec::new();
    let mut left = items;
    while left > 0 {
        let take = left.min(BATCH_ITEMS_MAX as usize);
        let batch = payouts
            .create_batch(
                maker,
                &BatchRequest {
                    note: format!("bench payouts {}", batches.len() + 1),
                    campaign_id: Some(campaign_id),
                    max_items: take as u32,
                    ..Default::default()
                },
            )
            .await
            .expect("create batch");
        if batch.item_count == 0 {
            break;
        }
        payouts
            .submit(maker, batch.payout_batch_id)
            .await
            .expect("submit");
        payouts
            .approve(checker, batch.payout_batch_id, &batch.content_hash)
            .await
            .expect("approve");
        left -= batch.item_count as usize;
        batches.push(batch.payout_batch_id);
    }
    batches
}

/// Stages 2 to 4 on `db`, whose quest `quest_id` has stage 1's eligible items.
pub async fn eligible_to_reconciled(db: &TestDb, quest_id: QuestId, wanted: usize) -> PayRun {
    let store = db.store().await;
    let finance = testing::staff(&store, "bench-finance@example.com", Role::Finance).await;
    let maker = testing::staff(&store, "bench-maker@example.com", Role::Maker).await;
    let checker = testing::staff(&store, "bench-checker@example.com", Role::Checker).await;
    let campaign_id = fund(&store, &finance, quest_id, 2 * wanted as i64).await;

    let chain = DevChain::start_with(&[
        "--block-time",
        &BLOCK_TIME_S.to_string(),
        "--gas-limit",
        &BLOCK_GAS.to_string(),
        "--block-base-fee-per-gas",
        "0",
    ])
    .await;
    let client = Arc::new(
        Chain::connect(chain.settings(CONFIRMATIONS))
            .await
            .expect("connect to the chain"),
    );
    // The same sizing the server makes at its start, from the same node.
    let fit = fit_chunks(client.block_gas_limit().await.expect("block gas"));
    let settings = PayoutSettings {
        chunk_size: fit.chunk_size,
        two_checkers_above: Amount::from_minor(i64::MAX / 4),
        auto_disburse: false,
    };
    let payouts = Payouts::new(store.clone(), settings);

    let mut env = chain.server_env();
    env.extend(crate::validation_env());
    env.extend([
        ("PAYQUEST_RECONCILIATION_WORKERS".into(), "false".into()),
        (
            "PAYQUEST_CHAIN_CONFIRMATIONS".into(),
            CONFIRMATIONS.to_string(),
        ),
    ]);
    let (server, base) = start_server(&db.url, &env);

    // Stage 2: approved by people first (not timed), then paid.
    let batches = approve(&payouts, &maker, &checker, campaign_id, wanted).await;
    let items = count(
        db,
        "SELECT COUNT(*) FROM payout_item WHERE state = 'approved'",
    )
    .await;
    let started = Instant::now();
    for id in &batches {
        payouts
            .start_disbursement(&finance, *id)
            .await
            .expect("start disbursement");
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let confirmed = count(
            db,
            "SELECT COUNT(*) FROM payout_item WHERE state = 'confirmed'",
        )
        .await;
        if confirmed >= items {
            break;
        }
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM payout_chunk WHERE state = 'reverted'"
            )
            .await,
            0,
            "a chunk reverted"
        );
        assert!(started.elapsed() < DEADLINE, "disbursement did not finish");
    }
    let wall_s = started.elapsed().as_secs_f64();
    let peak_rss_mib = server.peak_rss_mib();
    let span = db
        .rows("SELECT MIN(mined_block), MAX(mined_block), COUNT(*) FROM payout_chunk")
        .await;
    let (first, last, chunks) = (span[0][0] as u64, span[0][1] as u64, span[0][2] as usize);
    // Gas from the blocks themselves: only our payouts are in them.
    let mut gas = 0u64;
    for n in first..=last {
        let block = client
            .provider()
            .get_block_by_number(n.into())
            .await
            .expect("block")
            .expect("a mined block");
        gas += block.header.gas_used;
    }
    let paid = paid_exactly(db, &client, items).await;
    let disbursed = Disbursed {
        items,
        recipients: paid,
        chunks,
        fit,
        gas_per_recipient: gas as f64 / items as f64,
        blocks: last - first + 1,
        wall_s,
        peak_rss_mib,
    };

    // Stage 4: the reconciler, in this process, from the node.
    let reconciler = Reconciler::new(store.clone(), client.clone());
    let started = Instant::now();
    loop {
        reconciler.round().await.expect("reconcile");
        let reconciled = count(
            db,
            "SELECT COUNT(*) FROM payout_item WHERE state = 'reconciled'",
        )
        .await;
        if reconciled >= items {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "reconciliation did not finish"
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM recon_finding").await,
        0,
        "reconciliation found a mismatch"
    );
    let started = Instant::now();
    let logs = client
        .treasury_transfers(chain.deployment.start_block, last)
        .await
        .expect("logs")
        .len();
    let log_query_s = started.elapsed().as_secs_f64();
    assert_eq!(logs, items, "one Transfer log per paid item");
    let reconciled = Reconciled {
        items,
        seconds,
        log_query_s,
        logs,
    };

    // Stage 3: a trickle of auto-validated activities, paid as they come.
    let turnaround = trickle(db, &store, &base, &payouts, &finance, &maker, &checker).await;
    drop(server);
    PayRun {
        disbursed,
        reconciled,
        turnaround,
    }
}

/// Reads every recipient's balance from the chain: exactly the sum of their
/// confirmed items, and the ledger's spend equals the total. The recipients.
async fn paid_exactly(db: &TestDb, client: &Chain, items: usize) -> usize {
    let owed: Vec<Vec<String>> = db
        .rows_of(
            "SELECT g.wallet, CAST(SUM(p.amount_minor) AS TEXT) FROM payout_item p \
             JOIN gamer g ON g.gamer_id = p.gamer_id WHERE p.state = 'confirmed' GROUP BY g.wallet",
        )
        .await;
    let checked = AtomicUsize::new(0);
    let total: i64 = owed.iter().map(|r| r[1].parse::<i64>().expect("sum")).sum();
    futures::stream::iter(owed.iter())
        .for_each_concurrent(32, |row| {
            let checked = &checked;
            async move {
                let holder: Address = row[0].parse().expect("wallet");
                let balance = client.token_balance(holder).await.expect("balance");
                assert_eq!(
                    client.settings().to_minor(balance),
                    Some(row[1].parse().expect("sum")),
                    "{} holds what its items sum to",
                    row[0]
                );
                checked.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
    let spent = count(
        db,
        "SELECT CAST(SUM(spent_minor) AS BIGINT) FROM cost_centre",
    )
    .await as i64;
    assert_eq!(spent, total, "the ledger's spend is what the chain paid");
    let items_paid = count(
        db,
        "SELECT COUNT(*) FROM payout_item WHERE state = 'confirmed'",
    )
    .await;
    assert_eq!(items_paid, items);
    checked.into_inner()
}

/// Stage 3 on the running server: activities reported a few at a time,
/// each batch approved as soon as its items are eligible.
async fn trickle(
    db: &TestDb,
    store: &DynStore,
    base: &str,
    payouts: &Payouts,
    finance: &Actor,
    maker: &Actor,
    checker: &Actor,
) -> Turnaround {
    let quest_id = testing::active_quest(
        store,
        "turnaround",
        ValidatorConfig::SignedPush {
            key_name: crate::KEY_NAME.into(),
        },
    )
    .await;
    let campaign_id = fund(store, finance, quest_id, TAT_ACTIVITIES as i64 * 10).await;
    let creds = ApiClients::new(store.clone())
        .create(
            ClientAdmin::Cli,
            "Game server (turnaround)",
            "activities:write",
        )
        .await
        .expect("client");
    let http = reqwest::Client::new();
    let token = access_token(&http, base, &creds).await;
    let url = format!("{base}/api/v1/activities");
    let reporter = tokio::spawn(async move {
        for b in 0..TAT_ACTIVITIES.div_ceil(TAT_BATCH) {
            // Whole seconds, as the game writes them.
            let now = payquest_domain::clock::now_ms() / 1_000 * 1_000;
            let at = payquest_domain::clock::format_ms(now);
            let items: Vec<_> = (b * TAT_BATCH..((b + 1) * TAT_BATCH).min(TAT_ACTIVITIES))
                .map(|i| {
                    crate::signed_activity(
                        quest_id,
                        &format!("tat-{i}"),
                        &wallet(crate::GAMERS + i),
                        &at,
                        now,
                        i,
                    )
                })
                .collect();
            let res = http
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({ "activities": items }))
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 200);
            tokio::time::sleep(TAT_EVERY).await;
        }
    });
    let started = Instant::now();
    let campaign = campaign_id.get();
    loop {
        let eligible = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM payout_item WHERE campaign_id = {campaign} AND state = 'eligible'"
            ),
        )
        .await;
        if eligible > 0 {
            for id in approve(payouts, maker, checker, campaign_id, eligible).await {
                payouts
                    .start_disbursement(finance, id)
                    .await
                    .expect("start disbursement");
            }
        }
        let confirmed = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM payout_item WHERE campaign_id = {campaign} AND state = 'confirmed'"
            ),
        )
        .await;
        if confirmed >= TAT_ACTIVITIES {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the trickle was not paid");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reporter.await.expect("reporter");
    // Per activity: reported → eligible, approved → confirmed, and the wait
    // for a person between them.
    let rows = db
        .rows(&format!(
            "SELECT p.created_at_ms - a.received_at_ms, p.confirmed_at_ms - p.approved_at_ms, \
               p.approved_at_ms - p.created_at_ms \
             FROM payout_item p JOIN activity a ON a.activity_id = p.activity_id \
             WHERE p.campaign_id = {campaign}"
        ))
        .await;
    let confirmation_wait_ms = (CONFIRMATIONS * BLOCK_TIME_S * 1_000) as i64;
    let mut system: Vec<i64> = rows
        .iter()
        .map(|r| r[0] + r[1] - confirmation_wait_ms)
        .collect();
    let mut people: Vec<i64> = rows.iter().map(|r| r[2]).collect();
    system.sort_unstable();
    people.sort_unstable();
    let pct = |v: &[i64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1_000.0;
    Turnaround {
        activities: rows.len(),
        p50_s: pct(&system, 0.5),
        p99_s: pct(&system, 0.99),
        waited_for_people_p50_s: pct(&people, 0.5),
        confirmation_wait_s: confirmation_wait_ms as f64 / 1_000.0,
    }
}

pub fn print_run(backend: &str, run: &PayRun) {
    let d = &run.disbursed;
    let r = &run.reconciled;
    let t = &run.turnaround;
    println!(
        "\n{backend}: {} eligible items to {} recipients on anvil ({BLOCK_TIME_S} s blocks, {BLOCK_GAS} gas), {CONFIRMATIONS} confirmations",
        d.items, d.recipients
    );
    println!(
        "| stage | items | wall s | items/s | limit not ours | ratio |\n|---|---:|---:|---:|---:|---:|"
    );
    println!(
        "| disbursed: {} chunks of {} ({} a block), over {} blocks | {} | {:.1} | {:.0} | chain capacity {:.0}/s ({:.0} gas a recipient) | {:.2} |",
        d.chunks,
        d.fit.chunk_size,
        d.fit.per_block,
        d.blocks,
        d.items,
        d.wall_s,
        d.paid_per_s(),
        d.capacity(),
        d.gas_per_recipient,
        d.paid_per_s() / d.capacity()
    );
    println!(
        "| reconciled from the node's receipts and logs | {} | {:.1} | {:.0} | node's Transfer-log query for the same blocks: {:.2} s ({} logs) | {:.1}x |",
        r.items,
        r.seconds,
        r.items as f64 / r.seconds,
        r.log_query_s,
        r.logs,
        r.seconds / r.log_query_s.max(1e-9)
    );
    println!(
        "turnaround of {} auto-validated activities, report to confirmed, minus the confirmation wait ({:.0} s) and the wait for a person (p50 {:.2} s, shown apart): p50 {:.2} s, p99 {:.2} s ({:.2} block times at p50)",
        t.activities,
        t.confirmation_wait_s,
        t.waited_for_people_p50_s,
        t.p50_s,
        t.p99_s,
        t.p50_s / BLOCK_TIME_S as f64
    );
    println!(
        "every recipient's balance read from the chain equals the sum of their items; the ledger's spend equals the total; no finding. Server peak RSS while paying: {:.0} MiB",
        d.peak_rss_mib
    );
}
