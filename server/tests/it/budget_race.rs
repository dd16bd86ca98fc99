//! Money rule 2 across replicas: two `payquest serve` processes on one
//! database, many concurrent approvals of transfers out of one budget through
//! the pages' server functions. The budget never goes below zero and the
//! journal equals the balances afterwards.

use std::sync::Arc;

use payquest_domain::budgets::Budgets;
use payquest_domain::on_both_backends;
use payquest_domain::session::totp;
use payquest_domain::testing::TestDb;
use payquest_domain::types::{Amount, Role};
use payquest_domain::users::create_staff_from_cli;
use serde_json::Value;

use crate::{client, spawn};

/// A new staff member with `role`, signed all the way in over HTTP in one
/// call; returns the session cookie.
pub(crate) async fn sign_in_as(
    store: &payquest_domain::store::DynStore,
    base: &str,
    email: &str,
    role: Role,
) -> String {
    let created = create_staff_from_cli(store, email, "Person", role)
        .await
        .expect("staff");
    full_sign_in(base, email, &created.one_time_password).await
}

/// Signs a new staff member in over HTTP (one-time password, new password,
/// TOTP enrolment); returns the session cookie.
pub(crate) async fn full_sign_in(base: &str, email: &str, one_time_password: &str) -> String {
    let http = client();
    let post = |path: &str, form: Vec<(&str, String)>| {
        let req = http.post(format!("{base}/api/{path}")).form(&form);
        async move { req.send().await.expect("call") }
    };
    let res = post(
        "sign_in",
        vec![
            ("email", email.into()),
            ("password", one_time_password.into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    // The id is renewed at every stage: the cookie that counts is the last one.
    let cookie_of = |res: &reqwest::Response| {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("pq_session="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned()
    };
    let pw = "race test password".to_string();
    assert_eq!(
        post(
            "change_password",
            vec![("password", pw.clone()), ("confirm", pw)]
        )
        .await
        .status(),
        200
    );
    let enrol: Value = post("begin_enrolment", vec![])
        .await
        .json()
        .await
        .expect("json");
    let secret = enrol["secret_base32"].as_str().expect("secret").to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let code = totp::code_at(&secret, now).expect("code");
    let enrolled = post("confirm_enrolment", vec![("code", code)]).await;
    assert_eq!(enrolled.status(), 200);
    cookie_of(&enrolled)
}

async fn approvals_racing_on_two_servers_never_overdraw_a_budget(db: &TestDb) {
    const TRANSFERS: usize = 24;
    let store = db.store().await;
    let alice = create_staff_from_cli(&store, "alice@example.com", "Alice", Role::Finance)
        .await
        .expect("alice");
    let bob = create_staff_from_cli(&store, "bob@example.com", "Bob", Role::Finance)
        .await
        .expect("bob");
    let alice_actor = payquest_domain::session::Actor {
        user_id: alice.user.user_id,
        email: alice.user.email.clone(),
        roles: std::collections::BTreeSet::from([Role::Finance]),
        ip: None,
        via: None,
    };
    let budgets = Budgets::new(store.clone());
    let from = budgets
        .create_cost_centre(&alice_actor, "FROM", "Source")
        .await
        .expect("cc");
    let to = budgets
        .create_cost_centre(&alice_actor, "TO", "Target")
        .await
        .expect("cc");
    budgets
        .fund(
            &alice_actor,
            from.cost_centre_id,
            Amount::from_minor(1_000_000_000),
            "seed",
        )
        .await
        .expect("fund");
    let mut ids = Vec::new();
    for n in 0..TRANSFERS {
        let t = budgets
            .request_transfer(
                &alice_actor,
                from.cost_centre_id,
                to.cost_centre_id,
                Amount::from_minor(100_000_000),
                &format!("race-{n}"),
            )
            .await
            .expect("request");
        ids.push(t.budget_transfer_id);
    }

    let one = spawn(&db.url, &[("PAYQUEST_VALIDATION_WORKERS", "false")]);
    let two = spawn(&db.url, &[("PAYQUEST_VALIDATION_WORKERS", "false")]);
    // Sessions live in the database: Bob's cookie works on both replicas.
    let cookie = Arc::new(full_sign_in(&one.url, "bob@example.com", &bob.one_time_password).await);
    let http = client();
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let base = if i % 2 == 0 {
                one.url.clone()
            } else {
                two.url.clone()
            };
            let (http, cookie, id) = (http.clone(), Arc::clone(&cookie), *id);
            tokio::spawn(async move {
                let res = http
                    .post(format!("{base}/api/decide_transfer"))
                    .header("cookie", cookie.as_str())
                    .form(&[("transfer_id", id.to_string()), ("approve", "true".into())])
                    .send()
                    .await
                    .expect("call");
                assert_eq!(
                    res.status(),
                    200,
                    "{}",
                    res.text().await.unwrap_or_default()
                );
                res.json::<String>().await.expect("json")
            })
        })
        .collect();
    let mut executed = 0;
    for t in tasks {
        match t.await.expect("join").as_str() {
            "executed" => executed += 1,
            other => assert!(other.starts_with("short by"), "{other}"),
        }
    }
    assert_eq!(
        executed, 10,
        "1,000 tokens move as ten transfers of 100, no more"
    );
    let source = store
        .cost_centre(from.cost_centre_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (source.funded, source.available()),
        (Amount::ZERO, Amount::ZERO)
    );
    let target = store
        .cost_centre(to.cost_centre_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(target.funded, Amount::from_minor(1_000_000_000));
    let problems = store.ledger_discrepancies().await.expect("check");
    assert!(problems.is_empty(), "{problems:?}");
    // Alice may not approve her own request, through either replica.
    let alice_cookie = full_sign_in(&two.url, "alice@example.com", &alice.one_time_password).await;
    let own = http
        .post(format!("{}/api/decide_transfer", one.url))
        .header("cookie", alice_cookie)
        .form(&[
            ("transfer_id", ids[TRANSFERS - 1].to_string()),
            ("approve", "true".into()),
        ])
        .send()
        .await
        .expect("call");
    assert_eq!(own.status(), 403);
}
on_both_backends!(
    two_servers_on,
    crate::budget_race::approvals_racing_on_two_servers_never_overdraw_a_budget
);
