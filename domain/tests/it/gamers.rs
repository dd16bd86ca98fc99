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
