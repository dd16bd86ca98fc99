//! Leaderboards: the scores kept by the validation transaction rank exactly
//! as one plain SQL ranking over the validated activities does, ties broken
//! as documented (earliest to reach the score, then the lower gamer id), at
//! 100,000 activities across 10,000 gamers; and a closed period does not
//! move when later activities are validated.

use std::collections::BTreeSet;

use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::api_clients::{ApiClients, ClientAdmin, MachinePrincipal, Scope};
use payquest_domain::clock::{format_ms, now_ms};
use payquest_domain::on_both_backends;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::review::Reviews;
use payquest_domain::store::{DynStore, LeaderboardDef};
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{CampaignId, QuestId, Role};
use payquest_domain::validation::{Validation, ValidationPolicy, ValidatorSecrets};

/// The ranking as one plain statement: (gamer, points, tokens, reached).
fn plain_ranking(campaign: CampaignId, tokens: bool, ends_at_ms: Option<i64>) -> String {
    let score = if tokens {
        "CAST(SUM(p.amount_minor) AS BIGINT)"
    } else {
        "COUNT(*)"
    };
    let window = ends_at_ms
        .map(|e| format!(" AND a.occurred_at_ms < {e} AND a.validated_at_ms < {e}"))
        .unwrap_or_default();
    format!(
        "SELECT p.gamer_id, COUNT(*), CAST(SUM(p.amount_minor) AS BIGINT), MAX(a.occurred_at_ms) \
         FROM payout_item p JOIN activity a ON a.activity_id = p.activity_id \
         WHERE p.campaign_id = {campaign}{window} GROUP BY p.gamer_id \
         ORDER BY {score} DESC, MAX(a.occurred_at_ms) ASC, p.gamer_id ASC"
    )
}

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

async fn principal(store: &DynStore) -> MachinePrincipal {
    let creds = ApiClients::new(store.clone())
        .create(ClientAdmin::Cli, "Leaderboard test", "activities:write")
        .await
        .expect("client");
    let client = store
        .api_client(&creds.client_id)
        .await
        .expect("read")
        .expect("exists");
    MachinePrincipal {
        api_client_id: client.api_client_id,
        client_id: client.client_id,
        scopes: BTreeSet::from([Scope::ActivitiesWrite]),
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
    let who = principal(&store).await;
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
    let plain = db.rows(&plain_ranking(campaign, false, None)).await;
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
        db.rows(&plain_ranking(campaign, false, Some(sprint_end)))
            .await
    );
    let open = db.rows(&plain_ranking(campaign, false, None)).await;
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
    let who = principal(&store).await;
    let hex = if db.is_postgres() {
        "lpad(to_hex(i), 40, '0')"
    } else {
        "printf('%040x', i)"
    };
    let n = |max: u32| {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {max})")
    };
    db.execute(&format!(
        "{} INSERT INTO gamer (wallet, created_at_ms) SELECT '0x' || {hex}, 0 FROM n",
        n(10_000)
    ))
    .await;
    // Every gamer has one activity, the rest go unevenly (i² mod 10,000);
    // times repeat every 500 activities, so full ties are common.
    db.execute(&format!(
        "{} INSERT INTO activity (api_client_id, external_id, payload_hash, quest_id, gamer_id, status, \
         next_attempt_at_ms, occurred_at_ms, received_at_ms, validated_at_ms, rewarded_at_ms) \
         SELECT {client}, 'scale-' || i, 'x', {quest}, g.gamer_id, 'validated', 0, \
           1000000 + (i % 500) * 1000, 1000000, 2000000, 2000000 \
         FROM n JOIN gamer g ON g.wallet = '0x' || {g}",
        n(100_000),
        client = who.api_client_id,
        g = if db.is_postgres() {
            "lpad(to_hex(CASE WHEN i <= 10000 THEN i ELSE (CAST(i AS BIGINT) * i) % 10000 + 1 END), 40, '0')"
        } else {
            "printf('%040x', CASE WHEN i <= 10000 THEN i ELSE (CAST(i AS BIGINT) * i) % 10000 + 1 END)"
        },
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO payout_item (activity_id, quest_id, campaign_id, gamer_id, amount_minor, state, created_at_ms) \
         SELECT activity_id, quest_id, {campaign}, gamer_id, (activity_id % 3 + 1) * 1000000, 'eligible', 2000000 \
         FROM activity WHERE external_id LIKE 'scale-%'"
    ))
    .await;
    for (slug, by) in [("scale-points", "points"), ("scale-tokens", "tokens")] {
        let id = store
            .define_leaderboard(&rule(slug, campaign, by, None), now_ms())
            .await
            .expect("define");
        let plain = db
            .rows(&plain_ranking(campaign, by == "tokens", None))
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
