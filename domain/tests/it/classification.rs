//! Data classification: every column of the migrated schema is classified
//! in `payquest_domain::classification`, on both databases, and nothing
//! classified there is missing from the schema.

use std::collections::BTreeSet;

use payquest_domain::classification::{class_of, classified, Class};
use payquest_domain::on_both_backends;
use payquest_domain::store::Backend;
use payquest_domain::testing::TestDb;

async fn columns(db: &TestDb) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
            sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&pool)
            .await
            .expect("columns")
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            sqlx::query_as(
                // A partition's columns are its partitioned table's.
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%' \
                 AND table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition)",
            )
            .fetch_all(&pool)
            .await
            .expect("columns")
        }
    };
    rows.into_iter().collect()
}

async fn every_column_is_classified(db: &TestDb) {
    // Migrated by opening the store.
    let _store = db.store().await;
    let schema = columns(db).await;
    assert!(
        schema.len() > 300,
        "the schema was read: {} columns",
        schema.len()
    );
    let unclassified: Vec<_> = schema
        .iter()
        .filter(|(t, c)| class_of(t, c).is_none())
        .collect();
    assert!(
        unclassified.is_empty(),
        "classify these columns in domain/src/classification.rs: {unclassified:?}"
    );
    let stale: Vec<_> = classified()
        .filter(|(t, c, _)| !schema.contains(&((*t).to_owned(), (*c).to_owned())))
        .collect();
    assert!(
        stale.is_empty(),
        "classified but not in the schema: {stale:?}"
    );
    // Each column once, and the secrets where they belong.
    assert_eq!(classified().count(), schema.len());
    for (t, c) in [
        ("staff_user", "password_hash"),
        ("staff_user", "totp_secret"),
        ("signing_key", "private_pkcs8"),
        ("web_session", "data_json"),
        ("api_client", "secret_hash"),
    ] {
        assert_eq!(class_of(t, c), Some(Class::Sensitive), "{t}.{c}");
    }
}
on_both_backends!(
    classification_on,
    crate::classification::every_column_is_classified
);
