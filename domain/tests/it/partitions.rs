//! Month partitions: on PostgreSQL the migration leaves this month's and the
//! next three months' partitions of activities and attempts, a reported
//! activity lands in its month's, and the worker creates later months once,
//! however many replicas race to; SQLite has none and needs none.

use payquest_domain::clock::now_ms;
use payquest_domain::on_both_backends;
use payquest_domain::partitions::{ensure, months, MONTHS_AHEAD};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::testing::{self, TestDb};

const MONTH_MS: i64 = 31 * 86_400_000;

async fn month_partitions(db: &TestDb) {
    let store = db.store().await;
    let now = now_ms();
    if !db.is_postgres() {
        assert!(ensure(&store, now).await.expect("ensure").is_empty());
        return;
    }
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    let this_month = &months(now, 0)[0].0;
    assert!(
        ensure(&store, now).await.expect("ensure").is_empty(),
        "the migration made this month's and the next {MONTHS_AHEAD}"
    );
    let quest = testing::active_quest(&store, "parts", ValidatorConfig::Manual).await;
    let id = testing::earn_reward(&store, quest, 1).await;
    let (table, attempts): (String, String) = sqlx::query_as(
        "SELECT (SELECT a.tableoid::regclass::text FROM activity a WHERE a.activity_id = $1), \
                (SELECT t.tableoid::regclass::text FROM activity_attempt t WHERE t.activity_id = $1 LIMIT 1)",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("partition of the row");
    assert_eq!(table, format!("activity_{this_month}"));
    assert_eq!(attempts, format!("activity_attempt_{this_month}"));

    // Half a year on, two replicas race to make the missing months.
    let later = now + 6 * MONTH_MS;
    let (a, b) = tokio::join!(ensure(&store, later), ensure(&store, later));
    let mut made = a.expect("one replica");
    made.extend(b.expect("the other"));
    made.sort();
    let before = made.len();
    made.dedup();
    assert_eq!(before, made.len(), "each partition made once");
    assert_eq!(made.len(), 2 * (MONTHS_AHEAD as usize + 1), "{made:?}");
    assert!(ensure(&store, later).await.expect("again").is_empty());
    let partitions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent \
         WHERE p.relname IN ('activity', 'activity_attempt')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    // Default partitions, the migration's months (at least four each) and the new ones.
    assert!(partitions >= 2 + 8 + made.len() as i64, "{partitions}");
}
on_both_backends!(partitions_on, crate::partitions::month_partitions);
