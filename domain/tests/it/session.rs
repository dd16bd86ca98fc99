//! Sign-in as a person goes through it: one-time password, new password,
//! authenticator enrolment, second factor, replay, recovery, throttling.

use payquest_types::StaffUserId;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use payquest_domain::on_both_backends;
use payquest_domain::session::{totp, Auth, SessionAuth, SessionPolicy};
use payquest_domain::store::DynStore;
use payquest_domain::testing::TestDb;
use payquest_domain::types::{Role, SessionStage};
use payquest_domain::users::{ensure_first_admin, list_audit, Users};
use payquest_domain::DomainError;

const POLICY: SessionPolicy = SessionPolicy {
    absolute_lifetime_ms: 12 * 3_600_000,
};
const NEW_PASSWORD: &str = "correct horse battery staple";

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Signs the first admin all the way in; returns the session and the TOTP secret.
async fn enrol_first_admin(auth: &Auth, store: &DynStore) -> (SessionAuth, String, Vec<String>) {
    let created = ensure_first_admin(store, "admin@example.com")
        .await
        .expect("bootstrap")
        .expect("first start creates the admin");
    let s = auth
        .sign_in(
            "Admin@Example.com",
            created.one_time_password.clone(),
            Some("127.0.0.1"),
        )
        .await
        .expect("one-time password works");
    assert_eq!(s.stage, SessionStage::ChangePassword);
    // Nothing else answers before the password is changed and MFA enrolled.
    assert!(matches!(
        auth.actor(&s, None).await,
        Err(DomainError::PasswordChangeRequired)
    ));
    assert!(matches!(
        auth.change_password(&s, "short".into(), None).await,
        Err(DomainError::InvalidInput(_))
    ));
    let s = auth
        .change_password(&s, NEW_PASSWORD.into(), None)
        .await
        .expect("change");
    assert_eq!(s.stage, SessionStage::EnrolMfa);
    assert!(matches!(
        auth.actor(&s, None).await,
        Err(DomainError::MfaEnrolmentRequired)
    ));
    let enrolment = auth.begin_enrolment(&s).await.expect("enrol");
    assert!(enrolment.qr_svg.starts_with("<svg"));
    assert!(enrolment
        .otpauth_url
        .starts_with("otpauth://totp/PayQuest:admin%40example.com?"));
    // Showing the page again keeps the same secret (a scanned code stays valid).
    assert_eq!(
        auth.begin_enrolment(&s).await.expect("enrol").secret_base32,
        enrolment.secret_base32
    );
    assert!(matches!(
        auth.confirm_enrolment(&s, "000000x", None).await,
        Err(DomainError::InvalidCode)
    ));
    let code = totp::code_at(&enrolment.secret_base32, now_s()).expect("code");
    let (s, recovery) = auth
        .confirm_enrolment(&s, &code, None)
        .await
        .expect("confirm");
    assert_eq!(s.stage, SessionStage::Active);
    assert_eq!(recovery.len(), 10);
    (s, enrolment.secret_base32, recovery)
}

async fn first_admin_is_forced_through_password_change_and_mfa(db: &TestDb) {
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    // The enrolment's code is of this time step (or, across a step's edge,
    // the next): replaying this step's code is refused either way.
    let enrolled_at = now_s();
    let (s, secret, recovery) = enrol_first_admin(&auth, &store).await;
    let actor = auth
        .actor(&s, Some("127.0.0.1"))
        .await
        .expect("active session acts");
    assert!(actor.roles.contains(&Role::Admin));

    // Sign in again: the one-time password no longer works, the new one does,
    // and the code used at enrolment can't be replayed.
    let created_otp_fails = auth
        .sign_in("admin@example.com", "x".repeat(20), None)
        .await;
    assert!(matches!(
        created_otp_fails,
        Err(DomainError::InvalidCredentials)
    ));
    let s2 = auth
        .sign_in("admin@example.com", NEW_PASSWORD.into(), None)
        .await
        .expect("sign in");
    assert_eq!(s2.stage, SessionStage::SecondFactor);
    assert!(matches!(
        auth.actor(&s2, None).await,
        Err(DomainError::MfaRequired)
    ));
    let replay = totp::code_at(&secret, enrolled_at).expect("code");
    let replayed = auth.second_factor(&s2, &replay, None).await;
    assert!(
        matches!(replayed, Err(DomainError::InvalidCode)),
        "a code is accepted once"
    );

    // A recovery code works once.
    let s3 = auth
        .second_factor(&s2, &recovery[0].to_uppercase(), None)
        .await
        .expect("recovery");
    assert_eq!(s3.stage, SessionStage::Active);
    let s4 = auth
        .sign_in("admin@example.com", NEW_PASSWORD.into(), None)
        .await
        .expect("sign in");
    assert!(matches!(
        auth.second_factor(&s4, &recovery[0], None).await,
        Err(DomainError::InvalidCode)
    ));

    // Sign out everywhere kills every session of the account.
    auth.sign_out_everywhere(&actor)
        .await
        .expect("sign out everywhere");
    assert!(matches!(
        auth.actor(&s3, None).await,
        Err(DomainError::Unauthenticated)
    ));
    assert!(matches!(
        auth.actor(&s, None).await,
        Err(DomainError::Unauthenticated)
    ));

    let trail = list_audit(&store, &actor, None, Some(100))
        .await
        .expect("audit");
    let actions: Vec<_> = trail.items.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "staff.created",
        "auth.password_changed",
        "auth.mfa_enrolled",
        "auth.sign_in",
        "auth.sign_in_failed",
        "auth.second_factor_failed",
        "auth.recovery_code_used",
        "auth.signed_out_everywhere",
    ] {
        assert!(
            actions.contains(&expected),
            "audit lacks {expected}: {actions:?}"
        );
    }
}
on_both_backends!(
    first_admin_flow_on,
    crate::session::first_admin_is_forced_through_password_change_and_mfa
);

async fn unknown_email_and_wrong_password_look_the_same(db: &TestDb) {
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    ensure_first_admin(&store, "admin@example.com")
        .await
        .expect("bootstrap");
    let time = |email: &'static str| {
        let auth = &auth;
        async move {
            let start = Instant::now();
            let r = auth.sign_in(email, "wrong password 1".into(), None).await;
            (r, start.elapsed())
        }
    };
    // Alternate to spread any warm-up effects over both.
    let mut known = Duration::ZERO;
    let mut unknown = Duration::ZERO;
    for _ in 0..2 {
        let (r1, d1) = time("admin@example.com").await;
        let (r2, d2) = time("nobody@example.com").await;
        let (e1, e2) = (
            r1.expect_err("wrong password"),
            r2.expect_err("unknown email"),
        );
        assert_eq!(e1.to_api(), e2.to_api(), "same code and message");
        known += d1;
        unknown += d2;
    }
    // Both paths run argon2 once; the unknown path may not be markedly faster.
    assert!(
        unknown.as_secs_f64() > known.as_secs_f64() * 0.5,
        "unknown {unknown:?} vs known {known:?}"
    );
}
on_both_backends!(
    same_failure_on,
    crate::session::unknown_email_and_wrong_password_look_the_same
);

async fn repeated_failures_are_throttled_without_a_long_lockout(db: &TestDb) {
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    ensure_first_admin(&store, "admin@example.com")
        .await
        .expect("bootstrap");
    for _ in 0..6 {
        let r = auth
            .sign_in(
                "admin@example.com",
                "nope nope nope".into(),
                Some("10.9.9.9"),
            )
            .await;
        assert!(matches!(r, Err(DomainError::InvalidCredentials)));
    }
    match auth
        .sign_in(
            "admin@example.com",
            "nope nope nope".into(),
            Some("10.9.9.9"),
        )
        .await
    {
        Err(DomainError::Throttled { retry_after_s }) => assert!((1..=60).contains(&retry_after_s)),
        other => panic!("expected throttling, got {other:?}"),
    }
}
on_both_backends!(
    throttle_on,
    crate::session::repeated_failures_are_throttled_without_a_long_lockout
);

/// The confirmed attack: 30 parallel wrong passwords for one account were all
/// evaluated, and then every user of that IP was locked out for 512 s. Now
/// the slot is taken before hashing, in Redis shared by two replicas: at most
/// the free attempts plus one are evaluated, and a colleague behind the same
/// IP still signs in with the right password.
async fn rate_limits_hold_across_replicas(db: &TestDb) {
    use payquest_domain::session::throttle::Throttle;
    let store = db.store().await;
    let shared = std::sync::Arc::new(payquest_domain::testing::redis_throttle().await);
    let one = std::sync::Arc::new(Auth::with_throttle(
        store.clone(),
        POLICY,
        Throttle::shared(shared.clone()),
    ));
    let two = std::sync::Arc::new(Auth::with_throttle(
        store.clone(),
        POLICY,
        Throttle::shared(shared),
    ));
    let admin = ensure_first_admin(&store, "admin@example.com")
        .await
        .expect("bootstrap")
        .expect("created");
    let colleague = payquest_domain::users::create_staff_from_cli(
        &store,
        "colleague@example.com",
        "Colleague",
        Role::Community,
    )
    .await
    .expect("colleague");
    let guesses: Vec<_> = (0..30)
        .map(|n| {
            let auth = if n % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move {
                auth.sign_in(
                    "admin@example.com",
                    format!("guess number {n}"),
                    Some("10.7.7.7"),
                )
                .await
            })
        })
        .collect();
    let (mut evaluated, mut throttled) = (0, 0);
    for g in guesses {
        match g.await.expect("task") {
            Err(DomainError::InvalidCredentials) => evaluated += 1,
            Err(DomainError::Throttled { retry_after_s }) => {
                assert!((1..=60).contains(&retry_after_s));
                throttled += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(evaluated <= 6, "{evaluated} guesses were evaluated");
    assert_eq!(evaluated + throttled, 30);
    // The throttled guesses are audited, capped so a flood can't fill the log.
    let throttled_records = store
        .list_audit(None, 500)
        .await
        .expect("audit")
        .iter()
        .filter(|e| e.action == "auth.throttled")
        .count();
    assert!(
        (1..=2).contains(&throttled_records),
        "{throttled_records} records for {throttled} refusals"
    );
    // The admin's own right password waits too (the account is throttled)…
    assert!(matches!(
        two.sign_in(
            "admin@example.com",
            admin.one_time_password.clone(),
            Some("10.7.7.7")
        )
        .await,
        Err(DomainError::Throttled { .. })
    ));
    // …but a colleague behind the same IP is not locked out.
    let s = one
        .sign_in(
            "colleague@example.com",
            colleague.one_time_password.clone(),
            Some("10.7.7.7"),
        )
        .await
        .expect("the colleague signs in");
    assert_eq!(s.stage, SessionStage::ChangePassword);
}
on_both_backends!(
    rate_limits_on,
    crate::session::rate_limits_hold_across_replicas
);

async fn staff_admin_is_for_admins_only_and_disable_ends_sessions(db: &TestDb) {
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    let users = Users::new(store.clone());
    let (s, _, _) = enrol_first_admin(&auth, &store).await;
    let admin = auth.actor(&s, None).await.expect("admin");

    let created = users
        .create(&admin, "maker@example.com", "Mia Maker", &[Role::Maker])
        .await
        .expect("admin creates a colleague");
    assert_eq!(created.one_time_password.len(), 20);
    // Maker is a money role: it waits for a second admin.
    assert!(created.user.roles.is_empty());
    let request = created
        .waiting_for_approval
        .expect("maker waits for approval");
    assert_eq!(request.roles, vec![Role::Maker]);
    assert!(!request.can_decide);
    let second = second_admin(&store).await;
    users
        .decide_role_request(&second, request.request_id, true)
        .await
        .expect("a second admin approves");
    assert!(matches!(
        users
            .create(&admin, "MAKER@example.com", "Again", &[])
            .await,
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        users.create(&admin, "not-an-email", "X", &[]).await,
        Err(DomainError::InvalidInput(_))
    ));

    // The maker signs in and is refused every admin operation by the domain.
    let ms = auth
        .sign_in("maker@example.com", created.one_time_password.clone(), None)
        .await
        .expect("maker signs in");
    let ms = auth
        .change_password(&ms, NEW_PASSWORD.into(), None)
        .await
        .expect("change");
    let e = auth.begin_enrolment(&ms).await.expect("enrol");
    let code = totp::code_at(&e.secret_base32, now_s()).expect("code");
    let (ms, _) = auth
        .confirm_enrolment(&ms, &code, None)
        .await
        .expect("confirm");
    let maker = auth.actor(&ms, None).await.expect("maker acts");
    assert_eq!(maker.areas(), vec![payquest_domain::types::Area::Payouts]);
    assert!(matches!(
        users.list(&maker, StaffUserId::default(), None).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        users.set_roles(&maker, maker.user_id, &[Role::Admin]).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        list_audit(&store, &maker, None, None).await,
        Err(DomainError::Forbidden)
    ));

    // Role change and disable, both audited; disabling ends the maker's session.
    assert!(matches!(
        users
            .set_roles(&admin, maker.user_id, &[Role::Maker, Role::Checker])
            .await,
        Err(DomainError::FourEyes(_))
    ));
    let updated = users
        .set_roles(&admin, maker.user_id, &[Role::Maker, Role::Auditor])
        .await
        .expect("roles");
    assert_eq!(updated.user.roles, vec![Role::Maker, Role::Auditor]);
    assert_eq!(updated.waiting_for_approval, None);
    assert!(matches!(
        users
            .set_roles(&admin, admin.user_id, &[Role::Auditor])
            .await,
        Err(DomainError::InvalidInput(_))
    ));
    users
        .set_disabled(&admin, maker.user_id, true)
        .await
        .expect("disable");
    assert!(matches!(
        auth.actor(&ms, None).await,
        Err(DomainError::Unauthenticated)
    ));
    assert!(matches!(
        auth.sign_in("maker@example.com", NEW_PASSWORD.into(), None)
            .await,
        Err(DomainError::InvalidCredentials)
    ));
    let page = users
        .list(&admin, StaffUserId::default(), Some(1))
        .await
        .expect("list");
    assert!(trail_has(&store, &admin, "staff.roles_approved").await);
    assert_eq!(page.items.len(), 1);
    assert!(page.has_more);
    assert!(matches!(
        users
            .list(&admin, StaffUserId::default(), Some(1_000))
            .await,
        Err(DomainError::InvalidInput(_))
    ));

    let trail = list_audit(&store, &admin, None, None).await.expect("audit");
    let changed = trail
        .items
        .iter()
        .find(|e| e.action == "staff.roles_changed")
        .expect("role change audited");
    assert_eq!(changed.before.as_deref(), Some(r#"{"roles":["maker"]}"#));
    assert_eq!(
        changed.after.as_deref(),
        Some(r#"{"roles":["maker","auditor"]}"#)
    );
    assert!(trail.items.iter().any(|e| e.action == "staff.disabled"));
}
/// A second admin made by the operator from the command line.
async fn second_admin(store: &DynStore) -> payquest_domain::session::Actor {
    let created = payquest_domain::users::create_admin_from_cli(store, "second@example.com")
        .await
        .expect("second admin");
    payquest_domain::session::Actor {
        user_id: created.user.user_id,
        email: created.user.email,
        roles: [Role::Admin].into_iter().collect(),
        ip: None,
        via: None,
    }
}

async fn trail_has(
    store: &DynStore,
    admin: &payquest_domain::session::Actor,
    action: &str,
) -> bool {
    list_audit(store, admin, None, None)
        .await
        .expect("audit")
        .items
        .iter()
        .any(|e| e.action == action)
}

/// The attack: an admin grants themselves money roles, or makes a checker
/// account and uses it to approve their own batch. Money roles need a second
/// admin who is neither the asker nor the person, and the database refuses
/// the asker's approval even if the domain were bypassed.
async fn privilege_needs_four_eyes(db: &TestDb) {
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    let users = Users::new(store.clone());
    let (s, _, _) = enrol_first_admin(&auth, &store).await;
    let admin = auth.actor(&s, None).await.expect("admin");

    for grant in [
        vec![Role::Admin, Role::Checker],
        vec![Role::Admin, Role::Maker],
        vec![Role::Admin, Role::Finance],
        vec![Role::Admin, Role::Community],
    ] {
        assert!(matches!(
            users.set_roles(&admin, admin.user_id, &grant).await,
            Err(DomainError::FourEyes(_))
        ));
    }
    // A self-made checker account holds no checker role until someone else approves.
    let puppet = users
        .create(&admin, "puppet@example.com", "Puppet", &[Role::Checker])
        .await
        .expect("create");
    assert!(puppet.user.roles.is_empty());
    let request = puppet.waiting_for_approval.expect("waits");
    assert!(matches!(
        users
            .decide_role_request(&admin, request.request_id, true)
            .await,
        Err(DomainError::FourEyes(_))
    ));
    // A second request for the same person is refused while one waits.
    assert!(matches!(
        users
            .set_roles(&admin, puppet.user.user_id, &[Role::Finance])
            .await,
        Err(DomainError::Conflict(_))
    ));
    // The database refuses the asker's decision on its own.
    let audit = payquest_domain::audit::AuditRecord::new(
        &payquest_domain::audit::AuditActor::system("test"),
        "staff.roles_approved",
        "staff:test",
    );
    assert!(store
        .decide_role_request(request.request_id, admin.user_id, true, &audit)
        .await
        .is_err());
    let roles = store
        .staff_by_id(puppet.user.user_id)
        .await
        .expect("read")
        .expect("puppet")
        .roles;
    assert!(roles.is_empty(), "{roles:?}");

    // A second admin sees the request and may decide it; the person may not.
    let second = second_admin(&store).await;
    let waiting = users.role_requests(&second).await.expect("list");
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].can_decide);
    assert!(!users.role_requests(&admin).await.expect("list")[0].can_decide);
    let ask_for_second = users
        .set_roles(&admin, second.user_id, &[Role::Admin, Role::Finance])
        .await
        .expect("ask");
    let for_second = ask_for_second.waiting_for_approval.expect("waits");
    assert!(matches!(
        users
            .decide_role_request(&second, for_second.request_id, true)
            .await,
        Err(DomainError::FourEyes(_))
    ));
    let decided = users
        .decide_role_request(&second, request.request_id, true)
        .await
        .expect("approve");
    assert_eq!(decided.user.roles, vec![Role::Checker]);
    assert!(matches!(
        users
            .decide_role_request(&second, request.request_id, false)
            .await,
        Err(DomainError::Conflict(_))
    ));
    assert!(trail_has(&store, &admin, "staff.roles_requested").await);
    assert!(trail_has(&store, &admin, "staff.roles_approved").await);
}
on_both_backends!(
    privilege_needs_four_eyes_on,
    crate::session::privilege_needs_four_eyes
);

/// Secrets at rest: the TOTP seed and the machine signing keys are stored
/// sealed under the key file's key, so a copy of the database alone gives
/// neither; sign-in and token signing still work through them.
async fn secrets_at_rest_are_sealed(db: &TestDb) {
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    let (_, secret, _) = enrol_first_admin(&auth, &store).await;
    let stored = store
        .staff_by_email("admin@example.com")
        .await
        .expect("read")
        .expect("admin")
        .totp_secret
        .expect("seed");
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains(&secret));
    let machine = payquest_domain::api_clients::MachineAuth::load(store.clone())
        .await
        .expect("keys");
    drop(machine);
    let keys = store.signing_keys(0).await.expect("keys");
    assert!(!keys.is_empty());
    assert!(keys
        .iter()
        .all(|k| k.private_pkcs8.starts_with("sealed:v1:")));
}
on_both_backends!(
    sealed_secrets_on,
    crate::session::secrets_at_rest_are_sealed
);

on_both_backends!(
    staff_admin_on,
    crate::session::staff_admin_is_for_admins_only_and_disable_ends_sessions
);

async fn racing_enrolment_pages_show_one_secret(db: &TestDb) {
    let store = db.store().await;
    let auth = std::sync::Arc::new(Auth::new(store.clone(), POLICY));
    let created = ensure_first_admin(&store, "admin@example.com")
        .await
        .expect("bootstrap")
        .expect("admin");
    let s = auth
        .sign_in("admin@example.com", created.one_time_password, None)
        .await
        .expect("sign in");
    let s = auth
        .change_password(&s, NEW_PASSWORD.into(), None)
        .await
        .expect("change");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (auth, s) = (auth.clone(), s.clone());
            tokio::spawn(
                async move { auth.begin_enrolment(&s).await.expect("enrol").secret_base32 },
            )
        })
        .collect();
    let mut secrets = Vec::new();
    for t in tasks {
        secrets.push(t.await.expect("join"));
    }
    secrets.dedup();
    assert_eq!(secrets.len(), 1, "every page shows the stored secret");
    let code = totp::code_at(&secrets[0], now_s()).expect("code");
    assert!(auth.confirm_enrolment(&s, &code, None).await.is_ok());
}
on_both_backends!(
    enrol_race_on,
    crate::session::racing_enrolment_pages_show_one_secret
);

/// Rotating the secrets key: with a new key first in the file and the old
/// one after it, re-sealing puts every stored secret (TOTP seed, signing
/// keys) under the new key, so the file works with the new key alone; a
/// second run has nothing to do; the run is audited.
async fn stored_secrets_are_sealed_again_under_a_new_key(db: &TestDb) {
    use payquest_domain::api_clients::MachineAuth;
    use payquest_domain::sealed::{reseal_all_with, Sealer};
    use payquest_domain::testing::TEST_SECRETS_KEY;
    let store = db.store().await;
    let auth = Auth::new(store.clone(), POLICY);
    let (_, seed, _) = enrol_first_admin(&auth, &store).await;
    MachineAuth::load(store.clone())
        .await
        .expect("signing keys");
    let before = store.sealed_values().await.expect("values");
    assert!(before.len() >= 3, "a TOTP seed and the signing keys");
    assert!(before
        .iter()
        .all(|v| v.stored.starts_with("sealed:v1:test:")));

    let new_key = Sealer::generate("k2");
    let rotating = Sealer::parse(&format!("{new_key}{TEST_SECRETS_KEY}\n")).expect("keys");
    let report = reseal_all_with(&store, &rotating).await.expect("reseal");
    assert_eq!(
        (report.resealed as usize, report.current),
        (before.len(), 0)
    );
    let new_only = Sealer::parse(&new_key).expect("key");
    let after = store.sealed_values().await.expect("values");
    for (old, new) in before.iter().zip(&after) {
        assert!(new.stored.starts_with("sealed:v1:k2:"), "{new:?}");
        assert_eq!(
            new_only
                .open_with(&new.stored)
                .expect("opens with the new key alone"),
            rotating.open_with(&old.stored).expect("old value")
        );
    }
    assert!(after
        .iter()
        .any(|v| new_only.open_with(&v.stored).ok() == Some(seed.clone())));
    let again = reseal_all_with(&store, &rotating).await.expect("reseal");
    assert_eq!(
        (again.resealed as usize, again.current as usize),
        (0, after.len())
    );
    let trail = store.list_audit(None, 50).await.expect("audit");
    assert!(trail.iter().any(|e| e.action == "secrets.resealed"));
}
on_both_backends!(
    reseal_secrets,
    crate::session::stored_secrets_are_sealed_again_under_a_new_key
);
