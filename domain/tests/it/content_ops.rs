//! What the CMS does without an editor at the keyboard: schedules that run
//! once however many workers look at them (and fail, with the reason, where
//! finance's rule refuses), the webhook outbox with signed, retried and
//! redelivered deliveries, the cache purged by every change (in process and
//! in Redis across replicas), and images kept by their bytes' hash on disk
//! and in an S3-compatible bucket.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payquest_domain::cache::{Cached, LocalCache, PublicCache, RedisCache};
use payquest_domain::clock::now_ms;
use payquest_domain::content::Content;
use payquest_domain::media::{open_store, Media};
use payquest_domain::on_both_backends;
use payquest_domain::secret::Secret;
use payquest_domain::store::NewContentSchedule;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{
    ContentState, ContentType, Role, ScheduleAction, ScheduleState, WebhookEventId, WebhookState,
};
use payquest_domain::webhooks::{self, Endpoint, Webhooks};
use payquest_domain::DomainError;

/// Every audited action so far, newest first.
async fn actions(store: &payquest_domain::store::DynStore) -> Vec<String> {
    store
        .list_audit(None, 1_000)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action.to_string())
        .collect()
}

fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A publish and an unpublish fall due and run; many due schedules claimed
/// by several workers at once (each with its own connection pool) run once
/// each; a cancelled one never runs; a late one shows as late.
async fn schedules_run_once(db: &TestDb) {
    let store = db.store().await;
    let content = Arc::new(Content::new(store.clone()));
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let maker = testing::staff(&store, "mak@example.com", Role::Maker).await;
    let (banner, _) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "Soon")]),
        )
        .await
        .expect("save");
    let soon = now_ms() + 60_000;
    assert!(matches!(
        content
            .schedule(&maker, banner, ScheduleAction::Publish, soon)
            .await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        content
            .schedule(&editor, banner, ScheduleAction::Publish, now_ms() - 1)
            .await,
        Err(DomainError::InvalidField {
            field: "due_at",
            ..
        })
    ));
    content
        .schedule(&editor, banner, ScheduleAction::Publish, soon)
        .await
        .expect("schedule");
    assert_eq!(
        content.run_due_schedules(now_ms()).await.expect("run"),
        0,
        "not due yet"
    );
    assert_eq!(content.run_due_schedules(soon + 1).await.expect("run"), 1);
    let shown = content
        .published(ContentType::Banner, "banner", "en")
        .await
        .expect("read")
        .expect("published by the schedule");
    assert_eq!(shown.fields["title"], "Soon");
    assert_eq!(
        content.run_due_schedules(soon + 2).await.expect("run"),
        0,
        "ran once"
    );

    let off = now_ms() + 120_000;
    let unpublish = content
        .schedule(&editor, banner, ScheduleAction::Unpublish, off)
        .await
        .expect("schedule");
    let cancelled = content
        .schedule(&editor, banner, ScheduleAction::Unpublish, off - 1)
        .await
        .expect("schedule");
    content
        .cancel_schedule(&editor, banner, cancelled)
        .await
        .expect("cancel");
    assert!(matches!(
        content.cancel_schedule(&editor, banner, cancelled).await,
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(content.run_due_schedules(off + 1).await.expect("run"), 1);
    assert!(content
        .published(ContentType::Banner, "banner", "en")
        .await
        .expect("read")
        .is_none());
    let views = content.schedules(&editor, banner).await.expect("list");
    let state_of = |id| views.iter().find(|s| s.schedule_id == id).map(|s| s.state);
    assert_eq!(state_of(unpublish), Some(ScheduleState::Done));
    assert_eq!(state_of(cancelled), Some(ScheduleState::Cancelled));

    // Many due at once, four workers with pools of their own: each runs once.
    let mut entries = Vec::new();
    for i in 0..12 {
        let (e, _) = content
            .save_draft(
                &editor,
                ContentType::KQuest,
                &format!("quest-{i}"),
                &inputs(&[("title.en", "Q"), ("campaign_id", "1")]),
            )
            .await
            .expect("save quest");
        content
            .schedule(&editor, e, ScheduleAction::Publish, soon)
            .await
            .expect("schedule");
        entries.push(e);
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let replica = Arc::new(Content::new(db.store().await));
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..5 {
                n += replica.run_due_schedules(soon + 10).await.expect("run");
            }
            n
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await.expect("worker");
    }
    assert_eq!(total, 12, "every schedule ran exactly once");
    for e in &entries {
        let (entry, _) = content.entry(&editor, *e).await.expect("entry");
        assert_eq!(entry.entry.state, ContentState::Published);
    }
    let publishes = actions(&store)
        .await
        .into_iter()
        .filter(|a| a == "content.published")
        .count();
    assert_eq!(publishes, 13, "one audit record per scheduled publish");

    // A schedule a minute overdue (its worker down) shows as late.
    let (late_entry, _) = content
        .save_draft(
            &editor,
            ContentType::Footer,
            "",
            &inputs(&[("text.en", "x")]),
        )
        .await
        .expect("footer");
    store
        .add_content_schedule(
            &NewContentSchedule {
                entry: late_entry,
                action: ScheduleAction::Unpublish,
                version: None,
                due_at_ms: now_ms() - 120_000,
                created_by: editor.user_id,
            },
            &payquest_domain::audit::AuditRecord::new(
                &editor.audit_actor(),
                "content.scheduled",
                "content_entry:late",
            ),
        )
        .await
        .expect("insert overdue");
    let views = content.schedules(&editor, late_entry).await.expect("list");
    assert!(views[0].late, "{views:?}");
    assert_eq!(
        store
            .late_content_schedules(now_ms(), 60_000)
            .await
            .expect("count"),
        1
    );
    content.run_due_schedules(now_ms()).await.expect("run");
    let views = content.schedules(&editor, late_entry).await.expect("list");
    assert_eq!(views[0].state, ScheduleState::Done);
    assert_eq!(
        views[0].reason.as_deref(),
        Some("the entry was not published")
    );
}
on_both_backends!(schedules_on, crate::content_ops::schedules_run_once);

/// A scheduled publish of a K-Drop its campaign cannot cover fails, says by
/// how much, leaves the drop unpublished and is in the audit log.
async fn a_scheduled_drop_needs_budget(db: &TestDb) {
    let world = testing::World::new(db, 0, 100).await;
    let store = world.store.clone();
    let content = Content::new(store.clone());
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let campaign = world.campaign_id.to_string();
    let (drop, _) = content
        .save_draft(
            &editor,
            ContentType::KDrop,
            "big-drop",
            &inputs(&[
                ("title.en", "Big"),
                ("campaign_id", &campaign),
                ("total", "1000"),
            ]),
        )
        .await
        .expect("save");
    let due = now_ms() + 60_000;
    content
        .schedule(&editor, drop, ScheduleAction::Publish, due)
        .await
        .expect("schedule");
    assert_eq!(content.run_due_schedules(due + 1).await.expect("run"), 1);
    let views = content.schedules(&editor, drop).await.expect("list");
    assert_eq!(views[0].state, ScheduleState::Failed);
    let reason = views[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("by 900"), "{reason}");
    assert!(content
        .published(ContentType::KDrop, "big-drop", "en")
        .await
        .expect("read")
        .is_none());
    assert!(actions(&store)
        .await
        .iter()
        .any(|a| a == "content.schedule_failed"));
}
on_both_backends!(
    drop_schedule_on,
    crate::content_ops::a_scheduled_drop_needs_budget
);

/// What a test receiver saw: each call's event id, signature and body.
type Calls = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A webhook receiver on 127.0.0.1 that fails its first call with 500.
async fn receiver() -> (String, Calls) {
    use axum::http::{HeaderMap, StatusCode};
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut calls = seen.lock().expect("test setup");
                calls.push((
                    header(webhooks::EVENT_ID_HEADER),
                    header(webhooks::SIGNATURE_HEADER),
                    body.to_vec(),
                ));
                if calls.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("test setup");
    let addr = listener.local_addr().expect("test setup");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), calls)
}

/// Publish and unpublish write outbox events in their transaction; the
/// worker signs each delivery, retries a failure and logs every attempt;
/// redeliver sends a delivered event again.
async fn webhooks_are_signed_retried_and_redelivered(db: &TestDb) {
    let store = db.store().await;
    let content = Content::new(store.clone()).with_webhooks(true);
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let auditor = testing::staff(&store, "aud@example.com", Role::Auditor).await;
    let (url, calls) = receiver().await;
    let secret = "a-receivers-shared-secret";
    let hooks = Webhooks::new(
        store.clone(),
        Some(Endpoint::new(&url, Secret::new(secret.to_owned())).expect("endpoint")),
    )
    .with_backoff_base_ms(1);
    let (banner, version) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "Hello")]),
        )
        .await
        .expect("save");
    content.publish(&editor, banner).await.expect("publish");

    assert_eq!(
        hooks.deliver_due(now_ms()).await.expect("deliver"),
        0,
        "the receiver failed"
    );
    let log = hooks
        .events(&auditor, WebhookEventId::default())
        .await
        .expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].state, WebhookState::Pending);
    assert_eq!(log[0].last_outcome.as_deref(), Some("HTTP 500"));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(hooks.deliver_due(now_ms()).await.expect("retry"), 1);
    let log = hooks
        .events(&auditor, WebhookEventId::default())
        .await
        .expect("log");
    assert_eq!(
        (log[0].state, log[0].attempts),
        (WebhookState::Delivered, 2)
    );

    {
        let calls = calls.lock().expect("test setup");
        assert_eq!(calls.len(), 2);
        let (id, signature, body) = &calls[1];
        assert_eq!(id, &format!("evt_{}", log[0].event_id));
        assert!(webhooks::verify(secret, signature, body, now_ms() / 1_000));
        assert!(!webhooks::verify(
            "not-the-secret-at-all",
            signature,
            body,
            now_ms() / 1_000
        ));
        let event: serde_json::Value = serde_json::from_slice(body).expect("test setup");
        assert_eq!(event["type"], "content.published");
        assert_eq!(event["data"]["slug"], "banner");
        assert_eq!(event["data"]["version"], version.get());
        assert_eq!(calls[0].2, calls[1].2, "every attempt sends the same event");
    }

    // Redeliver: only for people who manage content, and only once it is done.
    assert!(matches!(
        hooks.redeliver(&auditor, log[0].event_id).await,
        Err(DomainError::Forbidden)
    ));
    hooks
        .redeliver(&editor, log[0].event_id)
        .await
        .expect("redeliver");
    assert!(matches!(
        hooks.redeliver(&editor, log[0].event_id).await,
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(hooks.deliver_due(now_ms()).await.expect("deliver"), 1);
    assert_eq!(calls.lock().expect("test setup").len(), 3);

    content.unpublish(&editor, banner).await.expect("unpublish");
    assert_eq!(hooks.deliver_due(now_ms()).await.expect("deliver"), 1);
    let last: serde_json::Value =
        serde_json::from_slice(&calls.lock().expect("test setup")[3].2).expect("test setup");
    assert_eq!(last["type"], "content.unpublished");
    assert!(actions(&store)
        .await
        .iter()
        .any(|a| a == "webhook.redelivered"));
}
on_both_backends!(
    webhooks_on,
    crate::content_ops::webhooks_are_signed_retried_and_redelivered
);

fn cached(body: &str) -> Cached {
    Cached {
        content_type: "application/json".into(),
        etag: "\"e\"".into(),
        nonce: String::new(),
        csp: String::new(),
        body: body.as_bytes().to_vec(),
    }
}

/// A publish purges what the public site was served from.
async fn publishing_purges_the_cache(db: &TestDb) {
    let store = db.store().await;
    let cache = Arc::new(LocalCache::default());
    let content = Content::new(store.clone()).with_cache(cache.clone());
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let (banner, _) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "A")]),
        )
        .await
        .expect("save");
    let (generation, _) = cache.lookup("/?").await;
    cache
        .store(generation.expect("test setup"), "/?", cached("old"))
        .await;
    assert!(cache.lookup("/?").await.1.is_some());
    content.publish(&editor, banner).await.expect("publish");
    assert!(cache.lookup("/?").await.1.is_none(), "a publish purges");
}
on_both_backends!(
    cache_purge_on,
    crate::content_ops::publishing_purges_the_cache
);

/// Two replicas sharing Redis: what one stores the other serves, and a
/// purge by one is seen by the other on its next lookup.
#[tokio::test]
async fn redis_cache_is_shared_and_purged_across_replicas() {
    let url = std::env::var(testing::REDIS_URL_VAR)
        .unwrap_or_else(|_| testing::DEFAULT_REDIS_URL.to_owned());
    let prefix = format!("pq_test:{}:", uuid_like());
    let connect = || async {
        RedisCache::connect(&url, &prefix)
            .await
            .unwrap_or_else(|e| panic!("Redis at {url} is unreachable: {e}"))
    };
    let (a, b) = (connect().await, connect().await);
    let (generation, hit) = a.lookup("/api/v1/content/banner?").await;
    assert!(hit.is_none());
    a.store(
        generation.expect("reachable"),
        "/api/v1/content/banner?",
        cached("v1"),
    )
    .await;
    assert_eq!(
        b.lookup("/api/v1/content/banner?")
            .await
            .1
            .expect("test setup")
            .body,
        b"v1"
    );
    a.purge().await;
    let (after, hit) = b.lookup("/api/v1/content/banner?").await;
    assert!(hit.is_none(), "the other replica misses at once");
    assert_ne!(after, generation);
    // A render that started before the purge is stored under a dead generation.
    b.store(
        generation.expect("test setup"),
        "/api/v1/content/banner?",
        cached("stale"),
    )
    .await;
    assert!(a.lookup("/api/v1/content/banner?").await.1.is_none());
}

fn uuid_like() -> String {
    format!("{:x}{:x}", now_ms(), std::process::id())
}

/// A 1 × 1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

pub(crate) fn png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .expect("test setup")
}

async fn media_round_trip(media: &Media, editor: &payquest_domain::session::Actor) {
    let view = media
        .upload(editor, "dot.png", png())
        .await
        .expect("upload");
    assert_eq!((view.width, view.height), (1, 1));
    assert_eq!(view.content_type, "image/png");
    assert!(view.url.starts_with("/media/") && view.url.ends_with(".png"));
    let name = view.url.trim_start_matches("/media/");
    let (bytes, mime) = media.get(name).await.expect("get");
    assert_eq!((bytes.as_ref(), mime), (png().as_slice(), "image/png"));
    let again = media
        .upload(editor, "renamed.png", png())
        .await
        .expect("the same bytes again");
    assert_eq!(again.url, view.url, "named by content, not by file name");
    for (bytes, why) in [
        (b"<svg onload=alert(1)></svg>".to_vec(), "svg"),
        (vec![], "empty"),
        (
            vec![0_u8; payquest_domain::media::MEDIA_MAX_BYTES + 1],
            "too big",
        ),
    ] {
        assert!(
            matches!(
                media.upload(editor, "x.png", bytes).await,
                Err(DomainError::InvalidField { field: "file", .. })
            ),
            "{why}"
        );
    }
    assert!(matches!(
        media.get("../secrets.key").await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        media.get(&format!("{}.png", "0".repeat(64))).await,
        Err(DomainError::NotFound(_))
    ));
}

/// Images on local disk: checked from their bytes, named by their hash.
async fn media_on_disk(db: &TestDb) {
    let store = db.store().await;
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let maker = testing::staff(&store, "mak@example.com", Role::Maker).await;
    let dir = std::env::temp_dir().join(format!("pq_media_{}", uuid_like()));
    let media = Media::new(
        store.clone(),
        open_store(dir.to_str().expect("test setup"), None).expect("folder"),
    );
    assert!(matches!(
        media.upload(&maker, "dot.png", png()).await,
        Err(DomainError::Forbidden)
    ));
    media_round_trip(&media, &editor).await;
    assert_eq!(media.list(&editor).await.expect("list").len(), 1);
    assert!(actions(&store).await.iter().any(|a| a == "media.uploaded"));
    let _ = std::fs::remove_dir_all(dir);
}
on_both_backends!(media_disk_on, crate::content_ops::media_on_disk);

/// moto's S3-compatible server on 127.0.0.1, stopped when dropped.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Moto {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
        l.local_addr().expect("test setup").port()
    };
    // Owned by `Moto` at once, so every path (a panic included) stops it.
    let moto = Moto {
        child: std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server (pip install 'moto[server]'; `make tools` does) must be on PATH"),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(&moto.endpoint).send().await.is_ok() {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on {}", moto.endpoint);
}

/// Images in an S3-compatible bucket through object_store.
#[tokio::test]
async fn media_in_an_s3_bucket() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let s3 = moto().await;
    let created = reqwest::Client::new()
        .put(format!("{}/pq-media", s3.endpoint))
        .send()
        .await
        .expect("create the bucket");
    assert!(created.status().is_success(), "{}", created.status());
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
    let objects = open_store("s3://pq-media/images", Some(&s3.endpoint)).expect("bucket");
    let media = Media::new(store.clone(), objects);
    media_round_trip(&media, &editor).await;
    // The object is in the bucket under the prefix, named by its hash.
    let listed = reqwest::Client::new()
        .get(format!(
            "{}/pq-media?list-type=2&prefix=images/",
            s3.endpoint
        ))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("test setup");
    assert!(listed.contains(".png</Key>"), "{listed}");
    db.cleanup().await;
}
