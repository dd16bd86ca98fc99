//! Maker → checker on both databases: four eyes in the domain and in a
//! database constraint, approvals bound to the contents hash, two checkers
//! above the threshold, and all-or-nothing budget reservation on approval.

use payquest_domain::on_both_backends;
use payquest_domain::payouts::{BatchRequest, PayoutSettings, Payouts};
use payquest_domain::store::{ApproveOutcome, Backend};
use payquest_domain::testing::{TestDb, World};
use payquest_domain::DomainError;
use payquest_types::PayoutItemId;
use payquest_types::{Amount, Role};

/// The file's world: see `testing::World`.
async fn setup(db: &TestDb, rewards: u64, fund_tokens: i64) -> World {
    World::new(db, rewards, fund_tokens).await
}

fn request(max_items: u32) -> BatchRequest {
    BatchRequest {
        note: "weekly".into(),
        max_items,
        ..BatchRequest::default()
    }
}

async fn raw_exec(db: &TestDb, sql: &str) -> Result<u64, sqlx::Error> {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await?;
            Ok(sqlx::query(sql).execute(&pool).await?.rows_affected())
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await?;
            Ok(sqlx::query(sql).execute(&pool).await?.rows_affected())
        }
    }
}

async fn four_eyes_in_the_domain_and_the_database(db: &TestDb) {
    let s = setup(db, 2, 100).await;
    let payouts = Payouts::new(s.store.clone(), PayoutSettings::default());
    let batch = payouts
        .create_batch(&s.maker, &request(10))
        .await
        .expect("batch");
    assert_eq!(batch.item_count, 2);
    assert_eq!(batch.total_minor, 2_000_000);
    payouts
        .submit(&s.maker, batch.payout_batch_id)
        .await
        .expect("submit");

    // A maker who also holds the checker role is still refused for their own batch.
    let mut both = s.maker.clone();
    both.roles.insert(Role::Checker);
    let refused = payouts
        .approve(&both, batch.payout_batch_id, &batch.content_hash)
        .await;
    assert!(
        matches!(refused, Err(DomainError::Forbidden)),
        "{refused:?}"
    );
    // Nor can a checker make batches, or a maker approve.
    assert!(matches!(
        payouts.create_batch(&s.checker, &request(1)).await,
        Err(DomainError::Forbidden)
    ));
    // The database refuses it even if the domain were bypassed.
    let sql = format!(
        "INSERT INTO batch_approval (payout_batch_id, maker_id, checker_id, content_hash, approved_at_ms) \
         VALUES ({b}, {m}, {m}, '{h}', 1)",
        b = batch.payout_batch_id,
        m = s.maker.user_id,
        h = batch.content_hash
    );
    let refused = raw_exec(db, &sql)
        .await
        .expect_err("maker's own approval stored");
    // ... by the constraint the store maps by name (`MAKER_IS_NOT_CHECKER`).
    let db_err = refused.as_database_error().expect("a database error");
    let named = db_err.constraint() == Some("batch_approval_check")
        || db_err
            .message()
            .ends_with("constraint failed: checker_id <> maker_id");
    assert!(named, "{} / {:?}", db_err.message(), db_err.constraint());
    // ... also when lying about who the maker is.
    let sql = format!(
        "INSERT INTO batch_approval (payout_batch_id, maker_id, checker_id, content_hash, approved_at_ms) \
         VALUES ({b}, {c}, {m}, '{h}', 1)",
        b = batch.payout_batch_id,
        m = s.maker.user_id,
        c = s.checker.user_id,
        h = batch.content_hash
    );
    assert!(
        raw_exec(db, &sql).await.is_err(),
        "approval with a forged maker stored"
    );

    let outcome = payouts
        .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("approve");
    assert_eq!(outcome, ApproveOutcome::Approved);
    let cc = s
        .store
        .cost_centre(s.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.reserved.minor(), 2_000_000);
    assert!(s
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}
on_both_backends!(
    four_eyes,
    crate::payouts::four_eyes_in_the_domain_and_the_database
);

/// Three rewards (3 tokens) in a submitted batch that needs two checkers
/// (they are needed above 1 token).
async fn submitted_two_checker_batch(
    db: &TestDb,
) -> (World, Payouts, payquest_domain::store::BatchRecord) {
    let s = setup(db, 3, 100).await;
    let payouts = Payouts::new(
        s.store.clone(),
        PayoutSettings {
            two_checkers_above: Amount::from_minor(1_000_000),
            ..PayoutSettings::default()
        },
    );
    let batch = payouts
        .create_batch(&s.maker, &request(10))
        .await
        .expect("batch");
    assert_eq!(batch.approvals_needed, 2);
    payouts
        .submit(&s.maker, batch.payout_batch_id)
        .await
        .expect("submit");
    (s, payouts, batch)
}

async fn approvals_count_only_for_the_contents_seen(db: &TestDb) {
    let (s, payouts, batch) = submitted_two_checker_batch(db).await;
    let first = payouts
        .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("approve");
    assert_eq!(
        first,
        ApproveOutcome::Recorded {
            approvals: 1,
            needed: 2
        }
    );
    // The same checker twice is one approval.
    assert_eq!(
        payouts
            .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
            .await
            .expect("again"),
        ApproveOutcome::NotPending
    );
    let b = s
        .store
        .batch(batch.payout_batch_id)
        .await
        .expect("read")
        .expect("batch");
    assert_eq!((b.state.as_str(), b.approvals), ("pending_approval", 1));

    // The maker changes the batch: the hash changes and the approval stops counting.
    let items = s
        .store
        .batch_items(batch.payout_batch_id, PayoutItemId::default(), 10)
        .await
        .expect("items");
    let changed = payouts
        .remove_items(&s.maker, batch.payout_batch_id, &[items[0].payout_item_id])
        .await
        .expect("remove");
    assert_ne!(changed.content_hash, batch.content_hash);
    assert_eq!((changed.item_count, changed.approvals), (2, 0));
    assert_eq!(
        s.store
            .payout_item_state(items[0].payout_item_id)
            .await
            .expect("read")
            .as_deref(),
        Some("eligible")
    );
    // An approval of the old contents is refused as stale.
    let stale = payouts
        .approve(&s.checker2, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("stale");
    assert_eq!(
        stale,
        ApproveOutcome::Stale {
            current_hash: changed.content_hash.clone()
        }
    );
    // One approval of the new contents is not enough.
    assert_eq!(
        payouts
            .approve(&s.checker2, batch.payout_batch_id, &changed.content_hash)
            .await
            .expect("approve"),
        ApproveOutcome::Recorded {
            approvals: 1,
            needed: 2
        }
    );
    let cc = s
        .store
        .cost_centre(s.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(
        cc.reserved.minor(),
        0,
        "nothing reserved before the last approval"
    );
    // The second distinct checker completes it and the budget is reserved.
    assert_eq!(
        payouts
            .approve(&s.checker, batch.payout_batch_id, &changed.content_hash)
            .await
            .expect("approve"),
        ApproveOutcome::Approved
    );
    let cc = s
        .store
        .cost_centre(s.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.reserved.minor(), 2_000_000);
    // An approved batch can't change any more.
    assert!(matches!(
        payouts
            .remove_items(&s.maker, batch.payout_batch_id, &[items[1].payout_item_id])
            .await,
        Err(DomainError::Conflict(_))
    ));
    let csv = payouts
        .export_csv(&s.finance, batch.payout_batch_id)
        .await
        .expect("csv");
    assert!(csv.contains(&changed.content_hash));
    assert_eq!(csv.lines().count(), 2 + 2);
}
on_both_backends!(
    contents_hash,
    crate::payouts::approvals_count_only_for_the_contents_seen
);

async fn a_short_budget_refuses_the_approval_and_writes_nothing(db: &TestDb) {
    let s = setup(db, 3, 2).await;
    let payouts = Payouts::new(s.store.clone(), PayoutSettings::default());
    let batch = payouts
        .create_batch(&s.maker, &request(10))
        .await
        .expect("batch");
    payouts
        .submit(&s.maker, batch.payout_batch_id)
        .await
        .expect("submit");
    let outcome = payouts
        .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("approve");
    assert_eq!(
        outcome,
        ApproveOutcome::Short {
            campaign_id: s.campaign_id,
            campaign_name: "Test campaign".into(),
            short_by_minor: 1_000_000
        }
    );
    let b = s
        .store
        .batch(batch.payout_batch_id)
        .await
        .expect("read")
        .expect("batch");
    assert_eq!((b.state.as_str(), b.approvals), ("pending_approval", 0));
    assert!(s
        .store
        .batch_chunks(batch.payout_batch_id)
        .await
        .expect("chunks")
        .is_empty());
    let cc = s
        .store
        .cost_centre(s.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.reserved.minor(), 0);
    // A batch can't be emptied by removing items (it would never finish).
    let items = s
        .store
        .batch_items(batch.payout_batch_id, PayoutItemId::default(), 10)
        .await
        .expect("items");
    let all: Vec<PayoutItemId> = items.iter().map(|i| i.payout_item_id).collect();
    assert!(matches!(
        payouts
            .remove_items(&s.maker, batch.payout_batch_id, &all)
            .await,
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(
        s.store
            .eligible_items(&Default::default(), 10)
            .await
            .expect("eligible")
            .len(),
        0
    );
    // Rejecting returns the items to the eligible pool.
    payouts
        .reject(&s.checker, batch.payout_batch_id, "budget is short")
        .await
        .expect("reject");
    assert_eq!(
        s.store
            .eligible_items(&Default::default(), 10)
            .await
            .expect("eligible")
            .len(),
        3
    );
    assert!(s
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}
on_both_backends!(
    short_budget,
    crate::payouts::a_short_budget_refuses_the_approval_and_writes_nothing
);

/// Many batches of one item each race their approvals against a budget that
/// holds only some of them: exactly that many are approved.
async fn racing_approvals_never_overspend(db: &TestDb) {
    let s = setup(db, 12, 7).await;
    let payouts = std::sync::Arc::new(Payouts::new(s.store.clone(), PayoutSettings::default()));
    let mut batches = Vec::new();
    for _ in 0..12 {
        let b = payouts
            .create_batch(&s.maker, &request(1))
            .await
            .expect("batch");
        payouts
            .submit(&s.maker, b.payout_batch_id)
            .await
            .expect("submit");
        batches.push(b);
    }
    let mut tasks = Vec::new();
    for (i, b) in batches.into_iter().enumerate() {
        let payouts = payouts.clone();
        let checker = if i % 2 == 0 {
            s.checker.clone()
        } else {
            s.checker2.clone()
        };
        tasks.push(tokio::spawn(async move {
            payouts
                .approve(&checker, b.payout_batch_id, &b.content_hash)
                .await
                .expect("approve")
        }));
    }
    let mut approved = 0;
    for t in tasks {
        match t.await.expect("task") {
            ApproveOutcome::Approved => approved += 1,
            ApproveOutcome::Short { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(approved, 7);
    let cc = s
        .store
        .cost_centre(s.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.reserved.minor(), 7_000_000);
    assert!(cc.available().minor() >= 0);
    assert!(s
        .store
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
}
async fn finance_turns_on_automatic_disbursement(db: &TestDb) {
    let s = setup(db, 1, 10).await;
    let payouts = Payouts::new(s.store.clone(), PayoutSettings::default());
    assert!(!payouts.auto_disburse(&s.maker).await.expect("read"));
    assert!(matches!(
        payouts.set_auto_disburse(&s.checker, true).await,
        Err(DomainError::Forbidden)
    ));
    payouts
        .set_auto_disburse(&s.finance, true)
        .await
        .expect("turn on");
    let batch = payouts
        .create_batch(&s.maker, &request(10))
        .await
        .expect("batch");
    payouts
        .submit(&s.maker, batch.payout_batch_id)
        .await
        .expect("submit");
    payouts
        .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("approve");
    let b = s
        .store
        .batch(batch.payout_batch_id)
        .await
        .expect("read")
        .expect("batch");
    assert_eq!(b.state, "disbursing", "approved batches start at once");
    let audit = s.store.list_audit(None, 50).await.expect("audit");
    assert!(audit.iter().any(|a| a.action == "payout.auto_disburse_set"));
}
on_both_backends!(
    auto_disburse,
    crate::payouts::finance_turns_on_automatic_disbursement
);

on_both_backends!(
    racing_approvals,
    crate::payouts::racing_approvals_never_overspend
);

/// Risk-based four eyes: a payout above the two-checker threshold split into
/// small batches by one maker still needs two checkers once the maker's
/// batches approved in the last 24 h add up past it.
async fn risk_based_four_eyes_counts_a_makers_recent_batches(db: &TestDb) {
    let s = setup(db, 3, 100).await;
    // Above 2.5 tokens: two checkers. Each batch holds one 1-token item.
    let payouts = Payouts::new(
        s.store.clone(),
        PayoutSettings {
            two_checkers_above: Amount::from_minor(2_500_000),
            ..PayoutSettings::default()
        },
    );
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let batch = payouts
            .create_batch(&s.maker, &request(1))
            .await
            .expect("batch");
        assert_eq!(batch.approvals_needed, 1, "each batch alone is small");
        payouts
            .submit(&s.maker, batch.payout_batch_id)
            .await
            .expect("submit");
        outcomes.push((
            batch.payout_batch_id,
            batch.content_hash.clone(),
            payouts
                .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
                .await
                .expect("approve"),
        ));
    }
    assert_eq!(outcomes[0].2, ApproveOutcome::Approved);
    assert_eq!(outcomes[1].2, ApproveOutcome::Approved);
    // 1 + 1 approved in 24 h, plus this 1, is above 2.5: a second checker.
    assert_eq!(
        outcomes[2].2,
        ApproveOutcome::Recorded {
            approvals: 1,
            needed: 2
        }
    );
    let (id, hash, _) = &outcomes[2];
    assert_eq!(
        payouts
            .approve(&s.checker2, *id, hash)
            .await
            .expect("second checker"),
        ApproveOutcome::Approved
    );
}
on_both_backends!(
    risk_based_four_eyes_on,
    crate::payouts::risk_based_four_eyes_counts_a_makers_recent_batches
);

/// The home page's waiting work follows each member's roles: a checker sees
/// batches waiting for them (never their own, nor one they approved),
/// finance the approved batches to disburse and open findings, a maker none.
async fn waiting_work_is_counted_per_role(db: &TestDb) {
    use payquest_domain::work::waiting_for;
    use payquest_types::Waiting;
    // The first approval leaves the batch waiting for the second checker only.
    let (s, payouts, batch) = submitted_two_checker_batch(db).await;
    let waiting = |actor: payquest_domain::session::Actor| {
        let store = s.store.clone();
        async move { waiting_for(&store, &actor).await.expect("waiting") }
    };
    assert_eq!(
        waiting(s.checker.clone()).await,
        vec![Waiting::BatchesToApprove { count: 1 }]
    );
    assert!(
        waiting(s.maker.clone()).await.is_empty(),
        "a maker has no queue here"
    );
    // The maker, were they a checker too, still has nothing to approve: it is theirs.
    let mut both = s.maker.clone();
    both.roles.insert(Role::Checker);
    assert_eq!(
        waiting(both).await,
        vec![Waiting::BatchesToApprove { count: 0 }]
    );

    payouts
        .approve(&s.checker, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("first approval");
    assert_eq!(
        waiting(s.checker.clone()).await,
        vec![Waiting::BatchesToApprove { count: 0 }],
        "approved by them already"
    );
    assert_eq!(
        waiting(s.checker2.clone()).await,
        vec![Waiting::BatchesToApprove { count: 1 }]
    );
    assert_eq!(
        waiting(s.finance.clone()).await,
        vec![
            Waiting::BatchesToDisburse { count: 0 },
            Waiting::FindingsOpen { count: 0 }
        ]
    );
    payouts
        .approve(&s.checker2, batch.payout_batch_id, &batch.content_hash)
        .await
        .expect("second approval");
    assert_eq!(
        waiting(s.finance.clone()).await,
        vec![
            Waiting::BatchesToDisburse { count: 1 },
            Waiting::FindingsOpen { count: 0 }
        ]
    );
}
on_both_backends!(waiting_on, crate::payouts::waiting_work_is_counted_per_role);

/// The metrics' reading of the pipeline: rows per state, open findings and
/// the reconciliation lag.
async fn the_pipeline_gauges_count_rows_per_state(db: &TestDb) {
    let (s, _payouts, _batch) = submitted_two_checker_batch(db).await;
    let counts = s.store.pipeline_counts().await.expect("counts");
    let rows = |table: &str, state: &str| {
        counts
            .by_state
            .iter()
            .find(|(t, st, _)| t == table && st == state)
            .map_or(0, |r| r.2)
    };
    assert_eq!(rows("payout_item", "batched"), 3);
    assert_eq!(rows("payout_batch", "pending_approval"), 1);
    assert_eq!(rows("payout_item", "eligible"), 0);
    // Finished activities are history, not pipeline: never counted.
    assert!(
        !counts
            .by_state
            .iter()
            .any(|(t, st, _)| t == "activity" && st == "validated"),
        "{:?}",
        counts.by_state
    );
    assert_eq!(counts.findings_open, 0);
    assert_eq!(counts.oldest_unreconciled_at_ms, None);
}
on_both_backends!(
    gauges_on,
    crate::payouts::the_pipeline_gauges_count_rows_per_state
);

/// An owner's home names their campaign once its committed budget (unpaid
/// rewards included) comes within ten points of the alert threshold, and
/// only their own.
async fn owners_see_budgets_near_their_threshold(db: &TestDb) {
    use payquest_domain::work::waiting_for;
    use payquest_types::Waiting;
    // 3 tokens funded, 3 one-token rewards earned and unpaid: 100 % committed.
    let s = setup(db, 3, 3).await;
    let campaign = s
        .store
        .campaign(s.campaign_id)
        .await
        .expect("read")
        .expect("campaign");
    let owner = payquest_domain::session::Actor {
        user_id: campaign.owner_user_id,
        email: campaign.owner_email.clone(),
        roles: [Role::CampaignOwner].into_iter().collect(),
        ip: None,
        via: None,
    };
    let waiting = waiting_for(&s.store, &owner).await.expect("waiting");
    assert_eq!(
        waiting,
        vec![Waiting::BudgetNearThreshold {
            campaign_id: s.campaign_id,
            campaign: campaign.name.clone(),
            committed_pct: 100,
            threshold_pct: campaign.alert_threshold_pct,
        }]
    );
    // Another owner sees nothing of it.
    let other =
        payquest_domain::testing::staff(&s.store, "other@example.com", Role::CampaignOwner).await;
    assert!(waiting_for(&s.store, &other)
        .await
        .expect("waiting")
        .is_empty());
}
on_both_backends!(
    owner_waiting_on,
    crate::payouts::owners_see_budgets_near_their_threshold
);
