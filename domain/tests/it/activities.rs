//! Reporting activities: idempotency per (client, external id), per-item
//! outcomes, limits, and a retry storm of concurrent identical batches.

use payquest_types::ApiClientId;
use payquest_types::QuestId;
use std::collections::BTreeSet;
use std::sync::Arc;

use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::api_clients::{ApiClients, ClientAdmin, MachinePrincipal, Scope};
use payquest_domain::clock::{format_ms, now_ms};
use payquest_domain::on_both_backends;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::store::DynStore;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::DomainError;

pub struct World {
    pub store: DynStore,
    pub quest_id: QuestId,
    pub principal: MachinePrincipal,
}

/// An active campaign with one manual quest, and a game server client.
pub async fn world(db: &TestDb) -> World {
    let store = db.store().await;
    let quest_id = testing::active_quest(&store, "w", ValidatorConfig::Manual).await;
    let creds = ApiClients::new(store.clone())
        .create(ClientAdmin::Cli, "Game", "activities:write activities:read")
        .await
        .expect("client");
    let client = store
        .api_client(&creds.client_id)
        .await
        .expect("read")
        .expect("exists");
    World {
        store,
        quest_id,
        principal: MachinePrincipal {
            api_client_id: client.api_client_id,
            client_id: client.client_id,
            scopes: BTreeSet::from([Scope::ActivitiesWrite, Scope::ActivitiesRead]),
        },
    }
}

/// One fixed time per test run, so the same activity built twice is the same payload.
fn an_hour_ago() -> String {
    static AT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AT.get_or_init(|| format_ms(now_ms() - 3_600_000)).clone()
}

pub fn activity(quest_id: QuestId, n: usize) -> ActivityIn {
    ActivityIn {
        external_id: format!("match-{n}"),
        quest_id,
        wallet: format!("0x{:040x}", n + 1),
        game_account_id: Some(format!("player-{n}")),
        social_handle: None,
        occurred_at: an_hour_ago(),
        evidence: Some(serde_json::json!({ "score": n })),
        signature: None,
    }
}

async fn the_same_key_gives_the_first_result_and_another_payload_409(db: &TestDb) {
    let w = world(db).await;
    let activities = Activities::new(w.store.clone());
    let first = activities
        .ingest(&w.principal, &[activity(w.quest_id, 1)])
        .await
        .expect("ingest");
    assert_eq!(first[0].http_status, 201);
    let id = first[0].activity_id.expect("id");
    let again = activities
        .ingest(&w.principal, &[activity(w.quest_id, 1)])
        .await
        .expect("ingest");
    assert_eq!(
        (again[0].http_status, again[0].activity_id),
        (200, Some(id))
    );

    let mut changed = activity(w.quest_id, 1);
    changed.evidence = Some(serde_json::json!({ "score": 999 }));
    let conflict = activities
        .ingest(&w.principal, &[changed])
        .await
        .expect("ingest");
    assert_eq!(conflict[0].http_status, 409);
    assert_eq!(
        conflict[0].error.as_ref().map(|e| e.code.as_str()),
        Some("conflict")
    );
    assert_eq!(w.store.count_activities().await.expect("count"), 1);

    let linked = w
        .store
        .linked_accounts("0x0000000000000000000000000000000000000002")
        .await
        .expect("links");
    assert_eq!(
        linked,
        vec![("game".to_owned(), "player-1".to_owned())],
        "the game account is linked to the wallet"
    );
    let view = activities.get(&w.principal, id).await.expect("status");
    assert_eq!(view.status, "received");
    assert_eq!(view.wallet, "0x0000000000000000000000000000000000000002");
    let stranger = MachinePrincipal {
        api_client_id: ApiClientId(w.principal.api_client_id.get() + 1),
        ..w.principal.clone()
    };
    assert!(
        matches!(
            activities.get(&stranger, id).await,
            Err(DomainError::NotFound(_))
        ),
        "clients see only their own"
    );
}
on_both_backends!(
    idempotency_on,
    crate::activities::the_same_key_gives_the_first_result_and_another_payload_409
);

async fn a_batch_answers_per_item_and_stores_only_valid_items(db: &TestDb) {
    let w = world(db).await;
    let activities = Activities::new(w.store.clone());
    let mut bad_wallet = activity(w.quest_id, 2);
    bad_wallet.wallet = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD".into(); // checksum typo
    let mut future = activity(w.quest_id, 3);
    future.occurred_at = format_ms(now_ms() + 3_600_000);
    let mut unknown_quest = activity(QuestId(w.quest_id.get() + 100), 4);
    unknown_quest.external_id = "q".into();
    let mut huge = activity(w.quest_id, 5);
    huge.evidence = Some(serde_json::json!({ "blob": "x".repeat(5_000) }));
    let mut changed_twin = activity(w.quest_id, 1);
    changed_twin.game_account_id = Some("someone-else".into());
    let batch = vec![
        activity(w.quest_id, 1),
        bad_wallet,
        future,
        unknown_quest,
        huge,
        activity(w.quest_id, 6),
        activity(w.quest_id, 1),
        changed_twin,
    ];
    let out = activities
        .ingest(&w.principal, &batch)
        .await
        .expect("ingest");
    let statuses: Vec<u16> = out.iter().map(|o| o.http_status).collect();
    assert_eq!(statuses, vec![201, 422, 422, 422, 422, 201, 200, 409]);
    assert_eq!(out[6].activity_id, out[0].activity_id);
    assert!(out[1]
        .error
        .as_ref()
        .is_some_and(|e| e.message.contains("checksum")));
    assert_eq!(
        w.store.count_activities().await.expect("count"),
        2,
        "only valid items are stored"
    );

    // Retrying the whole batch converges: nothing new, the same answers.
    let retry = activities
        .ingest(&w.principal, &batch)
        .await
        .expect("ingest");
    let statuses: Vec<u16> = retry.iter().map(|o| o.http_status).collect();
    assert_eq!(statuses, vec![200, 422, 422, 422, 422, 200, 200, 409]);
    assert_eq!(w.store.count_activities().await.expect("count"), 2);

    // A retired quest takes no new activities.
    let finance = testing::staff(
        &w.store,
        "retire@example.com",
        payquest_domain::types::Role::Finance,
    )
    .await;
    let campaigns = payquest_domain::campaigns::Campaigns::new(w.store.clone());
    campaigns
        .set_quest_active(&finance, w.quest_id, false)
        .await
        .expect("retire");
    let late = activities
        .ingest(&w.principal, &[activity(w.quest_id, 50)])
        .await
        .expect("ingest");
    assert_eq!(late[0].http_status, 422);
    campaigns
        .set_quest_active(&finance, w.quest_id, true)
        .await
        .expect("reopen");

    let too_many: Vec<_> = (0..1_001).map(|n| activity(w.quest_id, n)).collect();
    assert!(matches!(
        activities.ingest(&w.principal, &too_many).await,
        Err(DomainError::InvalidInput(_))
    ));
    assert!(matches!(
        activities.ingest(&w.principal, &[]).await,
        Err(DomainError::InvalidInput(_))
    ));
    let read_only = MachinePrincipal {
        scopes: BTreeSet::from([Scope::ActivitiesRead]),
        ..w.principal.clone()
    };
    assert!(matches!(
        activities
            .ingest(&read_only, &[activity(w.quest_id, 9)])
            .await,
        Err(DomainError::Forbidden)
    ));
}
on_both_backends!(
    batch_on,
    crate::activities::a_batch_answers_per_item_and_stores_only_valid_items
);

async fn a_retry_storm_creates_each_activity_once(db: &TestDb) {
    let w = world(db).await;
    let activities = Arc::new(Activities::new(w.store.clone()));
    let batch: Arc<Vec<ActivityIn>> =
        Arc::new((0..1_000).map(|n| activity(w.quest_id, n)).collect());
    let storm: Vec<_> = (0..10)
        .map(|_| {
            let activities = Arc::clone(&activities);
            let batch = Arc::clone(&batch);
            let principal = w.principal.clone();
            tokio::spawn(async move { activities.ingest(&principal, &batch).await })
        })
        .collect();
    let mut created = 0;
    let mut ids = Vec::new();
    for t in storm {
        let out = t.await.expect("join").expect("ingest");
        assert!(
            out.iter()
                .all(|o| o.http_status == 201 || o.http_status == 200),
            "every item accepted"
        );
        created += out.iter().filter(|o| o.http_status == 201).count();
        ids.push(out.iter().map(|o| o.activity_id).collect::<Vec<_>>());
    }
    assert_eq!(
        created, 1_000,
        "each activity is created by exactly one of the ten requests"
    );
    assert_eq!(w.store.count_activities().await.expect("count"), 1_000);
    assert!(
        ids.windows(2).all(|p| p[0] == p[1]),
        "every request sees the same ids"
    );
}
on_both_backends!(
    storm_on,
    crate::activities::a_retry_storm_creates_each_activity_once
);
