//! Validation against fake game and social APIs on 127.0.0.1: every provider
//! behaviour ends in the right state, evidence is masked, caps hold under
//! concurrent workers, signed pushes and manual review work.

use payquest_types::CampaignId;
use payquest_types::{ActivityId, QuestId};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hmac::{Hmac, Mac};
use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::api_clients::{ApiClients, ClientAdmin, MachinePrincipal, Scope};
use payquest_domain::on_both_backends;
use payquest_domain::quests::{CompareOp, Condition, ValidatorConfig};
use payquest_domain::review::Reviews;
use payquest_domain::store::DynStore;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::Role;
use payquest_domain::validation::outbound::OutboundPolicy;
use payquest_domain::validation::{
    signed_push_message, Validation, ValidationPolicy, ValidatorSecrets,
};
use payquest_domain::DomainError;
use serde_json::json;
use sha2::Sha256;

#[derive(Clone, Default)]
struct Fake {
    limited_once: Arc<Mutex<HashSet<String>>>,
}

async fn player(State(fake): State<Fake>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer test-key") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let good = || axum::Json(json!({ "stats": { "matches_played": 7 } })).into_response();
    match id.split('-').next().unwrap_or("") {
        "good" => good(),
        "low" => axum::Json(json!({ "stats": { "matches_played": 3 } })).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            good()
        }
        "limited" => {
            if fake.limited_once.lock().expect("lock").insert(id.clone()) {
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
            } else {
                good()
            }
        }
        "broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "garbage" => (StatusCode::OK, "<html>not json").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn member(Path((_guild, user)): Path<(String, String)>, headers: HeaderMap) -> StatusCode {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Bot discord-token") if user == "member" => StatusCode::OK,
        Some("Bot discord-token") => StatusCode::NOT_FOUND,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn subscriptions(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if q.get("key").map(String::as_str) != Some("yt-key") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let total = usize::from(q.get("channelId").map(String::as_str) == Some("subscriber"));
    axum::Json(json!({ "pageInfo": { "totalResults": total } })).into_response()
}

/// Starts the fake providers on a free port of 127.0.0.1; returns the base URL.
async fn fake_providers() -> String {
    let app = Router::new()
        .route("/players/{id}", get(player))
        .route("/guilds/{guild}/members/{user}", get(member))
        .route("/subscriptions", get(subscriptions))
        .with_state(Fake::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

/// The fake providers live on 127.0.0.1: the operator allows that host and
/// ties the game key to it; Discord's base URL is configuration.
fn policy_for(base: &str) -> ValidationPolicy {
    ValidationPolicy {
        max_attempts: 3,
        backoff_base_ms: 1,
        backoff_cap_ms: 5,
        request_timeout_ms: 300,
        outbound: OutboundPolicy::parse("127.0.0.1", "GAME_KEY=127.0.0.1", Some(base), Some(base))
            .expect("outbound"),
        ..ValidationPolicy::default()
    }
}

fn policy() -> ValidationPolicy {
    policy_for("http://127.0.0.1:9")
}

fn secrets() -> ValidatorSecrets {
    ValidatorSecrets::parse(
        "GAME_KEY=Bearer test-key,DISCORD_BOT_TOKEN=discord-token,PUSH=push-secret",
    )
    .expect("secrets")
}

fn game_api(base: &str) -> ValidatorConfig {
    ValidatorConfig::GameApi {
        method: "GET".into(),
        url: format!("{base}/players/{{game_account_id}}"),
        headers: BTreeMap::from([("authorization".to_owned(), "secret:GAME_KEY".to_owned())]),
        condition: Condition {
            pointer: "/stats/matches_played".into(),
            op: CompareOp::Ge,
            value: json!(5),
        },
    }
}

/// A live quest validated by a signed push under the `PUSH` key.
async fn push_quest(store: &DynStore, name: &str) -> QuestId {
    testing::active_quest(
        store,
        name,
        ValidatorConfig::SignedPush {
            key_name: "PUSH".into(),
        },
    )
    .await
}

async fn principal(store: &DynStore) -> MachinePrincipal {
    let creds = ApiClients::new(store.clone())
        .create(ClientAdmin::Cli, "Game", "activities:write")
        .await
        .expect("client");
    let c = store
        .api_client(&creds.client_id)
        .await
        .expect("read")
        .expect("exists");
    MachinePrincipal {
        api_client_id: c.api_client_id,
        client_id: c.client_id,
        scopes: BTreeSet::from([Scope::ActivitiesWrite]),
    }
}

fn item(quest_id: QuestId, external_id: &str, wallet_n: u64, account: Option<&str>) -> ActivityIn {
    ActivityIn {
        external_id: external_id.into(),
        quest_id,
        wallet: format!("0x{wallet_n:040x}"),
        game_account_id: account.map(str::to_owned),
        social_handle: account.map(str::to_owned),
        occurred_at: "2026-11-01T10:00:00Z".into(),
        evidence: None,
        signature: None,
    }
}

/// Ingests, then runs validation rounds until nothing is left in flight.
async fn report_and_validate(
    store: &DynStore,
    items: &[ActivityIn],
    validation: &Validation,
) -> Vec<ActivityId> {
    let who = principal(store).await;
    let out = Activities::new(store.clone())
        .ingest(&who, items)
        .await
        .expect("ingest");
    let ids: Vec<ActivityId> = out.iter().map(|o| o.activity_id.expect("stored")).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        validation.run_once().await.expect("round");
        let mut in_flight = false;
        for id in &ids {
            let s = store
                .activity(*id)
                .await
                .expect("read")
                .expect("exists")
                .status;
            in_flight |= s == "received" || s == "validating";
        }
        if !in_flight {
            return ids;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "validation did not settle"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status_of(store: &DynStore, id: ActivityId) -> (String, Option<String>) {
    let a = store.activity(id).await.expect("read").expect("exists");
    (a.status.as_str().to_owned(), a.reason)
}

async fn each_provider_behaviour_ends_in_the_right_state(db: &TestDb) {
    let store = db.store().await;
    let base = fake_providers().await;
    let quest = testing::active_quest(&store, "game", game_api(&base)).await;
    let discord = testing::active_quest(
        &store,
        "discord",
        ValidatorConfig::DiscordMember {
            guild_id: "guild-1".into(),
            base_url: None,
        },
    )
    .await;
    let validation =
        Validation::new(store.clone(), policy_for(&base), secrets()).expect("validation");
    let cases = [
        "good-1",
        "low-1",
        "slow-1",
        "limited-1",
        "broken-1",
        "garbage-1",
        "gone-1",
    ];
    let mut items: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(n, c)| item(quest, c, n as u64 + 1, Some(c)))
        .collect();
    items.push(item(discord, "joined", 20, Some("member")));
    items.push(item(discord, "stranger", 21, Some("stranger")));
    let ids = report_and_validate(&store, &items, &validation).await;

    let expect = [
        "validated",
        "rejected",
        "needs_review",
        "validated",
        "needs_review",
        "needs_review",
        "rejected",
        "validated",
        "rejected",
    ];
    for (i, want) in expect.iter().enumerate() {
        let (status, reason) = status_of(&store, ids[i]).await;
        assert_eq!(&status, want, "{}: {reason:?}", items[i].external_id);
    }
    assert!(status_of(&store, ids[1])
        .await
        .1
        .unwrap_or_default()
        .contains("/stats/matches_played did not meet the quest's condition (>= 5)"));
    assert!(status_of(&store, ids[4])
        .await
        .1
        .unwrap_or_default()
        .contains("kept failing (3 attempts)"));
    let limited = store.activity(ids[3]).await.expect("read").expect("exists");
    assert!(limited.attempts == 2, "one 429, then a pass");
    assert!(
        limited.validated_at_ms.expect("validated") - limited.received_at_ms >= 1_000,
        "Retry-After: 1 was honoured"
    );
    assert_eq!(store.count_payout_items(quest).await.expect("count"), 2);
    assert_eq!(store.count_payout_items(discord).await.expect("count"), 1);

    // The review queue shows masked evidence: no key, no account id.
    let community = testing::staff(&store, "cat@example.com", Role::Community).await;
    let queue = Reviews::new(store.clone())
        .queue(&community, ActivityId::default(), 50)
        .await
        .expect("queue");
    assert_eq!(queue.len(), 3);
    for entry in &queue {
        let evidence = entry.last_attempt_evidence_json.clone().unwrap_or_default();
        assert!(evidence.contains("/players/***"), "{evidence}");
        assert!(
            !evidence.contains("test-key") && !evidence.contains(&entry.external_id),
            "{evidence}"
        );
    }
}
on_both_backends!(
    providers_on,
    crate::validation::each_provider_behaviour_ends_in_the_right_state
);

async fn caps_hold_with_two_workers_racing(db: &TestDb) {
    let store = db.store().await;
    let base = fake_providers().await;
    let quest = testing::active_quest(&store, "cap", game_api(&base)).await;
    // A quest-wide cap of 5 and one completion per gamer.
    let cap_sql =
        format!("UPDATE quest SET max_completions = 5, max_per_gamer = 1 WHERE quest_id = {quest}");
    exec(db, &cap_sql).await;

    let mut items: Vec<_> = (0..20)
        .map(|n| item(quest, &format!("m{n}"), n + 1, Some(&format!("good-{n}"))))
        .collect();
    // The same gamer twice: the second completion is over the per-gamer cap.
    items.push(item(quest, "again", 1, Some("good-again")));
    let who = principal(&store).await;
    Activities::new(store.clone())
        .ingest(&who, &items)
        .await
        .expect("ingest");
    let one = Arc::new(Validation::new(store.clone(), policy(), secrets()).expect("v"));
    let two = Arc::new(Validation::new(store.clone(), policy(), secrets()).expect("v"));
    for _ in 0..20 {
        let (a, b) = tokio::join!(one.run_once(), two.run_once());
        if a.expect("round") + b.expect("round") == 0 {
            break;
        }
    }
    assert_eq!(
        store.count_payout_items(quest).await.expect("count"),
        5,
        "never more than the cap"
    );
}
on_both_backends!(
    caps_on,
    crate::validation::caps_hold_with_two_workers_racing
);

async fn signed_pushes_and_manual_review(db: &TestDb) {
    let store = db.store().await;
    let pushed = push_quest(&store, "push").await;
    let manual = testing::active_quest(&store, "manual", ValidatorConfig::Manual).await;
    let validation = Validation::new(store.clone(), policy(), secrets()).expect("validation");

    let sign = |a: &ActivityIn, key: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("key");
        let wallet = a.wallet.to_lowercase();
        // 2026-11-01T10:00:00Z in Unix milliseconds.
        mac.update(
            signed_push_message(&a.external_id, a.quest_id, &wallet, 1_793_527_200_000).as_bytes(),
        );
        hex::encode(mac.finalize().into_bytes())
    };
    let mut honest = item(pushed, "signed-ok", 1, None);
    honest.signature = Some(sign(&honest, "push-secret"));
    let mut forged = item(pushed, "signed-bad", 2, None);
    forged.signature = Some(sign(&forged, "wrong-secret"));
    let by_hand = item(manual, "hand-1", 3, None);
    let by_hand_2 = item(manual, "hand-2", 4, None);
    let ids = report_and_validate(&store, &[honest, forged, by_hand, by_hand_2], &validation).await;
    assert_eq!(status_of(&store, ids[0]).await.0, "validated");
    assert_eq!(status_of(&store, ids[1]).await.0, "rejected");
    assert_eq!(status_of(&store, ids[2]).await.0, "needs_review");

    let reviews = Reviews::new(store.clone());
    let maker = testing::staff(&store, "mia@example.com", Role::Maker).await;
    assert!(matches!(
        reviews.queue(&maker, ActivityId::default(), 10).await,
        Err(DomainError::Forbidden)
    ));
    let community = testing::staff(&store, "cat@example.com", Role::Community).await;
    assert!(matches!(
        reviews.decide(&community, &[ids[2]], true, "").await,
        Err(DomainError::InvalidInput(_))
    ));
    let approved = reviews
        .decide(&community, &[ids[2]], true, "screenshot checks out")
        .await
        .expect("approve");
    assert_eq!(approved[0].status.as_deref(), Some("validated"));
    let rejected = reviews
        .decide(&community, &[ids[3], ids[2]], false, "no proof")
        .await
        .expect("reject");
    assert_eq!(rejected[0].status.as_deref(), Some("rejected"));
    assert_eq!(
        rejected[1].status, None,
        "a decided activity is not decided twice"
    );
    assert_eq!(store.count_payout_items(manual).await.expect("count"), 1);
    assert_eq!(store.count_payout_items(pushed).await.expect("count"), 1);
}
on_both_backends!(
    push_and_review_on,
    crate::validation::signed_pushes_and_manual_review
);

async fn owners_see_burn_down_turnaround_and_alerts(db: &TestDb) {
    use payquest_domain::budgets::Budgets;
    use payquest_domain::insights::Insights;
    use payquest_domain::types::Amount;
    let store = db.store().await;
    let quest = testing::active_quest(&store, "insight", ValidatorConfig::Manual).await;
    let campaign = store
        .list_campaigns(None, CampaignId::default(), 10)
        .await
        .expect("list")
        .pop()
        .expect("campaign");
    let finance = testing::staff(&store, "fin2@example.com", Role::Finance).await;
    let budgets = Budgets::new(store.clone());
    let cc = campaign.budget.cost_centre_id;
    budgets
        .fund(&finance, cc, Amount::from_minor(1_000_000), "first")
        .await
        .expect("fund");
    budgets
        .fund(&finance, cc, Amount::from_minor(200_000), "second")
        .await
        .expect("fund");

    let validation = Validation::new(store.clone(), policy(), secrets()).expect("validation");
    let ids = report_and_validate(&store, &[item(quest, "a-1", 1, None)], &validation).await;
    let owner = payquest_domain::session::Actor {
        user_id: campaign.owner_user_id,
        email: campaign.owner_email.clone(),
        roles: BTreeSet::from([Role::CampaignOwner]),
        ip: None,
        via: None,
    };
    let (_, before) = Insights::new(store.clone())
        .campaign(&owner, campaign.campaign_id)
        .await
        .expect("insight");
    assert_eq!(
        (before.alert, before.runs_out_at_ms),
        (None, None),
        "nothing committed yet"
    );
    let community = testing::staff(&store, "cat@example.com", Role::Community).await;
    Reviews::new(store.clone())
        .decide(&community, &ids, true, "looks right")
        .await
        .expect("approve");

    let (seen, insight) = Insights::new(store.clone())
        .campaign(&owner, campaign.campaign_id)
        .await
        .expect("insight");
    assert_eq!(seen.budget.funded, Amount::from_minor(1_200_000));
    let funded: Vec<i64> = insight.burn_down.iter().map(|p| p.funded_minor).collect();
    assert_eq!(
        funded,
        vec![1_000_000, 1_200_000, 1_200_000],
        "one point per deposit, then now"
    );
    assert_eq!(insight.unpaid_rewards_minor, 1_000_000);
    assert_eq!(insight.pace_minor_per_day, 1_000_000 * 24 / (7 * 24));
    assert!(insight.runs_out_at_ms.is_some());
    assert!(
        insight.alert.as_deref().unwrap_or_default().contains("83%"),
        "{:?}",
        insight.alert
    );
    let rewarded = insight
        .stages
        .iter()
        .find(|s| s.stage == "activity to reward")
        .expect("stage");
    assert_eq!(rewarded.count, 1);
    assert_eq!(insight.earned.last().map(|e| e.1), Some(1_000_000));
    assert_eq!(
        insight
            .burn_down
            .last()
            .map(|p| (p.reserved_minor, p.spent_minor)),
        Some((0, 0))
    );

    // Paid, the reward still counts for the pace (and no longer as unpaid).
    db.execute("UPDATE payout_item SET state = 'reconciled'")
        .await;
    let (_, paid) = Insights::new(store.clone())
        .campaign(&owner, campaign.campaign_id)
        .await
        .expect("insight");
    assert_eq!(paid.unpaid_rewards_minor, 0);
    assert_eq!(paid.pace_minor_per_day, insight.pace_minor_per_day);
    assert!(
        paid.runs_out_at_ms.is_some(),
        "a paid reward still sets the pace"
    );

    let stranger = testing::staff(&store, "other-owner@example.com", Role::CampaignOwner).await;
    assert!(matches!(
        Insights::new(store.clone())
            .campaign(&stranger, campaign.campaign_id)
            .await,
        Err(DomainError::NotFound(_))
    ));
}
on_both_backends!(
    insights_on,
    crate::validation::owners_see_burn_down_turnaround_and_alerts
);

/// Runs one statement on either backend (for what no store method writes).
async fn exec(db: &TestDb, sql: &str) {
    use sqlx::Connection;
    match db.backend {
        payquest_domain::store::Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            sqlx::query(sql).execute(&mut c).await.expect("exec");
        }
        payquest_domain::store::Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query(sql).execute(&mut c).await.expect("exec");
        }
    }
}

/// Counts rows on either backend with a plain query (for what no store method reads).
async fn count_where(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match db.backend {
        payquest_domain::store::Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut c)
                .await
                .expect("count")
        }
        payquest_domain::store::Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut c)
                .await
                .expect("count")
        }
    }
}

const LEAKED: &str = "AKIA-METADATA-SECRET";

/// A loopback service standing in for cloud metadata: answers every path with
/// a secret and remembers which headers it was sent.
async fn metadata_service() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().fallback(move |headers: HeaderMap| {
        let log = log.clone();
        async move {
            let mut all: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
                .collect();
            log.lock().expect("lock").append(&mut all);
            log.lock().expect("lock").push("request".into());
            axum::Json(json!({ "SecretAccessKey": LEAKED }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}"), seen)
}

fn aimed_at(base: &str, headers: &[(&str, &str)]) -> ValidatorConfig {
    ValidatorConfig::GameApi {
        method: "GET".into(),
        url: format!("{base}/latest/meta-data/iam/security-credentials/role"),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        condition: Condition {
            pointer: "/SecretAccessKey".into(),
            op: CompareOp::Eq,
            value: json!("x"),
        },
    }
}

/// The confirmed SSRF: a quest aimed at a loopback service read its secret
/// back in the rejection reason, a named secret went to the same host, and a
/// Discord quest sent the bot token to the quest author's host. Now: private
/// addresses need the operator's allowlist, secrets go only to their hosts,
/// provider base URLs are configuration, and no value read is echoed.
async fn ssrf_validators_reach_only_allowed_hosts_and_echo_nothing(db: &TestDb) {
    let store = db.store().await;
    let (meta, seen) = metadata_service().await;
    let (attacker, attacker_seen) = metadata_service().await;
    let providers = fake_providers().await;
    let plain = testing::active_quest(&store, "meta", aimed_at(&meta, &[])).await;
    let with_token = testing::active_quest(
        &store,
        "token",
        aimed_at(&meta, &[("x-token", "secret:DISCORD_BOT_TOKEN")]),
    )
    .await;
    // A Discord quest stored with its base URL aimed elsewhere (as before the
    // rule): the configured base URL is used, never the stored one.
    let discord = testing::active_quest(
        &store,
        "aimed-discord",
        ValidatorConfig::DiscordMember {
            guild_id: "guild-1".into(),
            base_url: None,
        },
    )
    .await;
    let aimed =
        json!({"kind": "discord_member", "guild_id": "guild-1", "base_url": attacker}).to_string();
    let rewrite = format!(
        "UPDATE quest SET validator_config_json = '{}' WHERE quest_id = {discord}",
        aimed.replace('\'', "''")
    );
    exec(db, &rewrite).await;

    // 1. With the default outbound rules nothing reaches the loopback service.
    let strict = ValidationPolicy {
        outbound: OutboundPolicy::parse("", "", Some(&providers), None).expect("outbound"),
        ..policy()
    };
    let validation = Validation::new(store.clone(), strict, secrets()).expect("validation");
    let ids = report_and_validate(
        &store,
        &[
            item(plain, "meta-1", 1, Some("a")),
            item(with_token, "meta-2", 2, Some("b")),
        ],
        &validation,
    )
    .await;
    for id in &ids {
        let (status, reason) = status_of(&store, *id).await;
        assert_eq!(status, "needs_review");
        assert!(reason
            .unwrap_or_default()
            .contains("private or local address"));
    }
    assert!(
        seen.lock().expect("lock").is_empty(),
        "no request reached it"
    );

    // 2. Allowed host, but the Discord token is not tied to it: not sent.
    let allowed = ValidationPolicy {
        outbound: OutboundPolicy::parse("127.0.0.1", "", Some(&providers), None).expect("outbound"),
        ..policy()
    };
    let validation = Validation::new(store.clone(), allowed, secrets()).expect("validation");
    let ids = report_and_validate(
        &store,
        &[
            item(plain, "meta-3", 3, Some("a")),
            item(with_token, "meta-4", 4, Some("b")),
            item(discord, "aimed", 5, Some("member")),
        ],
        &validation,
    )
    .await;
    let (status, reason) = status_of(&store, ids[0]).await;
    assert_eq!(status, "rejected");
    let reason = reason.unwrap_or_default();
    assert!(reason.contains("/SecretAccessKey did not meet"), "{reason}");
    let (status, reason) = status_of(&store, ids[1]).await;
    assert_eq!(status, "needs_review");
    assert!(reason.unwrap_or_default().contains("may not be sent"));
    assert!(
        !seen
            .lock()
            .expect("lock")
            .iter()
            .any(|h| h.contains("discord-token")),
        "the bot token never left"
    );
    assert_eq!(status_of(&store, ids[2]).await.0, "validated");
    assert!(
        attacker_seen.lock().expect("lock").is_empty(),
        "the stored base URL was ignored"
    );

    // Nothing the service answered is stored or shown anywhere.
    let leaked = count_where(
        db,
        &format!(
            "SELECT COUNT(*) FROM activity_attempt WHERE detail LIKE '%{LEAKED}%' \
             OR evidence_json LIKE '%{LEAKED}%'"
        ),
    )
    .await
        + count_where(
            db,
            &format!("SELECT COUNT(*) FROM activity WHERE reason LIKE '%{LEAKED}%'"),
        )
        .await;
    assert_eq!(leaked, 0);
}
on_both_backends!(
    ssrf_on,
    crate::validation::ssrf_validators_reach_only_allowed_hosts_and_echo_nothing
);

/// One external account earns once: caps counted per wallet, so one Discord
/// account reported with three wallets earned three times. Now the first
/// validated completion binds the account to its wallet for the quest.
async fn one_external_account_earns_once(db: &TestDb) {
    let store = db.store().await;
    let base = fake_providers().await;
    let discord = testing::active_quest(
        &store,
        "one-account",
        ValidatorConfig::DiscordMember {
            guild_id: "guild-1".into(),
            base_url: None,
        },
    )
    .await;
    let validation =
        Validation::new(store.clone(), policy_for(&base), secrets()).expect("validation");
    let ids = report_and_validate(
        &store,
        &[
            item(discord, "w1", 31, Some("member")),
            item(discord, "w2", 32, Some("member")),
            item(discord, "w3", 33, Some("member")),
        ],
        &validation,
    )
    .await;
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(status_of(&store, *id).await);
    }
    let validated = statuses.iter().filter(|(s, _)| s == "validated").count();
    assert_eq!(validated, 1, "{statuses:?}");
    for (status, reason) in statuses.iter().filter(|(s, _)| s != "validated") {
        assert_eq!(status, "rejected");
        assert!(reason
            .as_deref()
            .unwrap_or_default()
            .contains("already earned this quest with another wallet"));
    }
    assert_eq!(store.count_payout_items(discord).await.expect("count"), 1);
}
on_both_backends!(
    one_account_on,
    crate::validation::one_external_account_earns_once
);

/// Signs an activity as a game server with the `PUSH` key would.
fn signed(mut a: ActivityIn, key: &str) -> ActivityIn {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("key");
    // 2026-11-01T10:00:00Z in Unix milliseconds, as `item` reports.
    mac.update(
        signed_push_message(
            &a.external_id,
            a.quest_id,
            &a.wallet.to_lowercase(),
            1_793_527_200_000,
        )
        .as_bytes(),
    );
    a.signature = Some(hex::encode(mac.finalize().into_bytes()));
    a
}

/// The set-based path (many signed pushes in one transaction, each quest's
/// counter moved once) keeps every cap the per-activity path keeps, with two
/// workers racing over large claims: a quest cap of 7 with 2 per gamer,
/// a repeat period, an uncapped quest with a leaderboard, a forged
/// signature. Counters, tallies, audit records and the leaderboard all
/// agree with the payout items.
async fn batched_validation_keeps_every_cap(db: &TestDb) {
    let store = db.store().await;
    let capped = push_quest(&store, "b-cap").await;
    let periodic = push_quest(&store, "b-period").await;
    let open = push_quest(&store, "b-open").await;
    exec(
        db,
        &format!(
            "UPDATE quest SET max_completions = 7, max_per_gamer = 2 WHERE quest_id = {capped}"
        ),
    )
    .await;
    exec(
        db,
        &format!("UPDATE quest SET repeat_period_s = 3600 WHERE quest_id = {periodic}"),
    )
    .await;
    let campaign = store
        .quest(open)
        .await
        .expect("read")
        .expect("quest")
        .campaign_id;
    let board = store
        .define_leaderboard(
            &payquest_domain::store::LeaderboardDef {
                slug: "batch".into(),
                campaign_id: Some(campaign),
                ranked_by: "points".into(),
                starts_at_ms: 0,
                ends_at_ms: None,
            },
            payquest_domain::clock::now_ms(),
        )
        .await
        .expect("define");

    let mut items = Vec::new();
    // Gamers 1 and 2 three times (over the per-gamer cap: one by one), 3 to
    // 10 once (a group each, counted together): 12 within the per-gamer
    // cap, 7 by the quest's, which a chunk's count would cross.
    for (gamer, times) in [
        (1u64, 3),
        (2, 3),
        (3, 1),
        (4, 1),
        (5, 1),
        (6, 1),
        (7, 1),
        (8, 1),
        (9, 1),
        (10, 1),
    ] {
        for t in 0..times {
            items.push(signed(
                item(capped, &format!("cap-{gamer}-{t}"), gamer, None),
                "push-secret",
            ));
        }
    }
    // Twice at the same moment under a one-hour repeat period: once.
    items.push(signed(item(periodic, "period-1a", 1, None), "push-secret"));
    items.push(signed(item(periodic, "period-1b", 1, None), "push-secret"));
    items.push(signed(item(periodic, "period-2", 2, None), "push-secret"));
    for n in 0..60u64 {
        items.push(signed(
            item(open, &format!("open-{n}"), n % 9 + 1, None),
            "push-secret",
        ));
    }
    items.push(signed(item(open, "forged", 3, None), "not-the-key"));
    let who = principal(&store).await;
    Activities::new(store.clone())
        .ingest(&who, &items)
        .await
        .expect("ingest");

    // Claims of 6 across two workers: each quest's counter is moved
    // by several racing transactions.
    let wide = ValidationPolicy {
        claim_batch: 6,
        ..policy()
    };
    let one = Arc::new(Validation::new(store.clone(), wide.clone(), secrets()).expect("v"));
    let two = Arc::new(Validation::new(store.clone(), wide, secrets()).expect("v"));
    for _ in 0..100 {
        let (a, b) = tokio::join!(one.run_once(), two.run_once());
        if a.expect("round") + b.expect("round") == 0 {
            break;
        }
    }

    let paid =
        |quest: QuestId| format!("SELECT COUNT(*) FROM payout_item WHERE quest_id = {quest}");
    assert_eq!(count_where(db, &paid(capped)).await, 7, "the quest's cap");
    assert_eq!(
        count_where(db, &paid(periodic)).await,
        2,
        "the repeat period"
    );
    assert_eq!(count_where(db, &paid(open)).await, 60, "everything honest");
    assert_eq!(
        count_where(
            db,
            &format!(
                "SELECT COUNT(*) FROM (SELECT gamer_id FROM payout_item WHERE quest_id = {capped} \
                 GROUP BY gamer_id HAVING COUNT(*) > 2) x"
            )
        )
        .await,
        0,
        "two per gamer"
    );
    for quest in [capped, periodic, open] {
        assert_eq!(
            count_where(
                db,
                &format!("SELECT completions FROM quest WHERE quest_id = {quest}")
            )
            .await,
            count_where(db, &paid(quest)).await,
            "the quest's counter is its payout items"
        );
    }
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM quest_gamer_tally t WHERE t.completions <> \
             (SELECT COUNT(*) FROM payout_item p WHERE p.quest_id = t.quest_id AND p.gamer_id = t.gamer_id)"
        )
        .await,
        0,
        "each gamer's tally is their payout items"
    );
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM activity WHERE status IN ('received', 'validating')"
        )
        .await,
        0,
        "every activity decided"
    );
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM activity WHERE status = 'validated'"
        )
        .await,
        69
    );
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM activity a WHERE (a.status = 'validated') <> \
             EXISTS (SELECT 1 FROM payout_item p WHERE p.activity_id = a.activity_id)"
        )
        .await,
        0,
        "validated exactly when paid"
    );
    assert_eq!(
        count_where(db, "SELECT COUNT(*) FROM activity_attempt").await,
        items.len() as i64,
        "one attempt each"
    );
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM audit_event WHERE action LIKE 'activity.%'"
        )
        .await,
        items.len() as i64,
        "one audit record each"
    );
    let lines = db
        .rows(&testing::plain_ranking(campaign, false, None))
        .await;
    assert_eq!(lines.len(), 9);
    let mut stored = Vec::new();
    for r in store.leaderboard_page(board, 0, 50).await.expect("page") {
        stored.push(vec![
            r.gamer_id.get(),
            r.points,
            r.tokens_minor,
            r.reached_at_ms,
        ]);
    }
    assert_eq!(stored, lines, "the leaderboard agrees with a plain ranking");
}
on_both_backends!(
    batched_caps_on,
    crate::validation::batched_validation_keeps_every_cap
);

/// A worker that claimed and died leaves its leases to expire: the next
/// worker leaves live leases alone, takes the expired ones (it looks for
/// them on its first round and every quarter lease after), validates them
/// once, and the dead worker's late write is refused for every activity.
async fn expired_leases_are_taken_once(db: &TestDb) {
    use payquest_domain::store::{AttemptRecord, CheckedActivity, Finished, Verdict};
    let store = db.store().await;
    let quest = push_quest(&store, "lease").await;
    let who = principal(&store).await;
    let items: Vec<ActivityIn> = (0..3)
        .map(|i| {
            signed(
                item(quest, &format!("lease-{i}"), 700 + i, None),
                "push-secret",
            )
        })
        .collect();
    let ids: Vec<ActivityId> = Activities::new(store.clone())
        .ingest(&who, &items)
        .await
        .expect("ingest")
        .iter()
        .map(|o| o.activity_id.expect("stored"))
        .collect();
    let lease_ms = 400;
    let now = payquest_domain::clock::now_ms();
    let dead = store
        .claim_activities(now, lease_ms, 10, true)
        .await
        .expect("claim");
    assert_eq!(dead.len(), 3, "the first worker claims all three");

    let policy = ValidationPolicy {
        lease_ms,
        ..policy()
    };
    let worker = Validation::new(store.clone(), policy, secrets()).expect("worker");
    assert_eq!(
        worker.run_once().await.expect("round"),
        0,
        "live leases are left alone"
    );
    for id in &ids {
        assert_eq!(status_of(&store, *id).await.0, "validating");
    }
    tokio::time::sleep(Duration::from_millis(lease_ms as u64 + 150)).await;
    assert_eq!(
        worker.run_once().await.expect("round"),
        3,
        "expired leases are taken"
    );
    for id in &ids {
        assert_eq!(status_of(&store, *id).await.0, "validated");
        let a = store.activity(*id).await.expect("read").expect("exists");
        assert_eq!(a.attempts, 1, "one attempt counted for activity {id}");
    }

    let late: Vec<CheckedActivity> = dead
        .into_iter()
        .map(|claim| CheckedActivity {
            claim,
            attempt: AttemptRecord {
                at_ms: payquest_domain::clock::now_ms(),
                duration_ms: 1,
                outcome: "passed",
                detail: "late".into(),
                evidence_json: None,
            },
            verdict: Verdict::Validated,
        })
        .collect();
    let finished = store.finish_attempts(&late).await.expect("late write");
    assert!(
        finished.iter().all(|f| *f == Finished::LostClaim),
        "{finished:?}"
    );
    assert_eq!(
        count_where(
            db,
            &format!("SELECT COUNT(*) FROM payout_item WHERE quest_id = {quest}")
        )
        .await,
        3,
        "one payout item per activity"
    );
    assert_eq!(
        count_where(
            db,
            "SELECT COUNT(*) FROM activity_attempt WHERE detail = 'late'"
        )
        .await,
        0
    );
}
on_both_backends!(
    expired_leases_on,
    crate::validation::expired_leases_are_taken_once
);
