//! The CMS: drafts are new immutable versions, publishing shows one version
//! to everyone (drafts never), translations fall back per field, rich text
//! is sanitised, and only the community team edits.

use std::collections::BTreeMap;

use payquest_domain::content::Content;
use payquest_domain::on_both_backends;
use payquest_domain::store::Backend;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{ContentState, ContentType, Role};
use payquest_domain::DomainError;
use sqlx::Connection;

pub(crate) fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn drafts_versions_and_publishing(db: &TestDb) {
    let store = db.store().await;
    let content = Content::new(store.clone());
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let auditor = testing::staff(&store, "aud@example.com", Role::Auditor).await;
    let maker = testing::staff(&store, "mak@example.com", Role::Maker).await;

    let (entry, v1) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "ignored for a singleton",
            &inputs(&[
                ("title.en", "Season one"),
                ("title.es", "Temporada uno"),
                ("body.en", "<p>Hi</p><script>alert(1)</script>"),
            ]),
        )
        .await
        .expect("save");
    assert!(
        content
            .published(ContentType::Banner, "banner", "en")
            .await
            .expect("read")
            .is_none(),
        "a draft is never public"
    );
    content.publish(&editor, entry).await.expect("publish");
    let shown = content
        .published(ContentType::Banner, "banner", "es")
        .await
        .expect("read")
        .expect("published");
    assert_eq!(shown.fields["title"], "Temporada uno");
    assert_eq!(
        shown.fields["body"], "<p>Hi</p>",
        "falls back to en, sanitised"
    );

    // A new draft: the public keeps the published version until it is published.
    let (_, v2) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "Season two")]),
        )
        .await
        .expect("save again");
    assert!(v2 > v1);
    let still = content
        .published(ContentType::Banner, "banner", "en")
        .await
        .expect("read")
        .expect("published");
    assert_eq!(still.fields["title"], "Season one");
    let (e, versions) = content.entry(&auditor, entry).await.expect("auditor reads");
    assert_eq!(e.entry.state, ContentState::Published);
    assert_eq!(versions.len(), 2);
    assert!(versions.iter().any(|v| v.version_id == v1 && v.published));
    content.publish(&editor, entry).await.expect("publish v2");
    assert_eq!(
        content
            .published(ContentType::Banner, "banner", "en")
            .await
            .expect("read")
            .expect("published")
            .fields["title"],
        "Season two"
    );
    content.unpublish(&editor, entry).await.expect("unpublish");
    assert!(content
        .published(ContentType::Banner, "banner", "en")
        .await
        .expect("read")
        .is_none());
    assert!(matches!(
        content.unpublish(&editor, entry).await,
        Err(DomainError::Conflict(_))
    ));

    // Only the community team edits; auditors read; others neither.
    assert!(matches!(
        content
            .save_draft(
                &auditor,
                ContentType::Banner,
                "",
                &inputs(&[("title.en", "x")])
            )
            .await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        content.publish(&auditor, entry).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        content.entries(&maker, None).await,
        Err(DomainError::Forbidden)
    ));

    // Collections page by slug, published only.
    for slug in ["b-quest", "a-quest", "c-quest"] {
        let (id, _) = content
            .save_draft(
                &editor,
                ContentType::KQuest,
                slug,
                &inputs(&[("title.en", slug), ("campaign_id", "1")]),
            )
            .await
            .expect("save quest");
        if slug != "c-quest" {
            content.publish(&editor, id).await.expect("publish quest");
        }
    }
    let page = content
        .published_list(ContentType::KQuest, "en", "", 10)
        .await
        .expect("list");
    let slugs: Vec<&str> = page.iter().map(|c| c.slug.as_str()).collect();
    assert_eq!(
        slugs,
        vec!["a-quest", "b-quest"],
        "by slug, drafts left out"
    );
    let next = content
        .published_list(ContentType::KQuest, "en", "a-quest", 10)
        .await
        .expect("next page");
    assert_eq!(next.len(), 1);
    assert!(matches!(
        content
            .save_draft(
                &editor,
                ContentType::KQuest,
                "Bad Slug",
                &inputs(&[("title.en", "x"), ("campaign_id", "1")])
            )
            .await,
        Err(DomainError::InvalidField { field: "slug", .. })
    ));

    // Versions are history: the database refuses to rewrite or delete one.
    for sql in [
        "UPDATE content_version SET data_json = '{}'",
        "DELETE FROM content_version",
    ] {
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
    // Every change is audited.
    let actions: Vec<String> = store
        .list_audit(None, 100)
        .await
        .expect("audit")
        .into_iter()
        .map(|a| a.action)
        .collect();
    for a in ["content.saved", "content.published", "content.unpublished"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}
on_both_backends!(content_on, crate::content::drafts_versions_and_publishing);

/// Finance's rule holds in the CMS: a K-Drop is published only while its
/// campaign's available budget covers the drop's total, and the refusal
/// says by how much it falls short. Old versions compare and restore as
/// new versions; history is never rewritten.
async fn drops_need_budget_and_versions_restore(db: &TestDb) {
    let world = testing::World::new(db, 0, 100).await;
    let store = world.store.clone();
    let content = Content::new(store.clone());
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let campaign = world.campaign_id.to_string();
    let drop = |total: &str| {
        inputs(&[
            ("title.en", "Launch drop"),
            ("campaign_id", campaign.as_str()),
            ("total", total),
        ])
    };
    let (entry, v1) = content
        .save_draft(&editor, ContentType::KDrop, "launch-drop", &drop("1000"))
        .await
        .expect("save");
    match content.publish(&editor, entry).await {
        Err(DomainError::Named(payquest_domain::Conflict::BudgetShort, why)) => {
            assert!(why.contains("by 900"), "{why}");
        }
        other => panic!("an underfunded drop must not publish: {other:?}"),
    }
    assert!(content
        .published(ContentType::KDrop, "launch-drop", "en")
        .await
        .expect("read")
        .is_none());
    let (_, v2) = content
        .save_draft(&editor, ContentType::KDrop, "launch-drop", &drop("60"))
        .await
        .expect("save");
    content
        .publish(&editor, entry)
        .await
        .expect("a covered drop publishes");

    let d = content.diff(&editor, entry, v1, v2).await.expect("diff");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].name, "total");
    let v3 = content.restore(&editor, entry, v1).await.expect("restore");
    assert!(v3 > v2, "a restore is a new version");
    let (e, versions) = content.entry(&editor, entry).await.expect("entry");
    assert_eq!(e.entry.draft_version_id, Some(v3));
    assert_eq!(versions.len(), 3);
    assert_eq!(e.data["total"], "1000");
    assert!(content
        .diff(&editor, entry, v1, v3)
        .await
        .expect("diff")
        .is_empty());
    // The restored draft is not public until published, and then the rule applies again.
    assert!(matches!(
        content.publish(&editor, entry).await,
        Err(DomainError::Named(
            payquest_domain::Conflict::BudgetShort,
            _
        ))
    ));
    assert_eq!(
        content
            .published(ContentType::KDrop, "launch-drop", "en")
            .await
            .expect("read")
            .expect("still the covered version")
            .fields["total"],
        "60"
    );
    // A version of another entry is not this entry's.
    let (other, _) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "x")]),
        )
        .await
        .expect("banner");
    assert!(matches!(
        content.restore(&editor, other, v1).await,
        Err(DomainError::NotFound(_))
    ));
}
on_both_backends!(
    drop_budget_on,
    crate::content::drops_need_budget_and_versions_restore
);

/// A preview link shows the draft to anyone holding it, and nothing once
/// it is changed.
async fn preview_links_are_signed(db: &TestDb) {
    let store = db.store().await;
    let content = Content::new(store.clone());
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    let (entry, _) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &inputs(&[("title.en", "Draft title")]),
        )
        .await
        .expect("save");
    let token = content.preview_token(&editor, entry).await.expect("token");
    let shown = content.preview(&token).await.expect("preview");
    assert_eq!(shown.fields["title"], "Draft title");
    let mut forged = token.clone();
    forged.replace_range(0..1, if token.starts_with('9') { "8" } else { "9" });
    for bad in [
        forged.as_str(),
        "1.1.99999999999999.00",
        "",
        &"x".repeat(300),
    ] {
        assert!(
            matches!(content.preview(bad).await, Err(DomainError::NotFound(_))),
            "{bad}"
        );
    }
    let maker = testing::staff(&store, "mak@example.com", Role::Maker).await;
    assert!(matches!(
        content.preview_token(&maker, entry).await,
        Err(DomainError::Forbidden)
    ));
}
on_both_backends!(preview_on, crate::content::preview_links_are_signed);
