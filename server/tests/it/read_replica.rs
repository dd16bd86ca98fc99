//! `PAYQUEST_DATABASE_READ_URL`: a second PostgreSQL database stands in for
//! the read replica. It holds an activity the primary does not (as a replica
//! that is ahead or behind would differ), so which database answered shows
//! in what the server returns: the activity list reads the replica; a money
//! decision (approving a budget transfer) reads and writes the primary only;
//! and the replica's connections refuse writes.

use payquest_domain::budgets::Budgets;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::session::Actor;
use payquest_domain::store::PoolSettings;
use payquest_domain::testing::{active_quest, earn_reward, TestDb};
use payquest_domain::types::{Amount, Role};
use payquest_domain::users::create_staff_from_cli;
use serde_json::Value;

use crate::budget_race::full_sign_in;
use crate::{client, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_tolerant_reads_go_to_the_replica_and_money_stays_on_the_primary() {
    let primary = TestDb::postgres().await.expect("PostgreSQL");
    let replica = TestDb::postgres().await.expect("PostgreSQL");
    let store = primary.store().await;
    let replica_store = replica.store().await;

    let on_primary = active_quest(&store, "primary", ValidatorConfig::Manual).await;
    earn_reward(&store, on_primary, 1).await;
    let on_replica = active_quest(&replica_store, "replica", ValidatorConfig::Manual).await;
    earn_reward(&replica_store, on_replica, 2).await;

    let finance = create_staff_from_cli(&store, "fin@example.com", "Fin", Role::Finance)
        .await
        .expect("finance");
    let approver = create_staff_from_cli(&store, "ann@example.com", "Ann", Role::Finance)
        .await
        .expect("approver");
    let fin = Actor {
        user_id: finance.user.user_id,
        email: finance.user.email.clone(),
        roles: std::collections::BTreeSet::from([Role::Finance]),
        ip: None,
        via: None,
    };
    let budgets = Budgets::new(store.clone());
    let from = budgets
        .create_cost_centre(&fin, "FROM", "Source")
        .await
        .expect("cc");
    let to = budgets
        .create_cost_centre(&fin, "TO", "Target")
        .await
        .expect("cc");
    budgets
        .fund(
            &fin,
            from.cost_centre_id,
            Amount::from_minor(5_000_000),
            "seed",
        )
        .await
        .expect("fund");
    let transfer = budgets
        .request_transfer(
            &fin,
            from.cost_centre_id,
            to.cost_centre_id,
            Amount::from_minor(2_000_000),
            "move",
        )
        .await
        .expect("request");

    let server = spawn(
        &primary.url,
        &[
            ("PAYQUEST_DATABASE_READ_URL", replica.url.as_str()),
            ("PAYQUEST_VALIDATION_WORKERS", "false"),
        ],
    );
    // Sessions are on the primary.
    let cookie = full_sign_in(&server.url, "ann@example.com", &approver.one_time_password).await;
    let http = client();

    let listed: Vec<Value> = http
        .post(format!("{}/api/list_activities", server.url))
        .header("cookie", &cookie)
        .form(&Vec::<(&str, &str)>::new())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = listed
        .iter()
        .filter_map(|a| a["external_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["earned-2"], "the list came from the replica");

    let res = http
        .post(format!("{}/api/decide_transfer", server.url))
        .header("cookie", &cookie)
        .form(&[
            ("transfer_id", transfer.budget_transfer_id.to_string()),
            ("approve", "true".into()),
        ])
        .send()
        .await
        .expect("decide");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(res.json::<String>().await.expect("json"), "executed");
    let moved = store
        .cost_centre(to.cost_centre_id)
        .await
        .expect("read")
        .expect("cc");
    assert_eq!(
        moved.funded.minor(),
        2_000_000,
        "the primary moved the money"
    );
    assert!(
        replica_store
            .cost_centre(to.cost_centre_id)
            .await
            .expect("read")
            .is_none(),
        "nothing reached the replica's database"
    );

    // A write sent to the replica's connections is refused there.
    let reads = payquest_domain::store::connect_replica(&replica.url, &PoolSettings::default())
        .await
        .expect("replica");
    let refused = Budgets::new(reads)
        .create_cost_centre(&fin, "NOPE", "Nope")
        .await;
    assert!(refused.is_err(), "a read-only replica took a write");

    drop(server);
    primary.cleanup().await;
    replica.cleanup().await;
}
