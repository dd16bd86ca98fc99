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

/// A gamer links a game account and a social handle: the portal lists them
/// and the quests with where the gamer stands; another wallet cannot link
/// the same account; a validator reads the linked account for a report
/// that names none; each change is audited; nothing reaches another gamer.
async fn linked_accounts_are_the_gamers_own(db: &TestDb) {
    let store = db.store().await;
    let quest = testing::active_quest(&store, "link", ValidatorConfig::Manual).await;
    let gamers = Gamers::new(store.clone(), HOUR_MS);
    let actor = |wallet: &'static str| {
        let store = store.clone();
        async move {
            let wallet = payquest_domain::gamers::WalletAddress::parse(wallet).expect("wallet");
            let gamer = store
                .gamer_for_wallet(wallet.as_str(), now_ms())
                .await
                .expect("gamer");
            Gamers::new(store.clone(), HOUR_MS)
                .actor(&GamerSession {
                    gamer_id: gamer.gamer_id,
                    wallet: gamer.wallet,
                    started_at_ms: now_ms(),
                })
                .await
                .expect("gamer")
        }
    };
    let a = actor("0x00000000000000000000000000000000000a11ce").await;
    let b = actor("0x00000000000000000000000000000000000000b0").await;
    gamers
        .link_account(&a, "game", "player-7", None)
        .await
        .expect("link");
    gamers
        .link_account(&a, "social", "@alice", None)
        .await
        .expect("link");
    for (kind, account) in [("game", "bad value"), ("chat", "x"), ("game", "")] {
        assert!(
            matches!(
                gamers.link_account(&a, kind, account, None).await,
                Err(DomainError::InvalidField { .. })
            ),
            "{kind} {account:?}"
        );
    }
    assert!(matches!(
        gamers.link_account(&b, "game", "player-7", None).await,
        Err(DomainError::Conflict(_))
    ));
    let mine = gamers.my_profile(&a).await.expect("profile");
    assert_eq!(
        mine.accounts
            .iter()
            .map(|x| (x.kind.as_str(), x.account.as_str()))
            .collect::<Vec<_>>(),
        vec![("game", "player-7"), ("social", "@alice")]
    );
    assert_eq!(mine.quests.len(), 1);
    assert_eq!(mine.quests[0].state, "open");
    assert!(gamers
        .my_profile(&b)
        .await
        .expect("profile")
        .accounts
        .is_empty());

    // A report for A that names no account is validated with A's.
    use payquest_domain::activities::{Activities, ActivityIn};
    let principal = testing::game_server(&store, "Linked").await;
    Activities::new(store.clone())
        .ingest(
            &principal,
            &[ActivityIn {
                external_id: "linked-1".into(),
                quest_id: quest,
                wallet: a.wallet.as_str().to_owned(),
                game_account_id: None,
                social_handle: None,
                occurred_at: payquest_domain::clock::format_ms(now_ms() - 1_000),
                evidence: None,
                signature: None,
            }],
        )
        .await
        .expect("ingest");
    let claimed = store
        .claim_activities(now_ms(), 60_000, 10, true)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].game_account_id.as_deref(), Some("player-7"));
    assert_eq!(claimed[0].social_handle.as_deref(), Some("@alice"));

    gamers
        .unlink_account(&a, "social", "@alice", None)
        .await
        .expect("unlink");
    assert!(matches!(
        gamers.unlink_account(&a, "social", "@alice", None).await,
        Err(DomainError::NotFound(_))
    ));
    let trail = store.list_audit(None, 50).await.expect("audit");
    let count = |action: &str| trail.iter().filter(|e| e.action == action).count();
    assert_eq!(count("gamer.account_linked"), 2);
    assert_eq!(count("gamer.account_unlinked"), 1);
}
on_both_backends!(
    linked_accounts_on,
    crate::gamers::linked_accounts_are_the_gamers_own
);
