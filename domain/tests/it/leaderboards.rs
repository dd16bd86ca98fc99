//! Leaderboards: the scores kept by the validation transaction rank exactly
//! as one plain SQL ranking over the validated activities does, ties broken
//! as documented (earliest to reach the score, then the lower gamer id), at
//! 100,000 activities across 10,000 gamers; and a closed period does not
//! move when later activities are validated.

use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::api_clients::MachinePrincipal;
use payquest_domain::clock::{format_ms, now_ms};
use payquest_domain::on_both_backends;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::review::Reviews;
use payquest_domain::store::{DynStore, LeaderboardDef};
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{CampaignId, QuestId, Role};
use payquest_domain::validation::{Validation, ValidationPolicy, ValidatorSecrets};

/// Every line of a leaderboard, page by page, as (gamer, points, tokens, reached).
async fn all_lines(store: &DynStore, id: i64) -> Vec<Vec<i64>> {
    let mut out = Vec::new();
    loop {
        let page = store
            .leaderboard_page(id, u32::try_from(out.len()).expect("small"), 500)
            .await
            .expect("page");
        if page.is_empty() {
            return out;
        }
        out.extend(
            page.iter()
                .map(|r| vec![r.gamer_id.get(), r.points, r.tokens_minor, r.reached_at_ms]),
        );
    }
}

fn rule(slug: &str, campaign: CampaignId, by: &str, ends_at_ms: Option<i64>) -> LeaderboardDef {
    LeaderboardDef {
        slug: slug.into(),
        campaign_id: Some(campaign),
        ranked_by: by.into(),
        starts_at_ms: 0,
        ends_at_ms,
    }
}

/// Reports `(gamer number, occurred at)` activities for a manual quest and
/// approves them all in the review queue: the real validation transaction.
async fn validate(
    store: &DynStore,
    who: &MachinePrincipal,
    quest: QuestId,
    tag: &str,
    items: &[(u64, i64)],
) {
    let reviewer = testing::staff(store, &format!("lb-{tag}@example.com"), Role::Community).await;
    for (n, chunk) in items.chunks(100).enumerate() {
        let batch: Vec<ActivityIn> = chunk
            .iter()
            .enumerate()
            .map(|(i, &(gamer, at))| ActivityIn {
                external_id: format!("{tag}-{n}-{i}"),
                quest_id: quest,
                wallet: format!("0x{:040x}", 0xabc0_0000 + gamer),
                game_account_id: None,
                social_handle: None,
                occurred_at: format_ms(at),
                evidence: None,
                signature: None,
            })
            .collect();
        let out = Activities::new(store.clone())
            .ingest(who, &batch)
            .await
            .expect("ingest");
        let ids: Vec<_> = out.iter().map(|o| o.activity_id.expect("stored")).collect();
        let validation = Validation::new(
            store.clone(),
            ValidationPolicy::default(),
            ValidatorSecrets::default(),
        )
        .expect("validation");
        while validation.run_once().await.expect("round") > 0 {}
        let decided = Reviews::new(store.clone())
            .decide(&reviewer, &ids, true, "seen")
            .await
            .expect("approve");
        assert!(decided
            .iter()
            .all(|d| d.status.as_deref() == Some("validated")));
    }
}

async fn scores_follow_validation(db: &TestDb) {
    let store = db.store().await;
    let quest = testing::active_quest(&store, "lb", ValidatorConfig::Manual).await;
    let campaign = store
        .quest(quest)
        .await
        .expect("read")
        .expect("quest")
        .campaign_id;
    let who = testing::game_server(&store, "Leaderboard test").await;
    let now = now_ms();
    // Defined before anything is validated: every score below is written
    // by the validation transaction.
    let sprint_end = now + 4_000;
    let points = store
        .define_leaderboard(&rule("open", campaign, "points", None), now)
        .await
        .expect("define");
    let sprint = store
        .define_leaderboard(&rule("sprint", campaign, "points", Some(sprint_end)), now)
        .await
        .expect("define");
    // 12 gamers, 1 to 4 activities each; several share a score and a time.
    let base = now - 3_600_000;
    let items: Vec<(u64, i64)> = (0..30_u64)
        .map(|i| (i % 12, base + i64::try_from(i % 5).expect("small") * 1_000))
        .collect();
    validate(&store, &who, quest, "first", &items).await;
    let plain = db
        .rows(&testing::plain_ranking(campaign, false, None))
        .await;
    assert_eq!(plain.len(), 12);
    assert_eq!(
        all_lines(&store, points).await,
        plain,
        "incremental = plain SQL"
    );
    assert_eq!(all_lines(&store, sprint).await, plain);
    // Ties: equal points and time rank by the lower gamer id.
    let tied = plain
        .windows(2)
        .filter(|w| w[0][1] == w[1][1] && w[0][3] == w[1][3])
        .count();
    assert!(tied > 0, "the data has full ties");
    // A rank is its place in the ranking.
    for (i, line) in plain.iter().enumerate() {
        let (rank, row) = store
            .leaderboard_rank(points, payquest_domain::types::GamerId(line[0]))
            .await
            .expect("rank")
            .expect("ranked");
        assert_eq!(rank, i64::try_from(i).expect("small") + 1);
        assert_eq!(row.points, line[1]);
    }
    // The same rule defined now is rebuilt with one statement: the same.
    let rebuilt = store
        .define_leaderboard(&rule("open-again", campaign, "points", None), now_ms())
        .await
        .expect("define");
    assert_eq!(all_lines(&store, rebuilt).await, plain);

    // After the sprint's end, more activities (inside its period too):
    // the open board moves, the closed sprint does not.
    let wait = sprint_end - now_ms() + 50;
    if wait > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(wait.unsigned_abs())).await;
    }
    let frozen = all_lines(&store, sprint).await;
    let later: Vec<(u64, i64)> = (0..10_u64).map(|i| (i % 3 + 20, base)).collect();
    validate(&store, &who, quest, "late", &later).await;
    assert_eq!(
        all_lines(&store, sprint).await,
        frozen,
        "a closed sprint is final"
    );
    assert_eq!(
        frozen,
        db.rows(&testing::plain_ranking(campaign, false, Some(sprint_end)))
            .await
    );
    let open = db
        .rows(&testing::plain_ranking(campaign, false, None))
        .await;
    assert_eq!(open.len(), 15);
    assert_eq!(all_lines(&store, points).await, open);
}
on_both_backends!(
    leaderboard_scores_on,
    crate::leaderboards::scores_follow_validation
);

/// 100,000 validated activities across 10,000 gamers (written straight to
/// the tables: the validation path is the test above), ranked by points and
/// by tokens: every line of both rankings as the plain statement has it.
async fn ranking_at_scale(db: &TestDb) {
    let store = db.store().await;
    let quest = testing::active_quest(&store, "scale", ValidatorConfig::Manual).await;
    let campaign = store
        .quest(quest)
        .await
        .expect("read")
        .expect("quest")
        .campaign_id;
    testing::seed_validated_activities(db, &store, quest, campaign, 100_000, 10_000).await;
    for (slug, by) in [("scale-points", "points"), ("scale-tokens", "tokens")] {
        let id = store
            .define_leaderboard(&rule(slug, campaign, by, None), now_ms())
            .await
            .expect("define");
        let plain = db
            .rows(&testing::plain_ranking(campaign, by == "tokens", None))
            .await;
        assert_eq!(plain.len(), 10_000);
        assert_eq!(all_lines(&store, id).await, plain, "{by}");
        for i in [0_usize, 1, 499, 5_000, 9_999] {
            let (rank, _) = store
                .leaderboard_rank(id, payquest_domain::types::GamerId(plain[i][0]))
                .await
                .expect("rank")
                .expect("ranked");
            assert_eq!(rank, i64::try_from(i).expect("small") + 1, "{by} #{i}");
        }
    }
}
on_both_backends!(leaderboard_scale_on, crate::leaderboards::ranking_at_scale);
