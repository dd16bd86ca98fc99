//! Two `payquest serve` processes on one database sharing Redis, as two
//! replicas behind a load balancer: a publish through one is served by the
//! other on its next request; a scheduled unpublish runs once (one audit
//! record, one webhook) though both workers look; cached pages get a fresh
//! CSP nonce on every hit; images upload through one and are served
//! immutable by the other.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payquest_domain::content::Content;
use payquest_domain::on_both_backends;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{ContentType, Role};
use payquest_domain::webhooks;
use serde_json::{json, Value};

use crate::{client, spawn};

type Calls = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on 127.0.0.1 that checks every signature.
async fn receiver(secret: &'static str) -> (String, Calls) {
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
                let now = payquest_domain::clock::now_ms() / 1_000;
                if !webhooks::verify(secret, &header(webhooks::SIGNATURE_HEADER), &body, now) {
                    return StatusCode::UNAUTHORIZED;
                }
                let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock()
                    .expect("test setup")
                    .push((header(webhooks::EVENT_ID_HEADER), event));
                StatusCode::NO_CONTENT
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

fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A 1 × 1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async fn two_replicas_share_cache_schedules_and_media(db: &TestDb) {
    let store = db.store().await;
    let content = Content::new(store.clone());
    let editor_domain = testing::staff(&store, "seed@example.com", Role::Community).await;
    let (banner, _) = content
        .save_draft(
            &editor_domain,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "First banner")]),
        )
        .await
        .expect("save");

    let secret = "shared-webhook-secret-for-tests";
    let (hook_url, calls) = receiver(secret).await;
    let redis = std::env::var(testing::REDIS_URL_VAR)
        .unwrap_or_else(|_| testing::DEFAULT_REDIS_URL.to_owned());
    let prefix = format!("pq_test:{}:", uuid::Uuid::new_v4().simple());
    let media_dir =
        std::env::temp_dir().join(format!("pq_media_{}", uuid::Uuid::new_v4().simple()));
    let env = [
        ("PAYQUEST_REDIS_URL", redis.as_str()),
        ("PAYQUEST_REDIS_PREFIX", prefix.as_str()),
        ("PAYQUEST_CONTENT_WORKER_INTERVAL_MS", "100"),
        ("PAYQUEST_CONTENT_WEBHOOK_URL", hook_url.as_str()),
        ("PAYQUEST_CONTENT_WEBHOOK_SECRET", secret),
        (
            "PAYQUEST_MEDIA_STORE",
            media_dir.to_str().expect("test setup"),
        ),
    ];
    let a = spawn(&db.url, &env);
    let b = spawn(&db.url, &env);
    let cookie =
        crate::budget_race::sign_in_as(&store, &a.url, "cat@example.com", Role::Community).await;
    let c = client();
    let call = |path: &str, body: Value| {
        c.post(format!("{}/api/{path}", a.url))
            .header("cookie", &cookie)
            .json(&body)
            .send()
    };
    let home = |base: &str| {
        let req = crate::bare_client().get(format!("{base}/"));
        async move {
            let res = req.send().await.expect("home");
            let cache = res.headers()["x-cache"]
                .to_str()
                .expect("test setup")
                .to_owned();
            let csp = res.headers()["content-security-policy"]
                .to_str()
                .expect("test setup")
                .to_owned();
            let etag = res.headers()["etag"]
                .to_str()
                .expect("test setup")
                .to_owned();
            (cache, csp, etag, res.text().await.expect("html"))
        }
    };

    let res = call("publish_content", json!({ "entry_id": banner }))
        .await
        .expect("publish");
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let (first, csp1, etag, html1) = home(&b.url).await;
    assert!(html1.contains("First banner"));
    let (second, csp2, _, html2) = home(&b.url).await;
    assert_eq!((first.as_str(), second.as_str()), ("miss", "hit"));
    assert!(etag.starts_with("W/"), "a page's ETag is weak: {etag}");
    assert_ne!(csp1, csp2, "every hit gets a fresh nonce");
    let nonce = csp2
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("test setup");
    assert!(
        html2.contains(&format!("nonce=\"{nonce}\"")),
        "the page carries its header's nonce"
    );
    let not_modified = crate::bare_client()
        .get(format!("{}/", b.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("conditional");
    assert_eq!(not_modified.status(), 304);
    let signed_in = crate::bare_client()
        .get(format!("{}/", b.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("signed in");
    assert!(
        signed_in.headers().get("x-cache").is_none(),
        "a session's page is never cached"
    );
    assert_eq!(signed_in.headers()["cache-control"], "no-store");

    // A new version published through A: B serves it on its next request.
    content
        .save_draft(
            &editor_domain,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "Second banner")]),
        )
        .await
        .expect("save");
    let res = call("publish_content", json!({ "entry_id": banner }))
        .await
        .expect("publish");
    assert_eq!(res.status(), 200);
    let (state, _, _, html) = home(&b.url).await;
    assert_eq!(state, "miss", "the publish purged B's cache too");
    assert!(html.contains("Second banner") && !html.contains("First banner"));

    // An unpublish two seconds ahead: both replicas' workers look, one runs it.
    let due = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let due_at = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        due.year(),
        u8::from(due.month()),
        due.day(),
        due.hour(),
        due.minute(),
        due.second()
    );
    let res = call(
        "schedule_content",
        json!({ "entry_id": banner, "action": "unpublish", "due_at": due_at }),
    )
    .await
    .expect("schedule");
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let mut gone = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !home(&b.url).await.3.contains("Second banner") {
            gone = true;
            break;
        }
    }
    assert!(gone, "the scheduled unpublish took the banner off B");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let trail = store.list_audit(None, 500).await.expect("audit");
    let unpublished = trail
        .iter()
        .filter(|e| e.action == "content.unpublished")
        .count();
    assert_eq!(unpublished, 1, "the schedule ran once");
    let events = calls.lock().expect("test setup").clone();
    let ids: BTreeSet<&String> = events.iter().map(|(id, _)| id).collect();
    assert_eq!(
        events.len(),
        3,
        "two publishes and one unpublish, each delivered once: {events:?}"
    );
    assert_eq!(ids.len(), 3);
    assert_eq!(events[2].1["type"], "content.unpublished");
    let metrics = crate::bare_client()
        .get(&a.metrics_url)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("test setup");
    assert!(
        metrics.contains("payquest_content_schedules_late"),
        "late schedules are a metric"
    );

    // An image uploaded through A is served by B, immutable.
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .expect("test setup");
    let upload = |bytes: Vec<u8>, cookie: Option<&str>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("dot.png"),
        );
        let mut req = client()
            .post(format!("{}/admin/media", a.url))
            .header("accept", "application/json")
            .multipart(form);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.send()
    };
    let res = upload(png.clone(), Some(&cookie)).await.expect("upload");
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.expect("json");
    let url = view["url"].as_str().expect("url").to_owned();
    let served = crate::bare_client()
        .get(format!("{}{url}", b.url))
        .send()
        .await
        .expect("image");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        served.bytes().await.expect("test setup").as_ref(),
        png.as_slice()
    );
    let res = upload(b"<svg onload=alert(1)>".to_vec(), Some(&cookie))
        .await
        .expect("upload");
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_input"), Some("file"))
    );
    let res = upload(png.clone(), None).await.expect("upload");
    assert_eq!(res.status(), 401);
    for bad in ["/media/..%2Fsecrets.key", "/media/abc.png"] {
        let res = crate::bare_client()
            .get(format!("{}{bad}", b.url))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 404, "{bad}");
    }
    let _ = std::fs::remove_dir_all(media_dir);
}
on_both_backends!(
    two_replicas_on,
    crate::content_ops::two_replicas_share_cache_schedules_and_media
);

/// A content webhook a receiver could not check (no secret, or a short one)
/// stops the server at start, saying which setting to fix.
#[tokio::test]
async fn an_unsigned_content_webhook_refuses_to_start() {
    let db = TestDb::sqlite();
    for secret in ["", "short"] {
        let out = crate::command(&db.url)
            .args(["serve"])
            .env("PAYQUEST_CONTENT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
            .env("PAYQUEST_CONTENT_WEBHOOK_SECRET", secret)
            .output()
            .expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("PAYQUEST_CONTENT_WEBHOOK_SECRET"), "{err}");
    }
    db.cleanup().await;
}
