//! `make bench-leaderboard`: 100,000 validated activities across 10,000
//! gamers, on SQLite and on PostgreSQL, in the same run:
//!
//! - the cost of keeping the score (the upsert the validation transaction
//!   runs for each validated activity), beside recomputing the ranking with
//!   one SQL statement over the activities (the baseline);
//! - ranking reads: a page from the score table, and the public page's
//!   ranking through `Leaderboards::view` (kept a few seconds per replica),
//!   beside the same recompute.
//!
//! Ratios last: how many score updates one recompute costs, and how many
//! times faster a ranking page is than a recompute.

use std::time::{Duration, Instant};

use payquest_domain::leaderboards::Leaderboards;
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::store::{DynStore, LeaderboardDef, SCORE_ACTIVITY};
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{CampaignId, ContentType, PublishedContent};
use sqlx::Connection;

const ACTIVITIES: u32 = 100_000;
const GAMERS: u32 = 10_000;
const UPDATES: u32 = 5_000;
const READ_FOR: Duration = Duration::from_secs(2);

struct Figures {
    backend: &'static str,
    recompute_ms: f64,
    update_us: f64,
    page_us: f64,
    view_per_s: f64,
}

async fn time_until<F, Fut>(budget: Duration, mut f: F) -> (u64, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        f().await;
        n += 1;
    }
    (n, start.elapsed())
}

/// Score upserts inside one transaction (as validation runs them, beside
/// its other writes), rolled back: µs per activity.
async fn update_cost(db: &TestDb, campaign: CampaignId) -> f64 {
    async fn run<C>(conn: &mut C, sql: &str, campaign: CampaignId) -> Duration
    where
        C: Connection,
        for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
        for<'q> i64: sqlx::Encode<'q, C::Database> + sqlx::Type<C::Database>,
        for<'q> <C::Database as sqlx::Database>::Arguments<'q>:
            sqlx::IntoArguments<'q, C::Database>,
    {
        let mut tx = conn.begin().await.expect("begin");
        let start = Instant::now();
        for i in 0..i64::from(UPDATES) {
            sqlx::query(sql)
                .bind((i * 7_919) % i64::from(GAMERS) + 1)
                .bind(1_000_000_i64)
                .bind(1_500_000_i64)
                .bind(campaign.get())
                .bind(2_500_000_i64)
                .execute(&mut *tx)
                .await
                .expect("score");
        }
        let took = start.elapsed();
        tx.rollback().await.expect("rollback");
        took
    }
    let took = if db.is_postgres() {
        let sql = SCORE_ACTIVITY.replace("{lock}", " FOR SHARE OF l");
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        run(&mut c, &sql, campaign).await
    } else {
        let sql = SCORE_ACTIVITY.replace("{lock}", "");
        let mut c = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        run(&mut c, &sql, campaign).await
    };
    took.as_secs_f64() * 1e6 / f64::from(UPDATES)
}

async fn measure(db: &TestDb, backend: &'static str) -> Figures {
    let store: DynStore = db.store().await;
    let quest = testing::active_quest(&store, "bench", ValidatorConfig::Manual).await;
    let campaign = store
        .quest(quest)
        .await
        .expect("read")
        .expect("quest")
        .campaign_id;
    let seeded = Instant::now();
    testing::seed_validated_activities(db, &store, quest, campaign, ACTIVITIES, GAMERS).await;
    eprintln!(
        "{backend}: seeded {ACTIVITIES} activities in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    db.execute("ANALYZE").await;

    let rule = LeaderboardDef {
        slug: "bench".into(),
        campaign_id: Some(campaign),
        ranked_by: "points".into(),
        starts_at_ms: 0,
        ends_at_ms: None,
    };
    let id = store
        .define_leaderboard(&rule, payquest_domain::clock::now_ms())
        .await
        .expect("define");

    // Baseline: the ranking's first page recomputed from the activities.
    let recompute = format!("{} LIMIT 50", testing::plain_ranking(campaign, false, None));
    let (n, took) = time_until(READ_FOR, || async {
        let rows = db.rows(&recompute).await;
        assert_eq!(rows.len(), 50);
    })
    .await;
    let recompute_ms = took.as_secs_f64() * 1e3 / n as f64;

    let update_us = update_cost(db, campaign).await;

    let (n, took) = time_until(READ_FOR, || async {
        let page = store.leaderboard_page(id, 0, 50).await.expect("page");
        assert_eq!(page.len(), 50);
        store.leaderboard_size(id).await.expect("size");
    })
    .await;
    let page_us = took.as_secs_f64() * 1e6 / n as f64;

    let boards = Leaderboards::new(store.clone());
    let entry = PublishedContent {
        content_type: ContentType::Leaderboard,
        slug: "bench".into(),
        locale: "en".into(),
        fields: [
            ("title".to_owned(), "Bench".to_owned()),
            ("campaign_id".to_owned(), campaign.to_string()),
            ("ranked_by".to_owned(), "points".to_owned()),
        ]
        .into_iter()
        .collect(),
        published_at: String::new(),
    };
    let (n, took) = time_until(READ_FOR, || async {
        let view = boards.view(&entry, 1, None).await.expect("view");
        assert_eq!(view.lines.len(), 50);
    })
    .await;
    let view_per_s = n as f64 / took.as_secs_f64();
    Figures {
        backend,
        recompute_ms,
        update_us,
        page_us,
        view_per_s,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut all = Vec::new();
    let sqlite = TestDb::sqlite();
    all.push(measure(&sqlite, "SQLite").await);
    sqlite.cleanup().await;
    match TestDb::postgres().await {
        Some(pg) => {
            all.push(measure(&pg, "PostgreSQL").await);
            pg.cleanup().await;
        }
        None => eprintln!("PostgreSQL not configured (PAYQUEST_TEST_POSTGRES_URL): SQLite only"),
    }
    println!("\n{ACTIVITIES} validated activities, {GAMERS} gamers; ranking page = 50 lines\n");
    println!("| backend | recompute (1 SQL, baseline) | score update per activity | ranking page from scores | public ranking (cached view) |");
    println!("|---|---|---|---|---|");
    for f in &all {
        println!(
            "| {} | {:.1} ms ({:.0}/s) | {:.1} µs | {:.0} µs ({:.0}/s) | {:.0}/s |",
            f.backend,
            f.recompute_ms,
            1e3 / f.recompute_ms,
            f.update_us,
            f.page_us,
            1e6 / f.page_us,
            f.view_per_s
        );
    }
    println!();
    for f in &all {
        println!(
            "{}: one recompute costs as much as {:.0} score updates; a ranking page from the score table is {:.0}× a recompute's rate, the cached public ranking {:.0}×",
            f.backend,
            f.recompute_ms * 1e3 / f.update_us,
            f.recompute_ms * 1e3 / f.page_us,
            f.view_per_s * f.recompute_ms / 1e3
        );
    }
}
