//! Gamers as principals: a gamer session names one gamer while it is good,
//! and nothing else (no staff permission comes with it).

use payquest_domain::clock::now_ms;
use payquest_domain::gamers::{GamerSession, Gamers};
use payquest_domain::on_both_backends;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::GamerId;
use payquest_domain::DomainError;

const HOUR_MS: i64 = 3_600_000;

async fn a_gamer_session_is_good_for_its_gamer_only(db: &TestDb) {
    let store = db.store().await;
    let quest = testing::active_quest(&store, "g", ValidatorConfig::Manual).await;
    let activity = testing::earn_reward(&store, quest, 0).await;
    let wallet = store
        .activity(activity)
        .await
        .expect("read")
        .expect("activity")
        .wallet;
    // The first gamer of a fresh database.
    let gamer = store.gamer(GamerId(1)).await.expect("read").expect("gamer");
    assert_eq!(gamer.wallet, wallet);
    let gamers = Gamers::new(store.clone(), HOUR_MS);
    let session = |gamer_id, wallet: &str, age_ms| GamerSession {
        gamer_id,
        wallet: wallet.to_owned(),
        started_at_ms: now_ms() - age_ms,
    };

    let me = gamers
        .actor(&session(gamer.gamer_id, &wallet, 0))
        .await
        .expect("signed in");
    assert_eq!(me.gamer_id, gamer.gamer_id);
    assert_eq!(me.wallet.as_str(), wallet);
    assert_eq!(me.wallet.short().chars().count(), 11, "0x1234…abcd");

    for (why, s) in [
        ("expired", session(gamer.gamer_id, &wallet, 2 * HOUR_MS)),
        ("unknown gamer", session(GamerId(999), &wallet, 0)),
        (
            "another wallet",
            session(
                gamer.gamer_id,
                "0x000000000000000000000000000000000000dEaD",
                0,
            ),
        ),
    ] {
        assert!(
            matches!(gamers.actor(&s).await, Err(DomainError::Unauthenticated)),
            "{why}"
        );
    }
}
on_both_backends!(
    gamer_sessions_on,
    crate::gamers::a_gamer_session_is_good_for_its_gamer_only
);

/// A sign-in nonce is spent once however many requests race for it (each
/// with its own connection pool, as replicas would), and an expired one
/// not at all.
async fn a_nonce_is_spent_once(db: &TestDb) {
    let store = db.store().await;
    let gamers = Gamers::new(store.clone(), HOUR_MS);
    let nonce = gamers.issue_nonce().await.expect("nonce");
    assert_eq!(nonce.len(), 32);
    let mut racers = Vec::new();
    for _ in 0..8 {
        let replica = db.store().await;
        let nonce = nonce.clone();
        racers.push(tokio::spawn(async move {
            replica
                .take_siwe_nonce(&nonce, now_ms())
                .await
                .expect("take")
        }));
    }
    let mut spent = 0;
    for r in racers {
        spent += usize::from(r.await.expect("racer"));
    }
    assert_eq!(spent, 1, "one request spends it");
    let late = gamers.issue_nonce().await.expect("nonce");
    let after_expiry = now_ms() + payquest_domain::gamers::NONCE_LIFETIME_MS + 1;
    assert!(!store
        .take_siwe_nonce(&late, after_expiry)
        .await
        .expect("take"));
    assert_eq!(
        store.sweep_siwe_nonces(after_expiry).await.expect("sweep"),
        1
    );
}
on_both_backends!(siwe_nonce_on, crate::gamers::a_nonce_is_spent_once);

/// "My rewards" lists the gamer's own activities and rewards only: the
/// gamer comes from the session, and no id in a request reaches another's.
async fn a_gamer_sees_only_their_own_rewards(db: &TestDb) {
    let store = db.store().await;
    let quest = testing::active_quest(&store, "mine", ValidatorConfig::Manual).await;
    let mine = testing::earn_reward(&store, quest, 1).await;
    let theirs = testing::earn_reward(&store, quest, 2).await;
    let actor = |activity| {
        let store = store.clone();
        async move {
            let a = store
                .activity(activity)
                .await
                .expect("read")
                .expect("activity");
            let wallet = payquest_domain::gamers::WalletAddress::parse(&a.wallet).expect("wallet");
            let gamer = store
                .gamer_for_wallet(wallet.as_str(), now_ms())
                .await
                .expect("gamer");
            let session = GamerSession {
                gamer_id: gamer.gamer_id,
                wallet: gamer.wallet,
                started_at_ms: now_ms(),
            };
            Gamers::new(store.clone(), HOUR_MS)
                .actor(&session)
                .await
                .expect("gamer")
        }
    };
    let gamers = Gamers::new(store.clone(), HOUR_MS);
    let me = actor(mine).await;
    let rows = gamers
        .my_activities(&me, payquest_domain::types::ActivityId::default())
        .await
        .expect("mine");
    assert_eq!(
        rows.iter().map(|r| r.activity_id).collect::<Vec<_>>(),
        vec![mine]
    );
    assert_eq!(rows[0].reward_state.as_deref(), Some("earned"));
    assert!(rows[0].reward.is_some());
    let other = actor(theirs).await;
    let rows = gamers
        .my_activities(&other, payquest_domain::types::ActivityId::default())
        .await
        .expect("theirs");
    assert_eq!(
        rows.iter().map(|r| r.activity_id).collect::<Vec<_>>(),
        vec![theirs]
    );
}
on_both_backends!(
    my_rewards_on,
    crate::gamers::a_gamer_sees_only_their_own_rewards
);
