//! The machine API over HTTP against the real binary: client credentials,
//! JWKS, activity reporting with idempotency and limits, revocation, OpenAPI.

use payquest_types::CampaignId;
use payquest_types::QuestId;
use std::sync::Arc;

use axum::response::IntoResponse;

use payquest_domain::on_both_backends;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::testing::{self, TestDb};
use serde_json::{json, Value};

use crate::{client, command, post_head_only, spawn};

pub(crate) struct Client {
    id: String,
    secret: String,
}

pub(crate) fn create_client(db: &TestDb, scopes: &str) -> Client {
    let out = command(&db.url)
        .args([
            "api-client",
            "create",
            "--name",
            "Game server",
            "--scopes",
            scopes,
            "--json",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("--json prints one JSON object");
    Client {
        id: v["client_id"].as_str().expect("id").to_owned(),
        secret: v["client_secret"].as_str().expect("secret").to_owned(),
    }
}

pub(crate) async fn token(http: &reqwest::Client, base: &str, c: &Client) -> String {
    let res = http
        .post(format!("{base}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.id),
            ("client_secret", &c.secret),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 600);
    v["access_token"].as_str().expect("token").to_owned()
}

pub(crate) fn activity(quest_id: QuestId, n: usize) -> Value {
    json!({
        "external_id": format!("match-{n}"),
        "quest_id": quest_id,
        "wallet": format!("0x{:040x}", n + 1),
        "game_account_id": format!("player-{n}"),
        "occurred_at": "2026-11-01T10:00:00Z",
        "evidence": { "score": n },
    })
}

async fn clients_get_tokens_and_report_activities(db: &TestDb) {
    let store = db.store().await;
    let quest_id = testing::active_quest(&store, "api", ValidatorConfig::Manual).await;
    let writer = create_client(db, "activities:write,activities:read");
    let reader = create_client(db, "activities:read");
    // No validation workers: the status read below is the one just reported.
    let server = spawn(&db.url, &[("PAYQUEST_VALIDATION_WORKERS", "false")]);
    let base = server.url.clone();
    let http = client();

    // Tokens: form and Basic credentials; wrong ones refused the OAuth way.
    let tok = token(&http, &base, &writer).await;
    let basic = http
        .post(format!("{base}/api/v1/oauth/token"))
        .basic_auth(&writer.id, Some(&writer.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(basic.status(), 200);
    let wrong = http
        .post(format!("{base}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &writer.id),
            ("client_secret", "pqs_nope"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.expect("json")["error"],
        "invalid_client"
    );
    let grant = http
        .post(format!("{base}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", &writer.id),
            ("client_secret", &writer.secret),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(
        grant.json::<Value>().await.expect("json")["error"],
        "unsupported_grant_type"
    );

    let jwks: Value = http
        .get(format!("{base}/api/v1/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2, "current and next");
    assert!(
        keys.iter()
            .all(|k| k["kty"] == "OKP" && k["alg"] == "EdDSA" && k.get("d").is_none()),
        "public halves only"
    );

    // One activity: 201, the same again 200 with the same id, another payload 409.
    let post = |body: Value, token: String| {
        let http = http.clone();
        let url = format!("{base}/api/v1/activities");
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("post")
        }
    };
    let first = post(activity(quest_id, 1), tok.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let id = first["activity_id"].as_i64().expect("id");
    let again = post(activity(quest_id, 1), tok.clone()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.expect("json")["activity_id"],
        id
    );
    let mut changed = activity(quest_id, 1);
    changed["evidence"] = json!({ "score": 1000 });
    let conflict = post(changed, tok.clone()).await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(
        conflict.json::<Value>().await.expect("json")["error"]["code"],
        "conflict"
    );

    // A batch answers per item.
    let mut bad = activity(quest_id, 3);
    bad["wallet"] = json!("0x123");
    let batch = post(
        json!({ "activities": [activity(quest_id, 2), bad, activity(quest_id, 1)] }),
        tok.clone(),
    )
    .await;
    assert_eq!(batch.status(), 200);
    let batch: Value = batch.json().await.expect("json");
    assert_eq!(
        (
            batch["created"].as_i64(),
            batch["existing"].as_i64(),
            batch["rejected"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(batch["results"][1]["http_status"], 422);

    // NDJSON works too.
    let ndjson = format!("{}\n{}\n", activity(quest_id, 4), activity(quest_id, 5));
    let nd = http
        .post(format!("{base}/api/v1/activities"))
        .bearer_auth(&tok)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .expect("post");
    assert_eq!(nd.status(), 200);
    assert_eq!(nd.json::<Value>().await.expect("json")["created"], 2);

    // Status: the reporting client reads it; another client gets 404.
    let status = http
        .get(format!("{base}/api/v1/activities/{id}"))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("get");
    assert_eq!(status.status(), 200);
    assert_eq!(
        status.json::<Value>().await.expect("json")["status"],
        "received"
    );
    let reader_tok = token(&http, &base, &reader).await;
    let other = http
        .get(format!("{base}/api/v1/activities/{id}"))
        .bearer_auth(&reader_tok)
        .send()
        .await
        .expect("get");
    assert_eq!(other.status(), 404);
    // The read-only client may not report; the refusal is audited, once a
    // minute per client and path however often it is tried.
    for _ in 0..3 {
        assert_eq!(
            post(activity(quest_id, 9), reader_tok.clone())
                .await
                .status(),
            403
        );
    }
    let refused = store
        .list_audit(None, 500)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| {
            e.action == "auth.refused"
                && e.subject == "path:POST /api/v1/activities"
                && e.actor == format!("api_client:{}", reader.id)
        })
        .count();
    assert_eq!(refused, 1);

    // Bad requests: no token, junk JSON, too many items, too large a body.
    // Forged tokens get 401 at the door (each kind of forgery is covered in the domain suite).
    let b64 = |v: Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({ "alg": "none", "typ": "at+jwt", "kid": "k" })),
        b64(
            json!({ "iss": "payquest", "aud": "payquest-api", "sub": writer.id, "exp": 4_000_000_000u64, "ver": 1 })
        )
    );
    for forged in [none.as_str(), "not-a-token", &tok[..tok.len() - 4]] {
        assert_eq!(
            post(activity(quest_id, 8), forged.to_owned())
                .await
                .status(),
            401,
            "{forged}"
        );
    }

    let anonymous = http
        .post(format!("{base}/api/v1/activities"))
        .json(&activity(quest_id, 6))
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers()["www-authenticate"]
        .to_str()
        .expect("header")
        .starts_with("Bearer"));
    let junk = http
        .post(format!("{base}/api/v1/activities"))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body("{\"activities\": [1, 2")
        .send()
        .await
        .expect("post");
    assert_eq!(junk.status(), 422);
    assert_eq!(
        junk.json::<Value>().await.expect("json")["code"],
        "invalid_input"
    );
    let many: Vec<Value> = (0..1_001).map(|n| activity(quest_id, n)).collect();
    assert_eq!(
        post(json!({ "activities": many }), tok.clone())
            .await
            .status(),
        422
    );
    let auth = format!("Bearer {tok}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let (status, body) =
        post_head_only(&base, "/api/v1/activities", &headers, 9 * 1024 * 1024).await;
    assert_eq!(status, 413);
    assert!(body.contains("payload_too_large"), "{body}");

    // Rotating the secret from the CLI kills the running server's tokens at once.
    let out = command(&db.url)
        .args(["api-client", "rotate-secret", "--client-id", &writer.id])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(post(activity(quest_id, 7), tok.clone()).await.status(), 401);
    let count = store.count_activities().await.expect("count");
    assert_eq!(count, 4, "1, 2, 4 and 5");
}
on_both_backends!(
    machine_api_on,
    crate::machine_api::clients_get_tokens_and_report_activities
);

async fn a_retry_storm_over_http_creates_each_activity_once(db: &TestDb) {
    let store = db.store().await;
    let quest_id = testing::active_quest(&store, "storm", ValidatorConfig::Manual).await;
    let game = create_client(db, "activities:write");
    let server = spawn(&db.url, &[]);
    let http = client();
    let tok = token(&http, &server.url, &game).await;
    let body = Arc::new(
        json!({ "activities": (0..1_000).map(|n| activity(quest_id, n)).collect::<Vec<_>>() }),
    );
    let storm: Vec<_> = (0..10)
        .map(|_| {
            let http = http.clone();
            let url = format!("{}/api/v1/activities", server.url);
            let tok = tok.clone();
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .bearer_auth(tok)
                    .json(&*body)
                    .send()
                    .await
                    .expect("post");
                assert_eq!(res.status(), 200);
                res.json::<Value>().await.expect("json")
            })
        })
        .collect();
    let mut created = 0;
    for t in storm {
        let v = t.await.expect("join");
        assert_eq!(v["rejected"], 0);
        assert_eq!(v["conflicts"], 0);
        created += v["created"].as_i64().expect("created");
    }
    assert_eq!(created, 1_000);
    assert_eq!(store.count_activities().await.expect("count"), 1_000);

    let mut changed = activity(quest_id, 17);
    changed["game_account_id"] = json!("somebody-else");
    let res = http
        .post(format!("{}/api/v1/activities", server.url))
        .bearer_auth(&tok)
        .json(&changed)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 409, "a changed payload under a used key");
}
on_both_backends!(
    storm_on,
    crate::machine_api::a_retry_storm_over_http_creates_each_activity_once
);

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let db = TestDb::sqlite();
    let server = spawn(&db.url, &[]);
    let http = client();
    let doc: Value = http
        .get(format!("{}/api/v1/openapi.json", server.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    for path in [
        "/api/v1/oauth/token",
        "/api/v1/activities",
        "/api/v1/activities/{activity_id}",
        "/api/v1/.well-known/jwks.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"].get("ActivityIn").is_some());
    let docs = http
        .get(format!("{}/api/v1/docs", server.url))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(docs.contains("POST /api/v1/activities"));
    let missing = http
        .get(format!("{}/api/v1/nope", server.url))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.expect("json")["code"],
        "not_found"
    );
}

/// The server settings that let validators call the fake game API with its key.
pub(crate) const GAME_API_ENV: &[(&str, &str)] = &[
    ("PAYQUEST_VALIDATOR_SECRETS", "GAME_KEY=Bearer game-key"),
    ("PAYQUEST_VALIDATOR_ALLOW_PRIVATE_HOSTS", "127.0.0.1"),
    ("PAYQUEST_VALIDATOR_SECRET_HOSTS", "GAME_KEY=127.0.0.1"),
];

/// A quest validated by the fake game API at `game`: 5 matches or more.
pub(crate) fn game_api_validator(game: &str) -> ValidatorConfig {
    serde_json::from_value(json!({
        "kind": "game_api", "method": "GET", "url": format!("{game}/players/{{game_account_id}}"),
        "headers": { "authorization": "secret:GAME_KEY" },
        "condition": { "pointer": "/stats/matches_played", "op": ">=", "value": 5 }
    }))
    .expect("validator config")
}

/// A fake game API on 127.0.0.1: `/players/{id}` says 7 matches played.
pub(crate) async fn fake_game_api() -> String {
    fake_game_api_answering_after(std::time::Duration::ZERO).await
}

/// The same API, answering each call after `delay`.
async fn fake_game_api_answering_after(delay: std::time::Duration) -> String {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/players/{id}",
        get(move |headers: axum::http::HeaderMap| async move {
            tokio::time::sleep(delay).await;
            if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer game-key")
            {
                axum::Json(json!({ "stats": { "matches_played": 7 } })).into_response()
            } else {
                axum::http::StatusCode::UNAUTHORIZED.into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

async fn reported_activities_are_validated_by_the_server_workers(db: &TestDb) {
    let game = fake_game_api().await;
    let store = db.store().await;
    let validator = game_api_validator(&game);
    let quest_id = testing::active_quest(&store, "live", validator).await;
    let writer = create_client(db, "activities:write");
    let server = spawn(&db.url, GAME_API_ENV);
    let http = client();
    let tok = token(&http, &server.url, &writer).await;
    let res = http
        .post(format!("{}/api/v1/activities", server.url))
        .bearer_auth(&tok)
        .json(&activity(quest_id, 1))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["activity_id"]
        .as_i64()
        .expect("id");
    let started = std::time::Instant::now();
    loop {
        let v: Value = http
            .get(format!("{}/api/v1/activities/{id}", server.url))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if v["status"] == "validated" {
            assert!(v["rewarded_at"].is_string());
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "still {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.count_payout_items(quest_id).await.expect("count"), 1);
}
on_both_backends!(
    live_validation_on,
    crate::machine_api::reported_activities_are_validated_by_the_server_workers
);

async fn count_in(db: &TestDb, status: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM activity WHERE status = '{status}'");
    if db.is_postgres() {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
        sqlx::query_scalar(&sql)
            .fetch_one(&pool)
            .await
            .expect("count")
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
        sqlx::query_scalar(&sql)
            .fetch_one(&pool)
            .await
            .expect("count")
    }
}

/// SIGTERM while the validation workers wait on a slow game API: the
/// replica stops claiming, finishes the checks in hand, exits 0, and leaves
/// no activity claimed (nothing waits for a lease to expire).
async fn sigterm_leaves_no_validation_claimed(db: &TestDb) {
    let game = fake_game_api_answering_after(std::time::Duration::from_millis(1_500)).await;
    let store = db.store().await;
    let validator = game_api_validator(&game);
    let quest_id = testing::active_quest(&store, "slow", validator).await;
    let writer = create_client(db, "activities:write");
    let mut server = spawn(&db.url, GAME_API_ENV);
    let http = client();
    let tok = token(&http, &server.url, &writer).await;
    let batch: Vec<Value> = (0..5).map(|n| activity(quest_id, n)).collect();
    let res = http
        .post(format!("{}/api/v1/activities", server.url))
        .bearer_auth(&tok)
        .json(&json!({ "activities": batch }))
        .send()
        .await
        .expect("post");
    assert!(res.status().is_success(), "{}", res.status());
    // Wait until the workers hold the activities, then ask the replica to stop.
    let started = std::time::Instant::now();
    while count_in(db, "validating").await == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "never claimed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let signalled = std::time::Instant::now();
    let status = server.terminate();
    assert!(
        status.success(),
        "a SIGTERM ends the replica with 0: {status}"
    );
    assert!(signalled.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        count_in(db, "validating").await,
        0,
        "no activity is left claimed"
    );
    assert_eq!(count_in(db, "validated").await, 5);
}
on_both_backends!(
    sigterm_validation_on,
    crate::machine_api::sigterm_leaves_no_validation_claimed
);

async fn a_budget_crossing_its_threshold_posts_one_signed_webhook(db: &TestDb) {
    use hmac::{Hmac, Mac};
    use payquest_domain::budgets::Budgets;
    use payquest_domain::types::{Amount, Role};
    let store = db.store().await;
    let quest_id = testing::active_quest(&store, "alert", ValidatorConfig::Manual).await;
    let campaign = store
        .list_campaigns(None, CampaignId::default(), 10)
        .await
        .expect("list")
        .pop()
        .expect("campaign");
    let finance = testing::staff(&store, "fin-alert@example.com", Role::Finance).await;
    Budgets::new(store.clone())
        .fund(
            &finance,
            campaign.budget.cost_centre_id,
            Amount::from_minor(1_100_000),
            "alert-fund",
        )
        .await
        .expect("fund");
    // A reward of 1 token against 1.1 funded: 90 %, over the 80 % threshold.
    testing::earn_reward(&store, quest_id, 1).await;

    let received: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = Arc::clone(&sink);
            async move {
                let sig = headers
                    .get("x-payquest-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                sink.lock().expect("lock").push((sig, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let _server = spawn(
        &db.url,
        &[
            ("PAYQUEST_ALERT_WEBHOOK_URL", hook.as_str()),
            ("PAYQUEST_ALERT_WEBHOOK_SECRET", "hook-secret"),
            ("PAYQUEST_ALERT_INTERVAL_MS", "100"),
        ],
    );
    let started = std::time::Instant::now();
    while received.lock().expect("lock").is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no webhook arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let calls = received.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1, "one notification per crossing");
    let (signature, body) = &calls[0];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret").expect("key");
    mac.update(body.as_bytes());
    assert_eq!(
        signature,
        &format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let v: Value = serde_json::from_str(body).expect("json");
    assert_eq!(v["event"], "budget.threshold_crossed");
    assert_eq!(v["campaign_id"], campaign.campaign_id.get());
    assert_eq!(v["committed_minor"], 1_000_000);
}
on_both_backends!(
    alert_on,
    crate::machine_api::a_budget_crossing_its_threshold_posts_one_signed_webhook
);

/// The confirmed attack: 300 wrong client secrets on the token endpoint all
/// got 401, none 429. Now the client's slot is taken before the secret is
/// checked: after a few guesses the answer is 429 with Retry-After, and the
/// right secret works again once the wait is over (a success forgets).
#[tokio::test]
async fn rate_limits_refuse_guessed_client_secrets() {
    let db = TestDb::sqlite();
    let writer = create_client(&db, "activities:write");
    let server = spawn(&db.url, &[]);
    let http = client();
    let url = format!("{}/api/v1/oauth/token", server.url);
    let guesses = (0..300).map(|n| {
        let http = http.clone();
        let url = url.clone();
        let id = writer.id.clone();
        async move {
            http.post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.as_str()),
                    ("client_secret", format!("pqs_guess{n}").as_str()),
                ])
                .send()
                .await
                .expect("token")
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let refused = answers.iter().filter(|r| r.status() == 401).count();
    let slowed: Vec<_> = answers.iter().filter(|r| r.status() == 429).collect();
    assert!(refused <= 6, "{refused} guesses were checked");
    assert_eq!(refused + slowed.len(), 300);
    let retry: u64 = slowed[0].headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
}

/// Client errors are 4xx that say what is wrong: a malformed batch names the
/// batch's problem (it named the `activities` key as an unknown field), an
/// unparseable path id is JSON 400, evidence must be an object, and an
/// integral float is the integer it says.
#[tokio::test]
async fn client_errors_in_the_machine_api_are_4xx_and_named() {
    let db = TestDb::sqlite();
    let writer = create_client(&db, "activities:write activities:read");
    let server = spawn(&db.url, &[]);
    let http = client();
    let tok = token(&http, &server.url, &writer).await;
    let post = |body: Value| {
        http.post(format!("{}/api/v1/activities", server.url))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };
    let bad = post(json!({"activities": [{"external_id": "a", "quest_id": "seven"}]}))
        .await
        .expect("post");
    assert_eq!(bad.status(), 422);
    let message = bad.json::<Value>().await.expect("json")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!message.contains("unknown field `activities`"), "{message}");
    let array_evidence = post(json!({"activities": [{
        "external_id": "a", "quest_id": 1, "wallet": "0x1", "occurred_at": "2026-11-01T10:00:00Z",
        "evidence": [1, 2]
    }]}))
    .await
    .expect("post");
    assert_eq!(array_evidence.status(), 422);
    let float_id = post(json!({"activities": [{
        "external_id": "a", "quest_id": 1.0, "wallet": "0x1", "occurred_at": "2026-11-01T10:00:00Z"
    }]}))
    .await
    .expect("post");
    assert_eq!(
        float_id.status(),
        200,
        "1.0 is the integer 1; the item itself is judged on its own"
    );
    let path = http
        .get(format!("{}/api/v1/activities/not-a-number", server.url))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("get");
    assert_eq!(path.status(), 400);
    assert_eq!(
        path.json::<Value>().await.expect("json")["code"],
        "invalid_input"
    );
}

/// Rate limits: the activity API per client and server functions per IP
/// answer 429 with Retry-After once their window is used up.
#[tokio::test]
async fn rate_limits_cap_the_activity_api_and_server_functions() {
    let db = TestDb::sqlite();
    let writer = create_client(&db, "activities:write");
    let server = spawn(
        &db.url,
        &[
            ("PAYQUEST_RATE_ACTIVITY_REQUESTS_PER_MINUTE", "2"),
            ("PAYQUEST_RATE_SERVER_FN_PER_MINUTE", "5"),
        ],
    );
    let http = client();
    let tok = token(&http, &server.url, &writer).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let res = http
            .post(format!("{}/api/v1/activities", server.url))
            .bearer_auth(&tok)
            .json(&json!({"activities": []}))
            .send()
            .await
            .expect("post");
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            assert_eq!(
                res.json::<Value>().await.expect("json")["code"],
                "throttled"
            );
        }
    }
    assert_eq!(statuses, vec![422, 422, 429]);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = http
            .post(format!("{}/api/list_users", server.url))
            .form(&[("x", "")])
            .send()
            .await
            .expect("post");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
}
