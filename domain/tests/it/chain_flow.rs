//! The whole pipeline on a real anvil chain, on both databases: activities
//! validated by a fake game API → batched → approved → disbursed →
//! confirmed → reconciled; then what goes wrong: a reverted chunk, a reorg,
//! an outgoing transfer nobody explains.

use payquest_types::{BatchId, BatchState, CostCentreId, QuestId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::api_clients::{ApiClients, ClientAdmin, MachinePrincipal, Scope};
use payquest_domain::chain::Chain;
use payquest_domain::disburse::Disburser;
use payquest_domain::on_both_backends;
use payquest_domain::payouts::{BatchRequest, PayoutSettings, Payouts};
use payquest_domain::quests::{CompareOp, Condition, ValidatorConfig};
use payquest_domain::reconcile::Reconciler;
use payquest_domain::store::{ApproveOutcome, DynStore};
use payquest_domain::testing::{DevChain, TestDb, World};
use payquest_domain::validation::{Validation, ValidationPolicy, ValidatorSecrets};
use serde_json::json;

/// A fake game API on 127.0.0.1 that says every player has played enough.
async fn fake_game_api() -> String {
    let app = Router::new().route(
        "/players/{id}",
        get(|Path(_id): Path<String>| async {
            axum::Json(json!({"stats": {"matches_played": 9}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

struct Pipeline {
    store: DynStore,
    payouts: Payouts,
    disburser: Disburser,
    reconciler: Reconciler,
    chain: Arc<Chain>,
    dev: DevChain,
    maker: payquest_domain::session::Actor,
    checker: payquest_domain::session::Actor,
    finance: payquest_domain::session::Actor,
    cost_centre_id: CostCentreId,
    quest_id: QuestId,
}

fn wallet(n: u64) -> String {
    Address::from_word(U256::from(0x000a_11ce_0000_u64 + n).into()).to_checksum(None)
}

async fn pipeline(db: &TestDb, confirmations: u64, chunk_size: u32) -> Pipeline {
    let base = fake_game_api().await;
    let world = World::with_validator(
        db,
        ValidatorConfig::GameApi {
            method: "GET".into(),
            url: format!("{base}/players/{{game_account_id}}"),
            headers: BTreeMap::new(),
            condition: Condition {
                pointer: "/stats/matches_played".into(),
                op: CompareOp::Ge,
                value: json!(5),
            },
        },
        0,
        5_000,
    )
    .await;
    let store = world.store.clone();
    let dev = DevChain::start().await;
    let chain = Arc::new(
        Chain::connect(dev.settings(confirmations))
            .await
            .expect("connect"),
    );
    Pipeline {
        payouts: Payouts::new(
            store.clone(),
            PayoutSettings {
                chunk_size,
                ..PayoutSettings::default()
            },
        )
        .with_chain(chain.clone()),
        disburser: Disburser::new(store.clone(), chain.clone(), "test-replica"),
        reconciler: Reconciler::new(store.clone(), chain.clone()),
        chain,
        dev,
        maker: world.maker,
        checker: world.checker,
        finance: world.finance,
        cost_centre_id: world.cost_centre_id,
        quest_id: world.quest_id,
        store,
    }
}

/// Reports `n` activities for `wallets` gamers (round robin) and validates them.
async fn earn(p: &Pipeline, n: u64, wallets: u64, tag: &str) {
    let creds = ApiClients::new(p.store.clone())
        .create(ClientAdmin::Cli, &format!("Game {tag}"), "activities:write")
        .await
        .expect("client");
    let c = p
        .store
        .api_client(&creds.client_id)
        .await
        .expect("read")
        .expect("client");
    let who = MachinePrincipal {
        api_client_id: c.api_client_id,
        client_id: c.client_id,
        scopes: BTreeSet::from([Scope::ActivitiesWrite]),
    };
    let items: Vec<ActivityIn> = (0..n)
        .map(|i| ActivityIn {
            external_id: format!("{tag}-{i}"),
            quest_id: p.quest_id,
            wallet: wallet(i % wallets),
            game_account_id: Some(format!("player-{i}")),
            social_handle: None,
            occurred_at: payquest_domain::clock::format_ms(
                payquest_domain::clock::now_ms() - 1_000,
            ),
            evidence: None,
            signature: None,
        })
        .collect();
    let activities = Activities::new(p.store.clone());
    for chunk in items.chunks(1_000) {
        activities.ingest(&who, chunk).await.expect("ingest");
    }
    let validation = Validation::new(
        p.store.clone(),
        ValidationPolicy {
            per_provider_per_second: 100_000,
            concurrency: 32,
            claim_batch: 500,
            // The fake game API is on 127.0.0.1.
            outbound: payquest_domain::validation::outbound::OutboundPolicy::parse(
                "127.0.0.1",
                "",
                None,
                None,
            )
            .expect("outbound"),
            ..ValidationPolicy::default()
        },
        ValidatorSecrets::default(),
    )
    .expect("validation");
    while validation.run_once().await.expect("round") > 0 {}
}

/// The token balance of test wallet `n`.
async fn balance_of(p: &Pipeline, n: u64) -> U256 {
    p.chain
        .token_balance(wallet(n).parse().expect("address"))
        .await
        .expect("balance")
}

/// Each of the first `wallets` test wallets holds exactly `minor` units.
async fn assert_each_holds(p: &Pipeline, wallets: u64, minor: u64, why: &str) {
    for n in 0..wallets {
        assert_eq!(
            balance_of(p, n).await,
            U256::from(minor),
            "{}: {why}",
            wallet(n)
        );
    }
}

async fn assert_no_findings(store: &DynStore) {
    let open = store.list_findings(true, None, 50).await.expect("findings");
    assert!(open.is_empty(), "{open:?}");
}

/// Builds, submits, approves and starts one batch of every eligible reward.
async fn approve_all(p: &Pipeline) -> BatchId {
    let batch = p
        .payouts
        .create_batch(
            &p.maker,
            &BatchRequest {
                note: "all".into(),
                max_items: 10_000,
                ..BatchRequest::default()
            },
        )
        .await
        .expect("batch");
    p.payouts
        .submit(&p.maker, batch.payout_batch_id)
        .await
        .expect("submit");
    assert_eq!(
        p.payouts
            .approve(&p.checker, batch.payout_batch_id, &batch.content_hash)
            .await
            .expect("approve"),
        ApproveOutcome::Approved
    );
    p.payouts
        .start_disbursement(&p.finance, batch.payout_batch_id)
        .await
        .expect("start");
    batch.payout_batch_id
}

/// Runs disbursement and reconciliation rounds, mining a block each time,
/// until the batch reaches one of `states`.
async fn drive(p: &Pipeline, batch_id: BatchId, states: &[&str]) -> String {
    drive_on(
        &p.store,
        &p.disburser,
        &p.reconciler,
        &p.dev,
        batch_id,
        states,
    )
    .await
}

/// `drive` for any replica's store and workers.
async fn drive_on(
    store: &DynStore,
    disburser: &Disburser,
    reconciler: &Reconciler,
    dev: &DevChain,
    batch_id: BatchId,
    states: &[&str],
) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        disburser.round().await.expect("disburse");
        reconciler.round().await.expect("reconcile");
        let b = store.batch(batch_id).await.expect("read").expect("batch");
        if states.contains(&b.state.as_str()) {
            return b.state.as_str().to_owned();
        }
        assert!(Instant::now() < deadline, "batch stuck in {}", b.state);
        dev.mine(1).await;
    }
}

/// The restore drill that paid every recipient twice: a backup is taken
/// (`payquest backup` on SQLite, `pg_dump` on PostgreSQL) after approval, the batch is paid and reconciled, the backup is restored
/// (as after a power loss with lost commits, a restore, or a promoted
/// asynchronous replica) and a replica starts on it. The chunk it finds
/// planned was already run by the contract: it is adopted from its
/// `BatchPaid` log and confirmed, never signed again; every item is paid
/// once, no item fails, and the ledger agrees with the chain.
async fn a_lost_commit_never_leads_to_a_second_payment(db: &TestDb) {
    let p = pipeline(db, 1, 500).await;
    earn(&p, 3, 3, "drill").await;
    let batch_id = approve_all(&p).await;
    // Taken and restored the way the README's operations section says.
    let backup = db.restore_from_backup().await;
    assert_eq!(
        drive(&p, batch_id, &["reconciled", "partially_failed"]).await,
        "reconciled"
    );

    let restored = backup.store().await;
    let disburser = Disburser::new(restored.clone(), p.chain.clone(), "restored-replica");
    let reconciler = Reconciler::new(restored.clone(), p.chain.clone());
    // Reconciliation runs first, as at a replica's start: the payment's
    // transfers are ours (its BatchPaid names our chunk), not unknown.
    reconciler.round().await.expect("reconcile");
    assert_no_findings(&restored).await;
    let state = drive_on(
        &restored,
        &disburser,
        &reconciler,
        &p.dev,
        batch_id,
        &["reconciled", "partially_failed"],
    )
    .await;
    assert_eq!(
        state, "reconciled",
        "the restored replica paid again or failed items"
    );
    for n in 0..3 {
        let w = wallet(n);
        let on_chain = balance_of(&p, n).await;
        assert_eq!(on_chain, U256::from(1_000_000u64), "{w} was paid once");
        assert_eq!(restored.paid_total_of(&w).await.expect("paid"), 1_000_000);
    }
    assert_no_findings(&restored).await;
    let cc = restored
        .cost_centre(p.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!((cc.spent.minor(), cc.reserved.minor()), (3_000_000, 0));
    assert!(restored
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
    // What left the treasury is what the ledger paid.
    let drift = restored
        .drift(payquest_domain::clock::now_ms())
        .await
        .expect("drift");
    assert!(drift.is_empty(), "{drift:?}");
    drop(restored);
    backup.cleanup().await;
}
on_both_backends!(
    lost_commit,
    crate::chain_flow::a_lost_commit_never_leads_to_a_second_payment
);

/// The same payout items paid by two chunks. The product no longer gets
/// there (a planned chunk the contract ran is adopted; a retry is refused
/// while the chain shows the chunk executed), so the records an older
/// release left after the restore drill are written directly: the paid
/// chunk counted reverted and its items failed. The retry is refused; the
/// reconciler files the payment the ledger voided; items forced through
/// anyway and paid again are each found paid twice, and drift shows what
/// left the treasury beyond what the ledger paid.
async fn an_item_paid_by_two_chunks_is_found_paid_twice(db: &TestDb) {
    let p = pipeline(db, 1, 500).await;
    earn(&p, 3, 3, "twice").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(
        drive(&p, batch_id, &["reconciled", "partially_failed"]).await,
        "reconciled"
    );
    let first = p.store.batch_chunks(batch_id).await.expect("chunks")[0].payout_chunk_id;
    db.execute(&format!(
        "UPDATE payout_chunk SET state = 'reverted', failed_at_block = 0, \
         unpaid_checked_at_ms = NULL WHERE payout_chunk_id = {first}"
    ))
    .await;
    db.execute(&format!(
        "UPDATE payout_item SET state = 'failed' WHERE payout_chunk_id = {first}"
    ))
    .await;
    let refused = p.payouts.retry_failed(&p.finance, batch_id).await;
    match refused {
        Err(payquest_domain::DomainError::Conflict(m)) => assert!(m.contains("ran chunk"), "{m}"),
        other => panic!("the retry must be refused: {other:?}"),
    }
    p.reconciler.round().await.expect("reconcile");
    let open = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings");
    assert!(
        open.iter()
            .any(|f| f.kind == "paid_after_failure" && f.payout_chunk_id == Some(first)),
        "{open:?}"
    );

    // Forced through below the domain, as the old release did, and paid again.
    db.execute(&format!(
        "UPDATE payout_chunk SET unpaid_checked_at_ms = 1 WHERE payout_chunk_id = {first}"
    ))
    .await;
    let audit = payquest_domain::audit::AuditRecord::new(
        &payquest_domain::audit::AuditActor::system("test"),
        "payout.failed_items_retried",
        "test",
    );
    assert_eq!(
        p.store
            .retry_failed_items(batch_id, &audit)
            .await
            .expect("forced"),
        3
    );
    let second = approve_all(&p).await;
    drive(&p, second, &["reconciled", "partially_failed"]).await;
    let twice: Vec<_> = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.kind == "paid_twice")
        .collect();
    assert_eq!(twice.len(), 3, "one per item: {twice:?}");
    let drift = p
        .store
        .drift(payquest_domain::clock::now_ms())
        .await
        .expect("drift");
    assert!(
        drift
            .iter()
            .any(|d| d.direction == "treasury_ahead" && d.total_minor == 3_000_000),
        "{drift:?}"
    );
}
on_both_backends!(
    paid_twice_across,
    crate::chain_flow::an_item_paid_by_two_chunks_is_found_paid_twice
);

/// An approved batch is withdrawn before anything is signed: finance asks
/// (the disburser then signs nothing of it), the asker and the maker can't
/// confirm, a checker does; the reservation is voided, the items are
/// eligible again, and both steps are audited. Once a chunk is signed, it
/// can't be withdrawn.
async fn an_approved_batch_is_withdrawn_by_finance_and_a_checker(db: &TestDb) {
    use payquest_domain::DomainError;
    let p = pipeline(db, 1, 500).await;
    earn(&p, 4, 4, "wd").await;
    let batch_id = approve_all(&p).await;
    let reserved = |p: &Pipeline| {
        let store = p.store.clone();
        let id = p.cost_centre_id;
        async move {
            store
                .cost_centre(id)
                .await
                .expect("read")
                .expect("cc")
                .reserved
                .minor()
        }
    };
    assert_eq!(reserved(&p).await, 4_000_000);
    assert!(matches!(
        p.payouts
            .request_withdrawal(&p.checker, batch_id, "wrong list")
            .await,
        Err(DomainError::Forbidden)
    ));
    p.payouts
        .request_withdrawal(&p.finance, batch_id, "wrong list")
        .await
        .expect("request");
    let r = p.disburser.round().await.expect("round");
    assert_eq!(r.signed, 0, "nothing of a batch being withdrawn is signed");
    assert!(matches!(
        p.payouts.confirm_withdrawal(&p.finance, batch_id).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        p.payouts.confirm_withdrawal(&p.maker, batch_id).await,
        Err(DomainError::Forbidden)
    ));
    p.payouts
        .confirm_withdrawal(&p.checker, batch_id)
        .await
        .expect("confirm");
    let b = p.store.batch(batch_id).await.expect("read").expect("batch");
    assert_eq!(b.state, "withdrawn");
    assert!(p
        .store
        .batch_chunks(batch_id)
        .await
        .expect("chunks")
        .is_empty());
    assert_eq!(reserved(&p).await, 0, "the reservation is voided");
    assert_eq!(
        p.store
            .eligible_items(&Default::default(), 10)
            .await
            .expect("eligible")
            .len(),
        4
    );
    let trail = p.store.list_audit(None, 500).await.expect("audit");
    for action in ["payout.withdrawal_requested", "payout.batch_withdrawn"] {
        assert!(trail.iter().any(|e| e.action == action), "{action}");
    }
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());

    // Once signed, a batch is paid or fails on chain; it is not withdrawn.
    let again = approve_all(&p).await;
    assert_eq!(p.disburser.round().await.expect("round").signed, 1);
    assert!(matches!(
        p.payouts
            .request_withdrawal(&p.finance, again, "too late")
            .await,
        Err(DomainError::Conflict(_))
    ));
}
on_both_backends!(
    withdraw_approved,
    crate::chain_flow::an_approved_batch_is_withdrawn_by_finance_and_a_checker
);

/// Signing and withdrawing race (tasks in parallel, on both databases):
/// whichever wins, the batch is either withdrawn with nothing signed and
/// nothing paid, or signed and paid with the withdrawal refused; never a
/// withdrawn batch whose chunk went out.
async fn withdrawal_and_signing_race_to_one_outcome(db: &TestDb) {
    let p = pipeline(db, 1, 500).await;
    let payouts = Arc::new(
        Payouts::new(p.store.clone(), PayoutSettings::default()).with_chain(p.chain.clone()),
    );
    for round in 0..6u64 {
        earn(&p, 1, 1, &format!("race{round}")).await;
        let batch_id = approve_all(&p).await;
        let signer = Disburser::new(p.store.clone(), p.chain.clone(), "test-replica");
        let sign = tokio::spawn(async move { signer.round().await.expect("round").signed });
        let (w, finance, checker) = (payouts.clone(), p.finance.clone(), p.checker.clone());
        let withdraw = tokio::spawn(async move {
            w.request_withdrawal(&finance, batch_id, "race").await?;
            w.confirm_withdrawal(&checker, batch_id).await
        });
        let signed = sign.await.expect("join");
        let withdrawn = withdraw.await.expect("join");
        let b = p.store.batch(batch_id).await.expect("read").expect("batch");
        let chunks = p.store.batch_chunks(batch_id).await.expect("chunks");
        if b.state == BatchState::Withdrawn {
            assert!(withdrawn.is_ok(), "{withdrawn:?}");
            assert_eq!(
                signed, 0,
                "round {round}: a withdrawn batch had a chunk signed"
            );
            assert!(chunks.is_empty());
        } else {
            assert!(withdrawn.is_err(), "round {round}: {withdrawn:?}");
            assert!(
                chunks.iter().all(|c| c.state != "planned"),
                "round {round}: {chunks:?}"
            );
            drive(&p, batch_id, &["reconciled"]).await;
        }
    }
    // Whatever each round's outcome, the ledger and the treasury agree.
    drive_all_pending(&p).await;
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
    let drift = p
        .store
        .drift(payquest_domain::clock::now_ms())
        .await
        .expect("drift");
    assert!(drift.is_empty(), "{drift:?}");
}
on_both_backends!(
    withdraw_race,
    crate::chain_flow::withdrawal_and_signing_race_to_one_outcome
);

/// Mines and reconciles until no chunk is on its way.
async fn drive_all_pending(p: &Pipeline) {
    for _ in 0..20 {
        p.disburser.round().await.expect("round");
        p.reconciler.round().await.expect("reconcile");
        p.dev.mine(1).await;
    }
}

/// The node refuses a payout's transaction (here: a fee cap below what the
/// chain needs). It is not marked broadcast; after a bounded number of
/// refusals a finding says so once, naming the nonce later payouts wait
/// behind; with the cap raised, a replacement at the same nonce pays once.
async fn a_refused_transaction_raises_a_finding_and_is_replaced(db: &TestDb) {
    let mut p = pipeline(db, 1, 500).await;
    let mut low = p.dev.settings(1);
    low.max_fee_cap_wei = 1;
    let low_chain = Arc::new(Chain::connect(low).await.expect("connect"));
    p.disburser = Disburser::new(p.store.clone(), low_chain, "test-replica");
    earn(&p, 2, 2, "rf").await;
    let batch_id = approve_all(&p).await;
    for _ in 0..payquest_domain::disburse::MAX_SEND_REFUSALS + 1 {
        p.disburser.round().await.expect("round");
    }
    let chunk = &p.store.batch_chunks(batch_id).await.expect("chunks")[0];
    assert_eq!(
        chunk.state, "prepared",
        "a refused transaction is not broadcast"
    );
    let refused: Vec<_> = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.kind == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].detail.contains("nonce"), "{}", refused[0].detail);

    let mut fixed = p.dev.settings(1);
    fixed.stuck_after_ms = 0;
    p.disburser = Disburser::new(
        p.store.clone(),
        Arc::new(Chain::connect(fixed).await.expect("connect")),
        "test-replica",
    );
    assert_eq!(
        drive(&p, batch_id, &["reconciled", "partially_failed"]).await,
        "reconciled"
    );
    assert_each_holds(&p, 2, 1_000_000, "paid exactly once").await;
}
on_both_backends!(
    refused_tx,
    crate::chain_flow::a_refused_transaction_raises_a_finding_and_is_replaced
);

/// A reorg deeper than the confirmations that brings the payment back in a
/// later block: it is reconciled only once that block is deep enough, and
/// without a finding.
async fn a_payment_included_again_is_reconciled_only_when_deep_again(db: &TestDb) {
    use alloy::providers::ext::AnvilApi;
    use alloy::rpc::types::anvil::{ReorgOptions, TransactionData};
    let p = pipeline(db, 2, 500).await;
    earn(&p, 2, 2, "back").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(p.disburser.round().await.expect("round").signed, 1);
    p.dev.mine(2).await;
    assert_eq!(p.disburser.round().await.expect("round").confirmed, 1);
    let raw = p
        .store
        .inflight_chunks(&p.chain.sender().to_checksum(None))
        .await
        .expect("inflight");
    assert!(raw.is_empty(), "confirmed chunks are not in flight");
    let chunk = p.store.batch_chunks(batch_id).await.expect("chunks")[0].clone();
    let tx_hash = chunk.mined_tx_hash.clone().expect("hash");
    let raw_tx: String = {
        use alloy::providers::Provider;
        p.chain
            .provider()
            .raw_request("eth_getRawTransactionByHash".into(), (tx_hash.clone(),))
            .await
            .expect("raw transaction")
    };
    // Three blocks replaced; the payment comes back in the newest one.
    p.chain
        .provider()
        .anvil_reorg(ReorgOptions {
            depth: 3,
            tx_block_pairs: vec![(
                TransactionData::Raw(
                    hex::decode(raw_tx.trim_start_matches("0x"))
                        .expect("hex")
                        .into(),
                ),
                2,
            )],
        })
        .await
        .expect("reorg");
    let r = p
        .chain
        .receipt(&tx_hash)
        .await
        .expect("receipt")
        .expect("included again");
    assert_eq!(r.block_number, p.chain.head().await.expect("head"));
    p.reconciler.round().await.expect("reconcile");
    assert_eq!(
        p.store.batch_chunks(batch_id).await.expect("chunks")[0].state,
        "confirmed",
        "not reconciled while one block deep"
    );
    assert_no_findings(&p.store).await;
    p.dev.mine(1).await;
    p.reconciler.round().await.expect("reconcile");
    let b = p.store.batch(batch_id).await.expect("read").expect("batch");
    assert_eq!(b.state, "reconciled");
    assert_no_findings(&p.store).await;
}
on_both_backends!(
    included_again,
    crate::chain_flow::a_payment_included_again_is_reconciled_only_when_deep_again
);

async fn thousand_activities_end_reconciled_with_zero_findings(db: &TestDb) {
    let p = pipeline(db, 2, 200).await;
    let started = Instant::now();
    earn(&p, 1_000, 250, "run").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(
        p.store.batch_chunks(batch_id).await.expect("chunks").len(),
        5
    );
    // Reconciled needs the logs two blocks deep as well.
    let state = drive(&p, batch_id, &["reconciled", "partially_failed"]).await;
    assert_eq!(state, "reconciled");
    eprintln!(
        "1,000 activities to reconciled payments in {:?}",
        started.elapsed()
    );

    assert_no_findings(&p.store).await;
    // Every recipient holds exactly what its items paid.
    for n in 0..250 {
        let w = wallet(n);
        let on_chain = balance_of(&p, n).await;
        let paid = p.store.paid_total_of(&w).await.expect("paid");
        assert_eq!(paid, 4_000_000, "{w}");
        assert_eq!(on_chain, U256::from(paid as u64), "{w}");
    }
    // The budget spent equals what was paid; nothing is left reserved.
    let cc = p
        .store
        .cost_centre(p.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.spent.minor(), 1_000 * 1_000_000);
    assert_eq!(cc.reserved.minor(), 0);
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
    // Every money state change is audited: each validation result names its
    // payout item, and each chunk's broadcast and mining left a record.
    let trail = p.store.list_audit(None, 5_000).await.expect("audit");
    let count = |action: &str| trail.iter().filter(|e| e.action == action).count();
    assert_eq!(count("activity.validated"), 1_000);
    assert!(trail
        .iter()
        .filter(|e| e.action == "activity.validated")
        .all(|e| e
            .after_json
            .as_deref()
            .unwrap_or("")
            .contains("\"payout_item_id\":")));
    assert_eq!(count("payout.chunk_broadcast"), 5);
    assert_eq!(count("payout.chunk_confirmed"), 5);
    // Turnaround: every item has its approval and confirmation times.
    let stages = p.store.payout_stage_times(
        p.store
            .quest(p.quest_id)
            .await
            .expect("q")
            .expect("q")
            .campaign_id,
        1_000,
    );
    for (occurred, _rewarded, approved, confirmed) in stages.await.expect("stages") {
        assert!(approved.is_some_and(|a| a >= occurred));
        assert!(confirmed >= approved);
    }
}
on_both_backends!(
    thousand_to_reconciled,
    crate::chain_flow::thousand_activities_end_reconciled_with_zero_findings
);

async fn a_reverted_chunk_voids_its_budget_and_becomes_a_finding(db: &TestDb) {
    let p = pipeline(db, 1, 500).await;
    earn(&p, 5, 5, "rv").await;
    // The treasury withdraws the payout contract's allowance: every transfer fails.
    payquest_domain::chain::set_allowance(
        &p.dev.anvil.endpoint(),
        &p.dev.key,
        p.dev.deployment.token,
        p.dev.deployment.payout_contract,
        U256::ZERO,
    )
    .await
    .expect("revoke");
    let batch_id = approve_all(&p).await;
    let cc = p
        .store
        .cost_centre(p.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.reserved.minor(), 5_000_000);
    let state = drive(&p, batch_id, &["partially_failed", "disbursed"]).await;
    assert_eq!(state, "partially_failed");
    let cc = p
        .store
        .cost_centre(p.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(
        (cc.reserved.minor(), cc.spent.minor()),
        (0, 0),
        "the reservation is voided"
    );
    let findings = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, "reverted");
    let b = p.store.batch(batch_id).await.expect("read").expect("batch");
    assert_eq!(b.failed_items, 5);
    // Retrying waits until the chain has shown the chunk unpaid a reorg
    // window past its revert.
    let early = p.payouts.retry_failed(&p.finance, batch_id).await;
    assert!(
        matches!(early, Err(payquest_domain::DomainError::Conflict(_))),
        "{early:?}"
    );
    p.dev.mine(p.chain.settings().reorg_window_blocks + 2).await;
    p.reconciler.round().await.expect("reconcile");
    let trail = p.store.list_audit(None, 500).await.expect("audit");
    assert!(trail
        .iter()
        .any(|e| e.action == "payout.chunk_proven_unpaid"));
    // Retrying is explicit, audited, and the items can be paid again.
    assert_eq!(
        p.payouts
            .retry_failed(&p.finance, batch_id)
            .await
            .expect("retry"),
        5
    );
    assert_eq!(
        p.store
            .eligible_items(&Default::default(), 10)
            .await
            .expect("eligible")
            .len(),
        5
    );
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
    p.payouts
        .resolve_finding(
            &p.finance,
            findings[0].recon_finding_id,
            "allowance restored",
        )
        .await
        .expect("resolve");
    assert_no_findings(&p.store).await;
}
on_both_backends!(
    reverted_chunk,
    crate::chain_flow::a_reverted_chunk_voids_its_budget_and_becomes_a_finding
);

async fn a_reorg_sends_a_mined_chunk_back_to_watching(db: &TestDb) {
    use alloy::providers::ext::AnvilApi;
    let p = pipeline(db, 3, 500).await;
    earn(&p, 3, 3, "rg").await;
    let batch_id = approve_all(&p).await;
    // One round signs and broadcasts; anvil mines it at once.
    let r = p.disburser.round().await.expect("round");
    assert_eq!(r.signed, 1);
    p.disburser.round().await.expect("round");
    let chunks = p.store.batch_chunks(batch_id).await.expect("chunks");
    assert_eq!(chunks[0].state, "mined", "seen, not yet three blocks deep");
    // The block with the payout is replaced by an empty one.
    p.chain
        .provider()
        .anvil_reorg(alloy::rpc::types::anvil::ReorgOptions {
            depth: 1,
            tx_block_pairs: vec![],
        })
        .await
        .expect("reorg");
    let after = p
        .chain
        .receipt(chunks[0].mined_tx_hash.as_deref().expect("hash"))
        .await
        .expect("receipt");
    assert!(after.is_none(), "the reorg removed the payout's block");
    let r = p.disburser.round().await.expect("round");
    assert_eq!(r.reorged, 1, "the vanished receipt sends the chunk back");
    let state = drive(&p, batch_id, &["reconciled"]).await;
    assert_eq!(state, "reconciled");
    assert_each_holds(&p, 3, 1_000_000, "paid exactly once").await;
    assert_no_findings(&p.store).await;
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}
on_both_backends!(
    reorg,
    crate::chain_flow::a_reorg_sends_a_mined_chunk_back_to_watching
);

async fn an_unknown_outgoing_transfer_becomes_a_finding(db: &TestDb) {
    let p = pipeline(db, 1, 500).await;
    let stranger: Address = wallet(999).parse().expect("address");
    let tx = payquest_domain::chain::send_token_transfer(
        &p.dev.anvil.endpoint(),
        &p.dev.key,
        p.dev.deployment.token,
        stranger,
        U256::from(42u64),
    )
    .await
    .expect("transfer");
    p.reconciler.round().await.expect("round");
    let findings = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].kind, "unknown_transfer");
    assert_eq!(findings[0].tx_hash.as_deref(), Some(tx.as_str()));
    // Reported once, however often reconciliation runs.
    p.reconciler.round().await.expect("round");
    assert_eq!(
        p.store
            .list_findings(true, None, 50)
            .await
            .expect("findings")
            .len(),
        1
    );
}
on_both_backends!(
    unknown_transfer,
    crate::chain_flow::an_unknown_outgoing_transfer_becomes_a_finding
);

async fn a_stuck_transaction_is_replaced_at_the_same_nonce_and_paid_once(db: &TestDb) {
    use alloy::providers::Provider;
    let mut p = pipeline(db, 1, 500).await;
    // Transactions now wait in the pool until a block is mined by hand.
    let _: serde_json::Value = p
        .chain
        .provider()
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .expect("automine off");
    let mut settings = p.dev.settings(1);
    settings.stuck_after_ms = 300;
    p.chain = Arc::new(Chain::connect(settings).await.expect("connect"));
    p.disburser = Disburser::new(p.store.clone(), p.chain.clone(), "test-replica");
    earn(&p, 2, 2, "st").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(p.disburser.round().await.expect("round").signed, 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = p.disburser.round().await.expect("round");
    assert_eq!(r.replaced, 1, "past the timeout a replacement is signed");
    // One block: only one of the two same-nonce transactions can be in it.
    p.dev.mine(1).await;
    let state = drive(&p, batch_id, &["reconciled"]).await;
    assert_eq!(state, "reconciled");
    assert_each_holds(&p, 2, 1_000_000, "paid exactly once").await;
    let chunks = p.store.batch_chunks(batch_id).await.expect("chunks");
    let inflight_txs = p
        .store
        .transfers_of_tx(chunks[0].mined_tx_hash.as_deref().expect("mined"))
        .await
        .expect("transfers");
    assert_eq!(inflight_txs.len(), 2, "two Transfer logs: one per item");
    assert_no_findings(&p.store).await;
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}
on_both_backends!(
    stuck_replaced,
    crate::chain_flow::a_stuck_transaction_is_replaced_at_the_same_nonce_and_paid_once
);

/// The chunk's transaction leaves the pool and another transaction of the
/// signing key takes its nonce: the chunk is never re-signed; once that is
/// deep enough it ends unpaid, its budget is voided and a finding says so.
async fn a_chunk_whose_nonce_is_taken_ends_unpaid_with_a_finding(db: &TestDb) {
    use alloy::providers::Provider;
    let p = pipeline(db, 1, 500).await;
    let provider = p.chain.provider().clone();
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .expect("automine off");
    earn(&p, 2, 2, "dr").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(p.disburser.round().await.expect("round").signed, 1);
    let chunks = p.store.batch_chunks(batch_id).await.expect("chunks");
    let ours = p
        .store
        .inflight_chunks(&p.chain.sender().to_checksum(None))
        .await
        .expect("inflight")[0]
        .txs[0]
        .tx_hash
        .clone();
    let _: serde_json::Value = provider
        .raw_request("anvil_dropTransaction".into(), (ours.clone(),))
        .await
        .expect("drop");
    // Another transaction of the same key takes the nonce.
    let (rpc, key, token) = (
        p.dev.anvil.endpoint(),
        p.dev.key.clone(),
        p.dev.deployment.token,
    );
    let outside = tokio::spawn(async move {
        payquest_domain::chain::send_token_transfer(
            &rpc,
            &key,
            token,
            wallet(77).parse().expect("address"),
            U256::from(5u64),
        )
        .await
        .expect("outside transfer")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.dev.mine(1).await;
    outside.await.expect("join");
    let r = p.disburser.round().await.expect("round");
    assert_eq!(r.signed, 0, "nothing new to sign, nothing re-signed");
    assert_eq!(r.reverted, 1, "the chunk ends unpaid");
    let b = p.store.batch(batch_id).await.expect("read").expect("batch");
    assert_eq!(b.state, "partially_failed");
    assert_eq!(
        p.store.batch_chunks(batch_id).await.expect("chunks")[0].state,
        "reverted"
    );
    assert_eq!(chunks.len(), 1);
    let cc = p
        .store
        .cost_centre(p.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!((cc.reserved.minor(), cc.spent.minor()), (0, 0));
    assert_each_holds(&p, 2, 0, "never paid").await;
    p.reconciler.round().await.expect("reconcile");
    let mut kinds: Vec<String> = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings")
        .into_iter()
        .map(|f| f.kind.as_str().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["missing", "unknown_transfer"]);
    assert!(p
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}
on_both_backends!(
    nonce_taken,
    crate::chain_flow::a_chunk_whose_nonce_is_taken_ends_unpaid_with_a_finding
);

/// A reorg deeper than the confirmations takes a confirmed payment away:
/// reconciliation does not trust the receipt it kept, finds the transaction
/// gone and says so; the ledger's "paid" shows up as drift.
async fn a_payment_reorged_away_after_confirmation_becomes_a_finding(db: &TestDb) {
    use alloy::providers::ext::AnvilApi;
    let p = pipeline(db, 1, 500).await;
    earn(&p, 2, 2, "gone").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(p.disburser.round().await.expect("round").signed, 1);
    assert_eq!(p.disburser.round().await.expect("round").confirmed, 1);
    p.chain
        .provider()
        .anvil_reorg(alloy::rpc::types::anvil::ReorgOptions {
            depth: 1,
            tx_block_pairs: vec![],
        })
        .await
        .expect("reorg");
    p.reconciler.round().await.expect("reconcile");
    let findings = p
        .store
        .list_findings(true, None, 50)
        .await
        .expect("findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].kind, "missing");
    let b = p.store.batch(batch_id).await.expect("read").expect("batch");
    assert_eq!(b.state, "disbursed", "not reconciled");
    let drift = p
        .store
        .drift(payquest_domain::clock::now_ms())
        .await
        .expect("drift");
    assert!(
        drift
            .iter()
            .any(|d| d.direction == "ledger_ahead" && d.item_count == 2),
        "{drift:?}"
    );
    // Reported once.
    p.reconciler.round().await.expect("reconcile");
    assert_eq!(
        p.store
            .list_findings(true, None, 50)
            .await
            .expect("findings")
            .len(),
        1
    );
}
on_both_backends!(
    reorged_after_confirmation,
    crate::chain_flow::a_payment_reorged_away_after_confirmation_becomes_a_finding
);

/// A JSON-RPC proxy in front of anvil that refuses, as hosted providers do,
/// any `eth_getLogs` spanning more than `max_blocks` blocks or returning more
/// than `max_logs` logs. Returns its URL and how many queries it refused.
async fn capped_rpc(
    upstream: String,
    max_blocks: u64,
    max_logs: usize,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::post;
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = refused.clone();
    let http = reqwest::Client::new();
    let app = Router::new().route(
        "/",
        post(move |body: axum::body::Bytes| {
            let http = http.clone();
            let upstream = upstream.clone();
            let counter = counter.clone();
            async move {
                let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let refuse = |why: &str| {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    axum::Json(json!({"jsonrpc": "2.0", "id": req["id"].clone(),
                        "error": {"code": -32005, "message": why}}))
                };
                let is_logs = req["method"] == "eth_getLogs";
                if is_logs {
                    let block = |k: &str| {
                        req["params"][0][k]
                            .as_str()
                            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
                    };
                    if let (Some(from), Some(to)) = (block("fromBlock"), block("toBlock")) {
                        if to.saturating_sub(from) + 1 > max_blocks {
                            return refuse("block range too large");
                        }
                    }
                }
                let answer: serde_json::Value = http
                    .post(&upstream)
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await
                    .expect("upstream")
                    .json()
                    .await
                    .expect("json");
                if is_logs
                    && answer["result"]
                        .as_array()
                        .is_some_and(|a| a.len() > max_logs)
                {
                    return refuse("query returned more than the allowed results");
                }
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}"), refused)
}

/// Reconciliation and disbursement survive log-query limits: behind a node
/// that refuses wide or large `eth_getLogs`, the refused ranges are halved
/// until they pass, and a 1,000-item batch in ten transactions still
/// reconciles with zero findings.
async fn reconciliation_survives_log_query_limits(db: &TestDb) {
    let mut p = pipeline(db, 1, 100).await;
    let (proxy, refused) = capped_rpc(p.dev.anvil.endpoint(), 50, 250).await;
    let mut settings = p.dev.settings(1);
    settings.rpc_url = proxy;
    let capped = Arc::new(Chain::connect(settings).await.expect("connect"));
    p.disburser = Disburser::new(p.store.clone(), capped.clone(), "capped-replica");
    p.reconciler = Reconciler::new(p.store.clone(), capped);
    earn(&p, 1_000, 1_000, "capped").await;
    let batch_id = approve_all(&p).await;
    assert_eq!(
        drive(&p, batch_id, &["reconciled", "partially_failed"]).await,
        "reconciled"
    );
    assert!(
        refused.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the proxy refused some queries, which were narrowed"
    );
    assert_no_findings(&p.store).await;
}
on_both_backends!(
    log_limits_on,
    crate::chain_flow::reconciliation_survives_log_query_limits
);
