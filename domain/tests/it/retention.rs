//! Retention on both databases: one pass clears the evidence of decided
//! activities (not of one still waiting), deletes finished content webhooks
//! (not a pending one), expired nonces and sessions (not live ones), images
//! no content version names (not a named one), leaves
//! every money record and the audit log as they were, and records what it
//! did in one audit record; a second pass finds nothing.

use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::clock::now_ms;
use payquest_domain::content::Content;
use payquest_domain::on_both_backends;
use payquest_domain::retention::{run_once, RetentionPolicy};
use payquest_domain::store::Backend;
use payquest_domain::testing::{self, TestDb, World};
use payquest_domain::types::{ContentType, Role};

const DAY_MS: i64 = 86_400_000;

async fn exec(db: &TestDb, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
            sqlx::query(sql).execute(&pool).await.expect(sql);
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            sqlx::query(sql).execute(&pool).await.expect(sql);
        }
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
            sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql)
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql)
        }
    }
}

/// Counts of everything retention must never touch.
async fn kept(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "ledger_entry",
        "ledger_journal",
        "payout_item",
        "budget_reservation",
        "cost_centre",
        "activity",
        "activity_attempt",
    ] {
        out.push(count(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    out.push(
        count(
            db,
            "SELECT COUNT(*) FROM audit_event WHERE action NOT IN ('retention.applied', 'media.deleted_unused')",
        )
        .await,
    );
    out
}

async fn retention_removes_what_the_policy_names_and_nothing_else(db: &TestDb) {
    let world = World::new(db, 2, 100).await;
    let store = world.store.clone();
    // The two decided activities and their attempts hold evidence.
    exec(db, "UPDATE activity SET evidence_json = '{\"score\":9}'").await;
    exec(
        db,
        "UPDATE activity_attempt SET evidence_json = '{\"seen\":9}'",
    )
    .await;
    // One activity still waiting for its validator keeps its evidence.
    let game = testing::game_server(&store, "Retention").await;
    Activities::new(store.clone())
        .ingest(
            &game,
            &[ActivityIn {
                external_id: "waiting".into(),
                quest_id: world.quest_id,
                wallet: format!("0x{:040x}", 0xabc),
                game_account_id: None,
                social_handle: None,
                occurred_at: payquest_domain::clock::format_ms(now_ms() - 1_000),
                evidence: Some(serde_json::json!({ "score": 3 })),
                signature: None,
            }],
        )
        .await
        .expect("ingest");
    // Two content webhooks: one delivered, one pending.
    let content = Content::new(store.clone()).with_webhooks(true);
    let editor = testing::staff(&store, "cat@example.com", Role::Community).await;
    for title in ["One", "Two"] {
        let (entry, _) = content
            .save_draft(
                &editor,
                ContentType::Banner,
                "",
                &crate::content::inputs(&[("title.en", title)]),
            )
            .await
            .expect("save");
        content.publish(&editor, entry).await.expect("publish");
    }
    exec(
        db,
        "UPDATE webhook_event SET state = 'delivered' WHERE webhook_event_id = \
         (SELECT MIN(webhook_event_id) FROM webhook_event)",
    )
    .await;
    // Nonces and sessions, one expired and one live of each (two days on).
    let now = now_ms();
    let (expired, live) = (now + DAY_MS, now + 3 * DAY_MS);
    exec(
        db,
        &format!(
            "INSERT INTO siwe_nonce VALUES ('{}', {now}, {expired}), ('{}', {now}, {live})",
            "a".repeat(32),
            "b".repeat(32)
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO web_session VALUES ('gone', '{{}}', {expired}), ('live', '{{}}', {live})"
        ),
    )
    .await;
    // Two images: one a banner names, one nobody does.
    let media = payquest_domain::media::Media::in_memory(store.clone());
    let named = media
        .upload(&editor, "named.png", crate::content_ops::png())
        .await
        .expect("upload");
    let mut other = crate::content_ops::png();
    other.push(0); // another file, the same picture
    let unused = media
        .upload(&editor, "unused.png", other)
        .await
        .expect("upload");
    let (entry, _) = content
        .save_draft(
            &editor,
            ContentType::Banner,
            "",
            &crate::content::inputs(&[("title.en", &format!("Look: {}", named.url))]),
        )
        .await
        .expect("save");
    let _ = entry;
    let before = kept(db).await;

    // Two days on, keeping one day of each.
    let policy = RetentionPolicy {
        evidence_days: 1,
        webhook_days: 1,
        media_days: 1,
    };
    let report = run_once(&store, Some(&media), &policy, now + 2 * DAY_MS)
        .await
        .expect("retention");
    assert_eq!(report.activity_evidence_cleared, 2, "{report:?}");
    assert!(report.attempt_evidence_cleared >= 2, "{report:?}");
    assert_eq!(report.webhook_events_deleted, 1, "{report:?}");
    assert_eq!(report.nonces_deleted, 1, "{report:?}");
    assert_eq!(report.sessions_deleted, 1, "{report:?}");
    assert_eq!(report.images_deleted, 1, "{report:?}");
    let name = |url: &str| url.trim_start_matches("/media/").to_owned();
    assert!(
        media.get(&name(&named.url)).await.is_ok(),
        "a named image stays"
    );
    assert!(
        media.get(&name(&unused.url)).await.is_err(),
        "the unused one is gone, bytes too"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_event WHERE action = 'media.deleted_unused'"
        )
        .await,
        1
    );

    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM activity WHERE evidence_json IS NOT NULL"
        )
        .await,
        1,
        "the waiting activity keeps its evidence"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM webhook_event WHERE state = 'pending'"
        )
        .await,
        1
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM siwe_nonce").await, 1);
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM web_session WHERE session_id = 'live'"
        )
        .await,
        1
    );
    assert_eq!(
        kept(db).await,
        before,
        "money records and the audit log untouched"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_event WHERE action = 'retention.applied' \
             AND after_json LIKE '%\"webhook_events_deleted\":1%'"
        )
        .await,
        1,
        "what was removed is recorded"
    );

    // Nothing more to remove: no second record.
    let again = run_once(&store, Some(&media), &policy, now + 2 * DAY_MS)
        .await
        .expect("retention");
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_event WHERE action = 'retention.applied'"
        )
        .await,
        1
    );
    // Kept for good with 0 days.
    let forever = run_once(
        &store,
        Some(&media),
        &RetentionPolicy {
            evidence_days: 0,
            webhook_days: 0,
            media_days: 0,
        },
        now + 400 * DAY_MS,
    )
    .await
    .expect("retention");
    assert_eq!(forever.activity_evidence_cleared, 0);
    assert_eq!(forever.webhook_events_deleted, 0);
    assert_eq!(forever.images_deleted, 0);
}
on_both_backends!(
    retention_on,
    crate::retention::retention_removes_what_the_policy_names_and_nothing_else
);
