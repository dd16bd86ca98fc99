//! Money rules 2 and 4 across replicas: two `payquest serve` processes on one
//! database, checkers approving different payout batches against one budget
//! at once through the pages' server functions. Exactly as many batches as
//! the budget holds are approved, the rest are refused naming the shortfall,
//! the journal equals the balances, and the maker can't approve their own.

use std::sync::Arc;

use payquest_domain::on_both_backends;
use payquest_domain::payouts::{BatchRequest, PayoutSettings, Payouts};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::testing::{active_quest, reviewed_rewards, TestDb};
use payquest_domain::types::{Amount, Role};
use payquest_domain::users::create_staff_from_cli;

use crate::budget_race::full_sign_in;
use crate::{client, spawn};

const BATCHES: usize = 16;
const FITS: usize = 9;

async fn batch_approvals_racing_on_two_servers_never_overspend(db: &TestDb) {
    let store = db.store().await;
    let quest_id = active_quest(&store, "race", ValidatorConfig::Manual).await;
    let campaign = payquest_domain::testing::quest_campaign(&store, quest_id).await;
    let mk = |email: &str, role| {
        let store = store.clone();
        let email = email.to_owned();
        async move {
            create_staff_from_cli(&store, &email, "Person", role)
                .await
                .expect("staff")
        }
    };
    let maker = mk("maker@example.com", Role::Maker).await;
    let c1 = mk("c1@example.com", Role::Checker).await;
    let c2 = mk("c2@example.com", Role::Checker).await;
    let fin = mk("fin@example.com", Role::Finance).await;
    let actor = |u: &payquest_domain::types::CreatedUser, role| payquest_domain::session::Actor {
        user_id: u.user.user_id,
        email: u.user.email.clone(),
        roles: std::collections::BTreeSet::from([role]),
        ip: None,
        via: None,
    };
    payquest_domain::budgets::Budgets::new(store.clone())
        .fund(
            &actor(&fin, Role::Finance),
            campaign.budget.cost_centre_id,
            Amount::from_minor(FITS as i64 * 1_000_000),
            "seed",
        )
        .await
        .expect("fund");
    let wallets: Vec<String> = (0..BATCHES)
        .map(|n| format!("0x{:040x}", 0xbadc_0000u64 + n as u64))
        .collect();
    reviewed_rewards(&store, quest_id, "race", &wallets).await;
    let payouts = Payouts::new(store.clone(), PayoutSettings::default());
    let maker_actor = actor(&maker, Role::Maker);
    let mut batches = Vec::new();
    for _ in 0..BATCHES {
        let b = payouts
            .create_batch(
                &maker_actor,
                &BatchRequest {
                    max_items: 1,
                    ..BatchRequest::default()
                },
            )
            .await
            .expect("batch");
        payouts
            .submit(&maker_actor, b.payout_batch_id)
            .await
            .expect("submit");
        batches.push(b);
    }

    let one = spawn(&db.url, &[("PAYQUEST_VALIDATION_WORKERS", "false")]);
    let two = spawn(&db.url, &[("PAYQUEST_VALIDATION_WORKERS", "false")]);
    let cookies = Arc::new([
        full_sign_in(&one.url, "c1@example.com", &c1.one_time_password).await,
        full_sign_in(&two.url, "c2@example.com", &c2.one_time_password).await,
    ]);
    let http = client();
    let tasks: Vec<_> = batches
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let base = if i % 2 == 0 {
                one.url.clone()
            } else {
                two.url.clone()
            };
            let (http, cookies) = (http.clone(), Arc::clone(&cookies));
            let (id, hash) = (b.payout_batch_id, b.content_hash.clone());
            tokio::spawn(async move {
                let res = http
                    .post(format!("{base}/api/approve_batch"))
                    .header("cookie", cookies[i % 2].as_str())
                    .form(&[("batch_id", id.to_string()), ("content_hash", hash)])
                    .send()
                    .await
                    .expect("call");
                (res.status().as_u16(), res.text().await.unwrap_or_default())
            })
        })
        .collect();
    let mut approved = 0;
    for t in tasks {
        let (status, body) = t.await.expect("join");
        match status {
            200 => approved += 1,
            409 => assert!(body.contains("short by 1"), "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(approved, FITS, "exactly what the budget holds is approved");
    let cc = store
        .cost_centre(campaign.budget.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(
        (cc.reserved.minor(), cc.available().minor()),
        (FITS as i64 * 1_000_000, 0)
    );
    let problems = store.ledger_discrepancies().await.expect("check");
    assert!(problems.is_empty(), "{problems:?}");

    // The maker may not approve their own batch through either replica.
    let maker_cookie = full_sign_in(&two.url, "maker@example.com", &maker.one_time_password).await;
    let last = batches.last().expect("batch");
    let own = http
        .post(format!("{}/api/approve_batch", one.url))
        .header("cookie", maker_cookie.as_str())
        .form(&[
            ("batch_id", last.payout_batch_id.to_string()),
            ("content_hash", last.content_hash.clone()),
        ])
        .send()
        .await
        .expect("call");
    assert_eq!(own.status(), 403);

    // Bad input is refused with a stable code and changes nothing.
    let bad_hash = http
        .post(format!("{}/api/approve_batch", one.url))
        .header("cookie", cookies[0].as_str())
        .form(&[
            ("batch_id", last.payout_batch_id.to_string()),
            ("content_hash", "not-a-hash".into()),
        ])
        .send()
        .await
        .expect("call");
    assert_eq!(bad_hash.status(), 422);
    let body: serde_json::Value = bad_hash.json().await.expect("json");
    assert_eq!(body["code"], "invalid_input");
    let too_big = http
        .post(format!("{}/api/create_batch", two.url))
        .header("cookie", maker_cookie.as_str())
        .form(&[
            ("note", "x"),
            ("campaign", ""),
            ("quest", ""),
            ("from", ""),
            ("to", ""),
            ("min_amount", ""),
            ("max_items", "100000"),
        ])
        .send()
        .await
        .expect("call");
    assert_eq!(too_big.status(), 422);
    let cc = store
        .cost_centre(campaign.budget.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(cc.reserved.minor(), FITS as i64 * 1_000_000);
}
on_both_backends!(
    two_servers_on,
    crate::batch_race::batch_approvals_racing_on_two_servers_never_overspend
);
