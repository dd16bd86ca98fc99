//! What every `Store` implementation must do, run against both backends.

use payquest_types::StaffUserId;
use std::sync::Arc;

use payquest_domain::audit::{AuditActor, AuditRecord};
use payquest_domain::on_both_backends;
use payquest_domain::store::{migration_versions, Backend, NewStaff, StoreError};
use payquest_domain::testing::TestDb;
use payquest_domain::types::Role;
use payquest_domain::users::ensure_first_admin;
use sqlx::Connection;

fn audit(action: &'static str) -> AuditRecord {
    AuditRecord::new(&AuditActor::system("test"), action, "staff:test")
}

fn new_staff<'a>(email: &'a str, roles: &'a [Role]) -> NewStaff<'a> {
    NewStaff {
        email,
        display_name: "Test Person",
        password_hash: "not-a-real-hash",
        must_change_password: true,
        roles,
        now_ms: 1_000,
        role_request: None,
    }
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_versions(Backend::Sqlite);
    let postgres = migration_versions(Backend::Postgres);
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migration sets must keep the same versions and names"
    );
}

async fn staff_round_trip(db: &TestDb) {
    let store = db.store().await;
    assert_eq!(store.count_staff().await.expect("count"), 0);
    let created = store
        .create_staff(
            &new_staff("ada@example.com", &[Role::Maker, Role::Admin, Role::Maker]),
            &audit("staff.created"),
        )
        .await
        .expect("create");
    assert_eq!(created.roles, vec![Role::Admin, Role::Maker]);
    let found = store
        .staff_by_email("ada@example.com")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found.staff_user_id, created.staff_user_id);
    assert!(found.must_change_password);
    assert!(!found.totp_confirmed);

    let dup = store
        .create_staff(&new_staff("ada@example.com", &[]), &audit("staff.created"))
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(_))),
        "duplicate email must be a conflict"
    );

    store
        .set_roles(
            created.staff_user_id,
            &[Role::Checker],
            &audit("staff.roles_changed"),
        )
        .await
        .expect("set roles");
    let found = store
        .staff_by_id(created.staff_user_id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found.roles, vec![Role::Checker]);

    for i in 0..5 {
        store
            .create_staff(
                &new_staff(&format!("p{i}@example.com"), &[Role::Auditor]),
                &audit("staff.created"),
            )
            .await
            .expect("create");
    }
    let page = store
        .list_staff(StaffUserId::default(), 3)
        .await
        .expect("list");
    assert_eq!(page.len(), 3);
    let rest = store
        .list_staff(page[2].staff_user_id, 10)
        .await
        .expect("list");
    assert_eq!(rest.len(), 3);
    assert!(rest.iter().skip(1).all(|u| u.roles == vec![Role::Auditor]));

    let missing = store
        .set_roles(
            StaffUserId(9_999),
            &[Role::Admin],
            &audit("staff.roles_changed"),
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}
on_both_backends!(staff_round_trip_on, crate::store_contract::staff_round_trip);

async fn audit_is_append_only_and_written_with_changes(db: &TestDb) {
    let store = db.store().await;
    let u = store
        .create_staff(&new_staff("bo@example.com", &[]), &audit("staff.created"))
        .await
        .expect("create");
    store
        .set_disabled(u.staff_user_id, true, &audit("staff.disabled"))
        .await
        .expect("disable");
    let rows = store.list_audit(None, 10).await.expect("audit");
    let actions: Vec<_> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, vec!["staff.disabled", "staff.created"]);
    assert_eq!(rows[1].subject, format!("staff:{}", u.staff_user_id));

    // Neither UPDATE nor DELETE may touch the trail, whatever the client.
    let update = "UPDATE audit_event SET action = 'tampered'";
    let delete = "DELETE FROM audit_event";
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            assert!(sqlx::query(update).execute(&mut c).await.is_err());
            assert!(sqlx::query(delete).execute(&mut c).await.is_err());
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            assert!(sqlx::query(update).execute(&mut c).await.is_err());
            assert!(sqlx::query(delete).execute(&mut c).await.is_err());
        }
    }
    assert_eq!(store.list_audit(None, 10).await.expect("audit").len(), 2);
}
on_both_backends!(
    audit_append_only_on,
    crate::store_contract::audit_is_append_only_and_written_with_changes
);

async fn disabling_ends_sessions_by_bumping_the_epoch(db: &TestDb) {
    let store = db.store().await;
    let u = store
        .create_staff(&new_staff("cy@example.com", &[]), &audit("staff.created"))
        .await
        .expect("create");
    assert_eq!(u.session_epoch, 0);
    store
        .set_disabled(u.staff_user_id, true, &audit("staff.disabled"))
        .await
        .expect("disable");
    let after = store
        .staff_by_id(u.staff_user_id)
        .await
        .expect("find")
        .expect("exists");
    assert!(after.disabled);
    assert_eq!(after.session_epoch, 1);
    store
        .bump_session_epoch(u.staff_user_id, &audit("auth.signed_out_everywhere"))
        .await
        .expect("bump");
    let after = store
        .staff_by_id(u.staff_user_id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(after.session_epoch, 2);
}
on_both_backends!(
    disable_bumps_epoch_on,
    crate::store_contract::disabling_ends_sessions_by_bumping_the_epoch
);

async fn a_totp_step_is_accepted_once_even_under_racing_requests(db: &TestDb) {
    let store = db.store().await;
    let u = store
        .create_staff(&new_staff("di@example.com", &[]), &audit("staff.created"))
        .await
        .expect("create");
    // Not enrolled yet: no step can be accepted.
    assert!(!store
        .accept_totp_step(u.staff_user_id, 10)
        .await
        .expect("accept"));
    store
        .set_pending_totp(u.staff_user_id, "JBSWY3DPEHPK3PXP")
        .await
        .expect("pending");
    let hashes = vec!["h1".to_string(), "h2".to_string()];
    assert!(store
        .confirm_totp(u.staff_user_id, 10, &hashes, &audit("auth.mfa_enrolled"))
        .await
        .expect("confirm"));
    assert!(!store
        .confirm_totp(u.staff_user_id, 11, &hashes, &audit("auth.mfa_enrolled"))
        .await
        .expect("confirm"));
    assert!(matches!(
        store.set_pending_totp(u.staff_user_id, "AAAA").await,
        Err(StoreError::Conflict(_))
    ));
    // The enrolment code's own step can't be replayed, nor an older one.
    assert!(!store
        .accept_totp_step(u.staff_user_id, 10)
        .await
        .expect("accept"));
    assert!(!store
        .accept_totp_step(u.staff_user_id, 9)
        .await
        .expect("accept"));

    // Eight tasks present the same fresh code at once: exactly one wins.
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.accept_totp_step(u.staff_user_id, 11).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("join").expect("accept") {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}
on_both_backends!(
    totp_once_on,
    crate::store_contract::a_totp_step_is_accepted_once_even_under_racing_requests
);

async fn recovery_codes_are_single_use(db: &TestDb) {
    let store = db.store().await;
    let u = store
        .create_staff(&new_staff("ed@example.com", &[]), &audit("staff.created"))
        .await
        .expect("create");
    store
        .set_pending_totp(u.staff_user_id, "JBSWY3DPEHPK3PXP")
        .await
        .expect("pending");
    let hashes = vec!["h1".to_string(), "h2".to_string()];
    store
        .confirm_totp(u.staff_user_id, 1, &hashes, &audit("auth.mfa_enrolled"))
        .await
        .expect("confirm");
    assert_eq!(
        store
            .unused_recovery_codes(u.staff_user_id)
            .await
            .expect("count"),
        2
    );
    assert!(store
        .use_recovery_code(u.staff_user_id, "h1", 5)
        .await
        .expect("use"));
    assert!(!store
        .use_recovery_code(u.staff_user_id, "h1", 6)
        .await
        .expect("use"));
    assert!(!store
        .use_recovery_code(u.staff_user_id, "nope", 6)
        .await
        .expect("use"));
    assert_eq!(
        store
            .unused_recovery_codes(u.staff_user_id)
            .await
            .expect("count"),
        1
    );
}
on_both_backends!(
    recovery_single_use_on,
    crate::store_contract::recovery_codes_are_single_use
);

async fn sessions_expire(db: &TestDb) {
    let store = db.store().await;
    assert!(store
        .session_create("s1", "{\"a\":1}", 2_000)
        .await
        .expect("create"));
    assert!(
        !store
            .session_create("s1", "{\"x\":0}", 9_000)
            .await
            .expect("create"),
        "never overwrite on create"
    );
    store
        .session_save("s2", "{\"b\":2}", 5_000)
        .await
        .expect("save");
    assert_eq!(
        store
            .session_load("s1", 1_000)
            .await
            .expect("load")
            .as_deref(),
        Some("{\"a\":1}")
    );
    store
        .session_save("s1", "{\"a\":2}", 3_000)
        .await
        .expect("overwrite");
    assert_eq!(
        store
            .session_load("s1", 1_000)
            .await
            .expect("load")
            .as_deref(),
        Some("{\"a\":2}")
    );
    assert_eq!(
        store.session_load("s1", 3_000).await.expect("load"),
        None,
        "expired sessions don't load"
    );
    assert_eq!(store.session_delete_expired(3_000).await.expect("sweep"), 1);
    store.session_delete("s2").await.expect("delete");
    assert_eq!(store.session_load("s2", 1_000).await.expect("load"), None);
}
on_both_backends!(sessions_expire_on, crate::store_contract::sessions_expire);

async fn only_one_first_admin_even_when_replicas_start_together(db: &TestDb) {
    let store = db.store().await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { ensure_first_admin(&store, "root@example.com").await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        if t.await.expect("join").expect("bootstrap").is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.count_staff().await.expect("count"), 1);
}
on_both_backends!(
    first_admin_once_on,
    crate::store_contract::only_one_first_admin_even_when_replicas_start_together
);

/// Each state column's CHECK lists exactly the values of its enum, on both
/// databases (a state the code knows but the column refuses, or one the
/// column allows that the code can't read, fails here).
async fn every_state_column_allows_exactly_its_enum(db: &TestDb) {
    use payquest_domain::types::{
        ActivityStatus, BatchState, CampaignStatus, ChunkState, ContentState, ContentType,
        FindingKind, PayoutItemState, RoleRequestState, SigningKeyState, TransferState,
    };
    let _ = db.store().await;
    fn texts<T: Copy>(all: &[T], f: fn(T) -> &'static str) -> Vec<String> {
        let mut v: Vec<String> = all.iter().map(|s| f(*s).to_owned()).collect();
        v.sort();
        v
    }
    for (table, column, expected) in [
        (
            "campaign",
            "status",
            texts(CampaignStatus::ALL, CampaignStatus::as_str),
        ),
        (
            "content_entry",
            "state",
            texts(ContentState::ALL, ContentState::as_str),
        ),
        (
            "content_entry",
            "content_type",
            texts(ContentType::ALL, ContentType::as_str),
        ),
        (
            "staff_role_request",
            "state",
            texts(RoleRequestState::ALL, RoleRequestState::as_str),
        ),
        (
            "budget_transfer",
            "state",
            texts(TransferState::ALL, TransferState::as_str),
        ),
        (
            "signing_key",
            "state",
            texts(SigningKeyState::ALL, SigningKeyState::as_str),
        ),
        (
            "activity",
            "status",
            texts(ActivityStatus::ALL, ActivityStatus::as_str),
        ),
        (
            "payout_batch",
            "state",
            texts(BatchState::ALL, BatchState::as_str),
        ),
        (
            "payout_chunk",
            "state",
            texts(ChunkState::ALL, ChunkState::as_str),
        ),
        (
            "payout_item",
            "state",
            texts(PayoutItemState::ALL, PayoutItemState::as_str),
        ),
        (
            "recon_finding",
            "kind",
            texts(FindingKind::ALL, FindingKind::as_str),
        ),
    ] {
        let mut allowed = db.check_values(table, column).await;
        allowed.sort();
        assert_eq!(allowed, expected, "{table}.{column}");
    }
}
payquest_domain::on_both_backends!(
    state_checks,
    crate::store_contract::every_state_column_allows_exactly_its_enum
);

/// The pool settings a deployment behind a transaction-mode pooler needs:
/// the store works with a small pool, no named prepared statements and a
/// statement timeout, and PostgreSQL ends a statement that runs longer.
async fn the_pool_takes_its_settings(db: &TestDb) {
    use payquest_domain::store::{connect_with, PgStore, PoolSettings};
    let settings = PoolSettings {
        max_connections: Some(2),
        acquire_timeout_ms: 2_000,
        statement_timeout_ms: 300,
        no_prepared_statements: true,
    };
    let store = connect_with(&db.url, &settings).await.expect("connect");
    for _ in 0..5 {
        store.ping().await.expect("ping");
        assert!(store.count_staff().await.is_ok());
    }
    if db.backend == Backend::Postgres {
        let pool = PgStore::pool_options(&settings)
            .connect_with(PgStore::connect_options(&db.url, &settings).expect("options"))
            .await
            .expect("pool");
        let slow = sqlx::query("SELECT pg_sleep(2)").execute(&pool).await;
        match slow {
            Err(sqlx::Error::Database(e)) => {
                assert_eq!(e.code().as_deref(), Some("57014"), "query_canceled: {e}");
            }
            other => panic!("a 2 s statement must hit the 300 ms timeout: {other:?}"),
        }
        // Unnamed statements only: the same query again is prepared again,
        // never looked up by a name a pooler may have sent elsewhere.
        for _ in 0..3 {
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&pool)
                .await
                .expect("select");
            assert_eq!(one, 1);
        }
    }
}
on_both_backends!(pool_on, crate::store_contract::the_pool_takes_its_settings);
