//! Money rule 2 on both databases: the budget ledger never lets available go
//! below zero, however reservations race (tasks in one process, and two
//! processes on one database), and the journal always equals the balances.

use payquest_types::CostCentreId;
use std::collections::BTreeSet;
use std::sync::Arc;

use payquest_domain::audit::AuditActor;
use payquest_domain::budgets::Budgets;
use payquest_domain::on_both_backends;
use payquest_domain::session::Actor;
use payquest_domain::store::{
    Backend, DynStore, FundOutcome, ReserveItem, ReserveOutcome, Settlement, TransferOutcome,
};
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{Amount, Role};
use payquest_domain::DomainError;
use sqlx::Connection;

fn amount(minor: i64) -> Amount {
    Amount::from_minor(minor)
}

fn system() -> AuditActor {
    AuditActor::system("test")
}

async fn finance(store: &DynStore, email: &str) -> Actor {
    testing::staff(store, email, Role::Finance).await
}

async fn funded_centre(
    store: &DynStore,
    budgets: &Budgets,
    actor: &Actor,
    code: &str,
    minor: i64,
) -> CostCentreId {
    let cc = budgets
        .create_cost_centre(actor, code, "Test centre")
        .await
        .expect("create");
    budgets
        .fund(
            actor,
            cc.cost_centre_id,
            amount(minor),
            &format!("seed-{code}"),
        )
        .await
        .expect("fund");
    assert_eq!(
        store
            .cost_centre(cc.cost_centre_id)
            .await
            .expect("read")
            .expect("exists")
            .funded,
        amount(minor)
    );
    cc.cost_centre_id
}

async fn assert_sound(store: &DynStore) {
    let problems = store.ledger_discrepancies().await.expect("check");
    assert!(
        problems.is_empty(),
        "journal and balances disagree: {problems:?}"
    );
}

fn item(cost_centre_id: CostCentreId, minor: i64, reference: impl Into<String>) -> ReserveItem {
    ReserveItem {
        cost_centre_id,
        amount: amount(minor),
        reference: reference.into(),
    }
}

async fn reserve_post_void_keep_the_books(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let fin = finance(&store, "fin@example.com").await;
    let cc = funded_centre(&store, &budgets, &fin, "CC-1", 1_000).await;

    let ids = match budgets
        .reserve(&system(), "batch:1", &[item(cc, 600, "batch:1:cc")])
        .await
        .expect("reserve")
    {
        ReserveOutcome::Reserved(ids) => ids,
        other => panic!("expected a reservation, got {other:?}"),
    };
    let short = budgets
        .reserve(&system(), "batch:2", &[item(cc, 401, "batch:2:cc")])
        .await
        .expect("reserve");
    assert_eq!(
        short,
        ReserveOutcome::Short {
            cost_centre_id: cc,
            short_by: amount(1)
        }
    );

    assert!(budgets
        .settle(&system(), ids[0], Settlement::Post)
        .await
        .expect("post"));
    assert!(
        !budgets
            .settle(&system(), ids[0], Settlement::Post)
            .await
            .expect("post twice"),
        "posted once"
    );
    assert!(!budgets
        .settle(&system(), ids[0], Settlement::Void)
        .await
        .expect("void after post"));

    let ReserveOutcome::Reserved(second) = budgets
        .reserve(&system(), "batch:3", &[item(cc, 400, "batch:3:cc")])
        .await
        .expect("reserve")
    else {
        panic!("400 of 400 available must reserve")
    };
    assert!(budgets
        .settle(&system(), second[0], Settlement::Void)
        .await
        .expect("void"));
    let c = store.cost_centre(cc).await.expect("read").expect("exists");
    assert_eq!(
        (c.funded, c.reserved, c.spent, c.available()),
        (amount(1_000), amount(0), amount(600), amount(400))
    );
    assert_sound(&store).await;

    // Bad input never reaches the books.
    assert!(matches!(
        budgets.fund(&fin, cc, amount(0), "k").await,
        Err(DomainError::InvalidInput(_))
    ));
    assert!(matches!(
        budgets.fund(&fin, cc, amount(i64::MAX), "k").await,
        Err(DomainError::InvalidInput(_))
    ));
    assert!(matches!(
        budgets
            .fund(&fin, CostCentreId(9_999), amount(5), "k2")
            .await,
        Err(DomainError::NotFound(_))
    ));
    assert_sound(&store).await;
}
on_both_backends!(books_on, crate::ledger::reserve_post_void_keep_the_books);

async fn funding_is_idempotent_and_finance_only(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let fin = finance(&store, "fin@example.com").await;
    let cc = budgets
        .create_cost_centre(&fin, "CC-1", "Launch")
        .await
        .expect("create");
    let first = budgets
        .fund(&fin, cc.cost_centre_id, amount(500), "deposit-7")
        .await
        .expect("fund");
    let again = budgets
        .fund(&fin, cc.cost_centre_id, amount(500), "deposit-7")
        .await
        .expect("retry");
    match (first, again) {
        (
            FundOutcome::Funded {
                ledger_journal_id: a,
            },
            FundOutcome::AlreadyFunded {
                ledger_journal_id: b,
            },
        ) => assert_eq!(a, b),
        other => panic!("a retry must be recognised: {other:?}"),
    }
    let changed = budgets
        .fund(&fin, cc.cost_centre_id, amount(900), "deposit-7")
        .await;
    assert!(
        matches!(changed, Err(DomainError::Conflict(_))),
        "same key, different deposit"
    );
    assert_eq!(
        store
            .cost_centre(cc.cost_centre_id)
            .await
            .expect("read")
            .expect("exists")
            .funded,
        amount(500)
    );

    let maker = Actor {
        roles: BTreeSet::from([Role::Maker, Role::Auditor]),
        ..fin.clone()
    };
    assert!(matches!(
        budgets
            .fund(&maker, cc.cost_centre_id, amount(5), "m")
            .await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        budgets.create_cost_centre(&maker, "X", "X").await,
        Err(DomainError::Forbidden)
    ));
    assert_eq!(
        budgets
            .list(&maker, CostCentreId::default(), 10)
            .await
            .expect("auditors read")
            .len(),
        1
    );
    assert_sound(&store).await;
}
on_both_backends!(
    funding_on,
    crate::ledger::funding_is_idempotent_and_finance_only
);

/// A person funding from the form: a retry under the form's key is the same
/// funding, the same amount again moments later under a new key is refused
/// until confirmed, and another amount goes through.
async fn a_repeated_funding_asks_first(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let fin = finance(&store, "fin@example.com").await;
    let cc = budgets
        .create_cost_centre(&fin, "CC-R", "Repeat")
        .await
        .expect("create")
        .cost_centre_id;
    let first = budgets
        .fund_confirmed(&fin, cc, amount(500), "form-1", false)
        .await
        .expect("fund");
    assert!(matches!(first, FundOutcome::Funded { .. }));
    // A double click or a retried request: the same key, no question.
    let retry = budgets
        .fund_confirmed(&fin, cc, amount(500), "form-1", false)
        .await
        .expect("retry");
    assert!(matches!(retry, FundOutcome::AlreadyFunded { .. }));
    // The next form, the same amount: asks first, writes nothing.
    let repeat = budgets
        .fund_confirmed(&fin, cc, amount(500), "form-2", false)
        .await;
    match repeat {
        Err(e @ DomainError::Named(..)) => {
            assert_eq!(
                e.code(),
                payquest_domain::types::ErrorCode::RepeatUnconfirmed
            );
        }
        other => panic!("a repeat must ask first: {other:?}"),
    }
    let funded = |store: DynStore| async move {
        store
            .cost_centre(cc)
            .await
            .expect("read")
            .expect("exists")
            .funded
    };
    assert_eq!(funded(store.clone()).await, amount(500));
    // Confirmed, it funds; another amount needs no confirmation.
    budgets
        .fund_confirmed(&fin, cc, amount(500), "form-2", true)
        .await
        .expect("confirmed repeat");
    budgets
        .fund_confirmed(&fin, cc, amount(7), "form-3", false)
        .await
        .expect("another amount");
    assert_eq!(funded(store.clone()).await, amount(1_007));
    // Still finance only.
    let maker = testing::staff(&store, "mk@example.com", Role::Maker).await;
    assert!(matches!(
        budgets
            .fund_confirmed(&maker, cc, amount(1), "form-4", true)
            .await,
        Err(DomainError::Forbidden)
    ));
}
on_both_backends!(repeat_on, crate::ledger::a_repeated_funding_asks_first);

async fn racing_reservations_never_overspend(db: &TestDb) {
    let store = db.store().await;
    let budgets = Arc::new(Budgets::new(store.clone()));
    let fin = finance(&store, "fin@example.com").await;
    let cc = funded_centre(&store, &budgets, &fin, "CC-R", 1_000).await;
    // 48 tasks each want 30; only 33 fit in 1,000.
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let budgets = Arc::clone(&budgets);
            tokio::spawn(async move {
                budgets
                    .reserve(&system(), "race", &[item(cc, 30, format!("race:{i}"))])
                    .await
            })
        })
        .collect();
    let mut reserved = Vec::new();
    for t in tasks {
        if let ReserveOutcome::Reserved(ids) = t.await.expect("join").expect("reserve") {
            reserved.extend(ids);
        }
    }
    assert_eq!(reserved.len(), 33);
    let c = store.cost_centre(cc).await.expect("read").expect("exists");
    assert_eq!(c.reserved, amount(990));
    assert_sound(&store).await;

    // Eight tasks settle the same reservation at once: it moves once.
    let target = reserved[0];
    let settles: Vec<_> = (0..8)
        .map(|i| {
            let budgets = Arc::clone(&budgets);
            let how = if i % 2 == 0 {
                Settlement::Post
            } else {
                Settlement::Void
            };
            tokio::spawn(async move { budgets.settle(&system(), target, how).await })
        })
        .collect();
    let mut moved = 0;
    for s in settles {
        if s.await.expect("join").expect("settle") {
            moved += 1;
        }
    }
    assert_eq!(moved, 1);
    assert_sound(&store).await;
}
on_both_backends!(race_on, crate::ledger::racing_reservations_never_overspend);

async fn multi_centre_reservations_are_all_or_nothing(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let fin = finance(&store, "fin@example.com").await;
    let a = funded_centre(&store, &budgets, &fin, "CC-A", 100).await;
    let b = funded_centre(&store, &budgets, &fin, "CC-B", 50).await;
    let outcome = budgets
        .reserve(
            &system(),
            "batch:9",
            &[item(a, 80, "batch:9:a"), item(b, 70, "batch:9:b")],
        )
        .await
        .expect("reserve");
    assert_eq!(
        outcome,
        ReserveOutcome::Short {
            cost_centre_id: b,
            short_by: amount(20)
        }
    );
    assert_eq!(
        store
            .cost_centre(a)
            .await
            .expect("read")
            .expect("exists")
            .reserved,
        amount(0),
        "nothing half-reserved"
    );
    let ok = budgets
        .reserve(
            &system(),
            "batch:10",
            &[item(b, 50, "batch:10:b"), item(a, 100, "batch:10:a")],
        )
        .await
        .expect("reserve");
    let ReserveOutcome::Reserved(ids) = ok else {
        panic!("both fit exactly")
    };
    assert_eq!(ids.len(), 2);
    let dup = budgets
        .reserve(&system(), "batch:10", &[item(a, 1, "batch:10:a")])
        .await;
    assert!(matches!(
        dup,
        Err(DomainError::Conflict(_)) | Ok(ReserveOutcome::Short { .. })
    ));
    assert_sound(&store).await;
}
on_both_backends!(
    all_or_nothing_on,
    crate::ledger::multi_centre_reservations_are_all_or_nothing
);

async fn transfers_need_a_second_finance_user(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let alice = finance(&store, "alice@example.com").await;
    let bob = finance(&store, "bob@example.com").await;
    let from = funded_centre(&store, &budgets, &alice, "CC-F", 300).await;
    let to = funded_centre(&store, &budgets, &alice, "CC-T", 10).await;

    let t = budgets
        .request_transfer(&alice, from, to, amount(200), "t-200")
        .await
        .expect("request");
    // A retried request (a double click) asks once; another request under
    // the same key is refused.
    let again = budgets
        .request_transfer(&alice, from, to, amount(200), "t-200")
        .await
        .expect("retry");
    assert_eq!(again.budget_transfer_id, t.budget_transfer_id);
    assert!(matches!(
        budgets
            .request_transfer(&alice, from, to, amount(201), "t-200")
            .await,
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(
        budgets
            .pending_transfers(&alice)
            .await
            .expect("pending")
            .len(),
        1
    );
    assert!(matches!(
        budgets
            .decide_transfer(&alice, t.budget_transfer_id, true)
            .await,
        Err(DomainError::Forbidden)
    ));
    // The database refuses it too, whatever the code above does.
    let same_person = format!(
        "UPDATE budget_transfer SET decided_by = requested_by WHERE budget_transfer_id = {}",
        t.budget_transfer_id
    );
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            assert!(sqlx::query(&same_person).execute(&mut c).await.is_err());
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            assert!(sqlx::query(&same_person).execute(&mut c).await.is_err());
        }
    }

    // Spend part of the source first: the transfer no longer fits and stays pending.
    let ReserveOutcome::Reserved(_) = budgets
        .reserve(&system(), "b", &[item(from, 150, "b:from")])
        .await
        .expect("reserve")
    else {
        panic!("fits")
    };
    let short = budgets
        .decide_transfer(&bob, t.budget_transfer_id, true)
        .await
        .expect("decide");
    assert_eq!(
        short,
        TransferOutcome::Short {
            short_by: amount(50)
        }
    );
    let t2 = budgets
        .request_transfer(&alice, from, to, amount(100), "t-100")
        .await
        .expect("request");
    assert_eq!(
        budgets
            .decide_transfer(&bob, t2.budget_transfer_id, true)
            .await
            .expect("decide"),
        TransferOutcome::Executed
    );
    assert_eq!(
        budgets
            .decide_transfer(&bob, t2.budget_transfer_id, true)
            .await
            .expect("decide"),
        TransferOutcome::NotPending
    );
    assert_eq!(
        budgets
            .decide_transfer(&bob, t.budget_transfer_id, false)
            .await
            .expect("reject"),
        TransferOutcome::Rejected
    );
    let f = store
        .cost_centre(from)
        .await
        .expect("read")
        .expect("exists");
    let g = store.cost_centre(to).await.expect("read").expect("exists");
    assert_eq!(
        (f.funded, f.available(), g.funded),
        (amount(200), amount(50), amount(110))
    );
    assert_sound(&store).await;
}
on_both_backends!(
    transfers_on,
    crate::ledger::transfers_need_a_second_finance_user
);

async fn the_books_are_append_only_and_guarded_by_constraints(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let fin = finance(&store, "fin@example.com").await;
    let cc = funded_centre(&store, &budgets, &fin, "CC-1", 100).await;
    let statements = [
        "UPDATE ledger_entry SET amount_minor = amount_minor * 2".to_owned(),
        "DELETE FROM ledger_journal".to_owned(),
        format!("UPDATE cost_centre SET reserved_minor = 101 WHERE cost_centre_id = {cc}"),
    ];
    for sql in &statements {
        let refused = match db.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&db.url)
                    .await
                    .expect("connect");
                sqlx::query(sql).execute(&mut c).await.is_err()
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
                sqlx::query(sql).execute(&mut c).await.is_err()
            }
        };
        assert!(refused, "the database must refuse: {sql}");
    }
    assert_sound(&store).await;
}
on_both_backends!(
    append_only_on,
    crate::ledger::the_books_are_append_only_and_guarded_by_constraints
);

// ---- Two processes racing for one budget -------------------------------------

const RACE_URL: &str = "PQ_LEDGER_RACE_URL";
const RACE_CC: &str = "PQ_LEDGER_RACE_CC";
const RACE_TAG: &str = "PQ_LEDGER_RACE_TAG";
const RACE_TASKS: usize = 16;
const RACE_ATTEMPTS_PER_TASK: usize = 10;
const RACE_AMOUNT: i64 = 37;
const RACE_FUNDED: i64 = 10_000;

/// The child side: started by `two_processes_race_*` as a separate OS
/// process; does nothing when run on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "run as a child process by the two-process race tests"]
async fn race_worker() {
    let (Ok(url), Ok(cc), Ok(tag)) = (
        std::env::var(RACE_URL),
        std::env::var(RACE_CC),
        std::env::var(RACE_TAG),
    ) else {
        return;
    };
    let cc: CostCentreId = cc.parse().expect("cost centre id");
    let store = payquest_domain::store::connect(&url)
        .await
        .expect("connect");
    let budgets = Arc::new(Budgets::new(store));
    let tasks: Vec<_> = (0..RACE_TASKS)
        .map(|t| {
            let budgets = Arc::clone(&budgets);
            let tag = tag.clone();
            tokio::spawn(async move {
                for n in 0..RACE_ATTEMPTS_PER_TASK {
                    let r = item(cc, RACE_AMOUNT, format!("{tag}:{t}:{n}"));
                    budgets
                        .reserve(&system(), "race", &[r])
                        .await
                        .expect("reserve");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join");
    }
}

async fn two_processes_race_for_one_budget(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let fin = finance(&store, "fin@example.com").await;
    let cc = funded_centre(&store, &budgets, &fin, "CC-2P", RACE_FUNDED).await;
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|tag| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "ledger::race_worker",
                    "--ignored",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env(RACE_URL, &db.url)
                .env(RACE_CC, cc.to_string())
                .env(RACE_TAG, tag)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start child process")
        })
        .collect();
    for mut child in children {
        assert!(
            child.wait().expect("wait").success(),
            "a racing process failed"
        );
    }
    // 2 × 16 × 10 attempts of 37 against 10,000: exactly 270 fit.
    let c = store.cost_centre(cc).await.expect("read").expect("exists");
    assert_eq!(c.reserved, amount(RACE_FUNDED / RACE_AMOUNT * RACE_AMOUNT));
    assert!(c.available().minor() >= 0 && c.available().minor() < RACE_AMOUNT);
    assert_sound(&store).await;
}
on_both_backends!(
    two_processes_on,
    crate::ledger::two_processes_race_for_one_budget
);

/// Lock order: a transfer from the higher-numbered centre to the lower
/// locked them in the opposite order to a reservation over both, so the two
/// could deadlock on PostgreSQL. Transfers both ways race reservations over
/// both centres here; every one of them completes and the books balance.
async fn lock_order_transfers_and_reservations_race_without_deadlock(db: &TestDb) {
    let store = db.store().await;
    let budgets = Arc::new(Budgets::new(store.clone()));
    let alice = finance(&store, "alice@example.com").await;
    let bob = finance(&store, "bob@example.com").await;
    let low = funded_centre(&store, &budgets, &alice, "CC-LOW", 1_000_000).await;
    let high = funded_centre(&store, &budgets, &alice, "CC-HIGH", 1_000_000).await;
    assert!(low < high);
    let mut pending = Vec::new();
    for n in 0..20 {
        let (from, to) = if n % 2 == 0 { (high, low) } else { (low, high) };
        pending.push(
            budgets
                .request_transfer(&alice, from, to, amount(10), &format!("t-{n}"))
                .await
                .expect("request")
                .budget_transfer_id,
        );
    }
    let mut tasks = Vec::new();
    for (n, id) in pending.into_iter().enumerate() {
        let deciding = budgets.clone();
        let bob = bob.clone();
        tasks.push(tokio::spawn(async move {
            deciding.decide_transfer(&bob, id, true).await.map(|_| ())
        }));
        let budgets = budgets.clone();
        tasks.push(tokio::spawn(async move {
            let r = format!("race:{n}");
            budgets
                .reserve(
                    &system(),
                    &r,
                    &[
                        item(low, 5, format!("{r}:low")),
                        item(high, 5, format!("{r}:high")),
                    ],
                )
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("no deadlock, no error");
    }
    assert_sound(&store).await;
}
on_both_backends!(
    lock_order_on,
    crate::ledger::lock_order_transfers_and_reservations_race_without_deadlock
);
