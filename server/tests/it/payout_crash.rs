//! Crash safety of disbursement (money rule 5) with the real server on a real
//! dev chain: `payquest serve` dies (a) after storing a signed transaction
//! and before broadcasting it, (b) after broadcasting and before the receipt,
//! (c) after the receipt and before posting — then at 20 more random points
//! by `kill -9` — and is started again each time. Afterwards every item is
//! paid exactly once on chain (balances and Transfer logs), the ledger agrees
//! and reconciliation finds nothing. And spot-safe shutdown: SIGTERM to the
//! replica holding the signing wallet in the middle of a payment; it exits 0
//! within the grace period and the other replica finishes, paying each item
//! once.

use payquest_types::QuestId;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use payquest_domain::chain::Chain;
use payquest_domain::on_both_backends;
use payquest_domain::payouts::{BatchRequest, PayoutSettings, Payouts};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::store::{ApproveOutcome, Backend, DynStore};
use payquest_domain::testing::{active_quest, reviewed_rewards, staff, DevChain, TestDb};
use payquest_domain::types::{Amount, Role};
use rand::Rng;

use crate::command;

const RANDOM_KILLS: usize = 20;
const WALLETS: usize = 5;

/// A server process, killed (SIGKILL) when dropped, so a failing test leaves none behind.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(db_url: &str, chain_env: &[(String, String)], crash_at: Option<&str>) -> Proc {
    let mut cmd: Command = command(db_url);
    cmd.arg("serve")
        .envs(chain_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PAYQUEST_VALIDATION_WORKERS", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(point) = crash_at {
        cmd.env("PAYQUEST_CRASH_AT", point);
    }
    Proc(cmd.spawn().expect("start payquest"))
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    }
}

/// One approved, disbursing batch of one reward per wallet.
async fn approved_batch(
    store: &DynStore,
    payouts: &Payouts,
    people: &[payquest_domain::session::Actor; 3],
    quest_id: QuestId,
    wallets: &[String],
    round: usize,
) {
    let [maker, checker, finance] = people;
    reviewed_rewards(store, quest_id, &format!("round{round}"), wallets).await;
    let b = payouts
        .create_batch(
            maker,
            &BatchRequest {
                note: format!("round {round}"),
                max_items: 1_000,
                ..BatchRequest::default()
            },
        )
        .await
        .expect("batch");
    payouts
        .submit(maker, b.payout_batch_id)
        .await
        .expect("submit");
    assert_eq!(
        payouts
            .approve(checker, b.payout_batch_id, &b.content_hash)
            .await
            .expect("approve"),
        ApproveOutcome::Approved
    );
    payouts
        .start_disbursement(finance, b.payout_batch_id)
        .await
        .expect("start");
}

/// A funded campaign, the people who move money, five wallets, a dev chain
/// and the server settings that use it: what both tests start from.
struct Rig {
    dev: DevChain,
    store: DynStore,
    quest_id: QuestId,
    campaign: payquest_domain::store::CampaignRecord,
    people: [payquest_domain::session::Actor; 3],
    payouts: Payouts,
    wallets: Vec<String>,
    chain_env: Vec<(String, String)>,
}

async fn rig(db: &TestDb) -> Rig {
    let dev = DevChain::start().await;
    let store = db.store().await;
    let quest_id = active_quest(&store, "crash", ValidatorConfig::Manual).await;
    let campaign = payquest_domain::testing::quest_campaign(&store, quest_id).await;
    let finance = staff(&store, "treasurer@example.com", Role::Finance).await;
    payquest_domain::budgets::Budgets::new(store.clone())
        .fund(
            &finance,
            campaign.budget.cost_centre_id,
            Amount::from_minor(10_000_000_000),
            "f",
        )
        .await
        .expect("fund");
    let people = [
        staff(&store, "maker@example.com", Role::Maker).await,
        staff(&store, "checker@example.com", Role::Checker).await,
        finance,
    ];
    // Two recipients per transaction: each batch is three chunks.
    let payouts = Payouts::new(
        store.clone(),
        PayoutSettings {
            chunk_size: 2,
            ..PayoutSettings::default()
        },
    );
    // As the store keeps them: EIP-55 checksummed.
    let wallets: Vec<String> = (0..WALLETS)
        .map(|n| {
            format!("0x{:040x}", 0xc0ff_ee00_u64 + n as u64)
                .parse::<payquest_domain::chain::Address>()
                .expect("address")
                .to_checksum(None)
        })
        .collect();
    let mut chain_env = dev.server_env();
    chain_env.extend(
        [
            ("PAYQUEST_CHAIN_CONFIRMATIONS", "1"),
            ("PAYQUEST_DISBURSE_INTERVAL_MS", "40"),
            ("PAYQUEST_CHAIN_WALLET_LEASE_MS", "300"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );

    Rig {
        dev,
        store,
        quest_id,
        campaign,
        people,
        payouts,
        wallets,
        chain_env,
    }
}

/// Waits until no batch is on its way (the server still running), at most
/// two minutes.
async fn wait_until_reconciled(store: &DynStore, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let open = store
            .list_batches(
                &[
                    payquest_domain::types::BatchState::Approved,
                    payquest_domain::types::BatchState::Disbursing,
                    payquest_domain::types::BatchState::Disbursed,
                    payquest_domain::types::BatchState::PartiallyFailed,
                ],
                None,
                200,
            )
            .await
            .expect("batches");
        if open.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "batches not reconciled: {:?}",
                open.iter()
                    .map(|b| (&b.payout_batch_id, &b.state))
                    .collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every wallet was paid one token per round, once, on chain and in the
/// ledger, and nothing is left to find.
async fn assert_paid_once(db: &TestDb, r: &Rig, rounds: usize) {
    let (dev, store, wallets, campaign) = (&r.dev, &r.store, &r.wallets, &r.campaign);
    let chain = Chain::connect(dev.settings(1)).await.expect("connect");
    for w in wallets.iter() {
        let on_chain = chain
            .token_balance(w.parse().expect("address"))
            .await
            .expect("balance");
        let paid = store.paid_total_of(w).await.expect("paid");
        assert_eq!(
            paid,
            rounds as i64 * 1_000_000,
            "{w}: the ledger pays one token per round"
        );
        assert_eq!(
            on_chain.to_string(),
            paid.to_string(),
            "{w}: the chain paid exactly that"
        );
    }
    let items = (rounds * WALLETS) as i64;
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM chain_transfer").await,
        items,
        "one Transfer log per item"
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM chain_tx").await,
        count(db, "SELECT COUNT(*) FROM payout_chunk").await,
        "one signed transaction per chunk: nothing was re-signed"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM payout_item WHERE state <> 'reconciled'"
        )
        .await,
        0
    );
    assert!(store
        .list_findings(false, None, 50)
        .await
        .expect("findings")
        .is_empty());
    let cc = store
        .cost_centre(campaign.budget.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(
        (cc.spent.minor(), cc.reserved.minor()),
        (items * 1_000_000, 0)
    );
    assert!(store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}

async fn every_item_is_paid_once_whatever_the_crash_point(db: &TestDb) {
    let r = rig(db).await;
    let (store, payouts, people, quest_id, wallets, chain_env) = (
        &r.store,
        &r.payouts,
        &r.people,
        r.quest_id,
        &r.wallets,
        &r.chain_env,
    );
    let points = ["after_store", "after_broadcast", "after_receipt"];
    let rounds = points.len() + RANDOM_KILLS;
    let mut rng = rand::thread_rng();
    let mut interrupted = 0;
    for round in 0..rounds {
        approved_batch(store, payouts, people, quest_id, wallets, round).await;
        let mut proc = start(&db.url, chain_env, points.get(round).copied());
        let child = &mut proc.0;
        if round < points.len() {
            // The process stops itself at the crash point, as abruptly as kill -9.
            let deadline = Instant::now() + Duration::from_secs(60);
            let status = loop {
                if let Some(s) = child.try_wait().expect("wait") {
                    break s;
                }
                assert!(
                    Instant::now() < deadline,
                    "crash point {} never reached",
                    points[round]
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert!(!status.success(), "the server aborted at {}", points[round]);
        } else {
            let wait = rng.gen_range(20..700);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            child.kill().expect("kill -9");
            child.wait().expect("reap");
            let unfinished = count(
                db,
                "SELECT COUNT(*) FROM payout_chunk WHERE state NOT IN ('confirmed', 'reconciled')",
            )
            .await;
            if unfinished > 0 {
                interrupted += 1;
            }
        }
    }
    eprintln!("{interrupted} of {RANDOM_KILLS} random kills left payouts unfinished");
    assert!(
        interrupted >= 4,
        "too few kills landed while payouts were in flight"
    );

    // A last start without interruptions finishes everything.
    let mut proc = start(&db.url, chain_env, None);
    wait_until_reconciled(store, &mut proc.0).await;
    drop(proc);
    assert_paid_once(db, &r, rounds).await;
}
on_both_backends!(
    crash_safety,
    crate::payout_crash::every_item_is_paid_once_whatever_the_crash_point
);

/// Spot-safe shutdown: the replica that holds the signing wallet gets
/// SIGTERM while a payment is on its way. It stops taking work, finishes
/// its round, gives the wallet lease back and exits 0 well within the grace
/// period; the other replica takes the wallet and finishes the payment.
async fn a_replica_stopped_mid_payment_hands_over(db: &TestDb) {
    let r = rig(db).await;
    approved_batch(&r.store, &r.payouts, &r.people, r.quest_id, &r.wallets, 0).await;
    let mut a = start(&db.url, &r.chain_env, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(db, "SELECT COUNT(*) FROM chain_tx").await == 0 {
        assert!(Instant::now() < deadline, "the first replica never signed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut b = start(&db.url, &r.chain_env, None);
    let in_flight = count(
        db,
        "SELECT COUNT(*) FROM payout_item WHERE state <> 'reconciled'",
    )
    .await;
    let signalled = Instant::now();
    let sent = Command::new("kill")
        .args(["-TERM", &a.0.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());
    let status = loop {
        if let Some(s) = a.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(30),
            "the replica did not stop within the grace period"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stopped_in = signalled.elapsed();
    assert!(
        status.success(),
        "a SIGTERM ends the replica with 0: {status}"
    );
    let left = count(
        db,
        "SELECT COUNT(*) FROM payout_item WHERE state <> 'reconciled'",
    )
    .await;
    wait_until_reconciled(&r.store, &mut b.0).await;
    let finished_in = signalled.elapsed();
    eprintln!(
        "SIGTERM with {in_flight} items on their way: the replica exited 0 in {} ms with {left} \
         left; the other finished {} ms after the signal",
        stopped_in.as_millis(),
        finished_in.as_millis()
    );
    assert!(
        in_flight > 0,
        "the signal came while the payment was on its way"
    );
    drop(b);
    assert_paid_once(db, &r, 1).await;
}
on_both_backends!(
    spot_shutdown,
    crate::payout_crash::a_replica_stopped_mid_payment_hands_over
);
