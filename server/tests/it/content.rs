//! The public content API and the public front page over HTTP, on both
//! databases: published only, a per-field locale fallback, strong ETags with
//! 304, stable 4xx codes, and what the community team publishes shows on `/`.

use std::collections::BTreeMap;

use payquest_domain::content::Content;
use payquest_domain::on_both_backends;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{ContentType, Role};
use serde_json::Value;

use crate::{client, spawn};

async fn published_content_is_served_and_cached(db: &TestDb) {
    let store = db.store().await;
    let content = Content::new(store.clone());
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let save = |t, slug: &'static str, pairs: &'static [(&'static str, &'static str)]| {
        let content = &content;
        let editor = &editor;
        async move {
            let inputs: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            content
                .save_draft(editor, t, slug, &inputs)
                .await
                .expect("save")
                .0
        }
    };
    let banner = save(
        ContentType::Banner,
        "",
        &[
            ("title.en", "Season one"),
            ("title.es", "Temporada uno"),
            (
                "body.en",
                "<p>Play <b>now</b></p><img src=x onerror=alert(1)>",
            ),
        ],
    )
    .await;
    content.publish(&editor, banner).await.expect("publish");
    let quest = save(
        ContentType::KQuest,
        "five-matches",
        &[("title.en", "Play five matches"), ("campaign_id", "1")],
    )
    .await;
    content.publish(&editor, quest).await.expect("publish");
    save(
        ContentType::KQuest,
        "secret-draft",
        &[("title.en", "Not yet"), ("campaign_id", "1")],
    )
    .await;

    let server = spawn(&db.url, &[]);
    let c = client();
    let get = |path: String| c.get(format!("{}{path}", server.url)).send();

    let res = get("/api/v1/content/banner/banner?locale=es".into())
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");
    assert!(res.headers()["cache-control"]
        .to_str()
        .expect("cc")
        .contains("s-maxage"));
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["fields"]["title"], "Temporada uno");
    let html = body["fields"]["body"].as_str().expect("body");
    assert!(
        html.contains("<b>now</b>") && !html.contains("onerror"),
        "{html}"
    );
    let again = c
        .get(format!(
            "{}/api/v1/content/banner/banner?locale=es",
            server.url
        ))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);

    let list: Value = get("/api/v1/content/k_quest".into())
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["slug"].as_str())
        .collect();
    assert_eq!(slugs, vec!["five-matches"], "drafts are never public");

    for (path, status, code) in [
        ("/api/v1/content/k_quest/secret-draft", 404, "not_found"),
        ("/api/v1/content/poster", 404, "not_found"),
        ("/api/v1/content/k_quest/..%2Fetc", 404, "not_found"),
        ("/api/v1/content/k_quest?limit=1000", 400, "invalid_input"),
        ("/api/v1/content/k_quest?colour=red", 400, "invalid_input"),
    ] {
        let res = get(path.into()).await.expect("get");
        assert_eq!(res.status(), status, "{path}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["code"], code, "{path}");
    }

    // The front page shows what is published, never the draft.
    let page = get("/".into())
        .await
        .expect("home")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Season one"), "the banner");
    assert!(page.contains("Play five matches"), "a live K-Quest");
    assert!(!page.contains("Not yet"), "no draft");
    assert!(!page.contains("onerror"), "no script from content");
    let quests = get("/quests".into())
        .await
        .expect("quests")
        .text()
        .await
        .expect("html");
    assert!(quests.contains("Play five matches") && !quests.contains("Not yet"));
    let one = get("/quests/five-matches".into())
        .await
        .expect("quest")
        .text()
        .await
        .expect("html");
    assert!(one.contains("Play five matches"));
    let draft = get("/quests/secret-draft".into())
        .await
        .expect("draft")
        .text()
        .await
        .expect("html");
    assert!(!draft.contains("Not yet"), "a draft has no page");
}
on_both_backends!(
    content_api_on,
    crate::content::published_content_is_served_and_cached
);
