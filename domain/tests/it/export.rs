//! The masked export and the SQLite backup: every row is copied, no
//! personal value or secret of the source reaches the copy's file, one value
//! is masked the same in every table (and two values never alike), money
//! figures are kept, and the copy opens as a database of ours.

use std::collections::HashMap;

use payquest_domain::classification::{classified, Class};
use payquest_domain::export::{backup, export_masked, ExportError, Masker};
use payquest_domain::on_both_backends;
use payquest_domain::store::Backend;
use payquest_domain::testing::{TestDb, World};

/// `(key, text)` rows of a query on either database, as text.
async fn pairs(url: &str, backend: Backend, sql: &str) -> Vec<(String, Option<String>)> {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
            sqlx::query_as(sql).fetch_all(&pool).await.expect(sql)
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("connect");
            sqlx::query_as(sql).fetch_all(&pool).await.expect(sql)
        }
    }
}

async fn count(url: &str, backend: Backend, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{table}\"");
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
            sqlx::query_scalar(&sql)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("connect");
            sqlx::query_scalar(&sql)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    }
}

fn tables() -> Vec<&'static str> {
    let mut t: Vec<&str> = classified().map(|(t, _, _)| t).collect();
    t.dedup();
    t
}

async fn masked_copy_of_the_database(db: &TestDb) {
    let world = World::new(db, 4, 100).await;
    let store = world.store.clone();

    let dir = std::env::temp_dir().join(format!("pq-export-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("masked.db");
    let report = export_masked(&db.url, &out, &Masker::random())
        .await
        .expect("export");
    assert!(report.masked > 0 && report.removed > 0, "{report:?}");
    let copy = format!("sqlite://{}", out.display());

    // Every row of every table.
    let mut rows = 0;
    for table in tables() {
        let (a, b) = (
            count(&db.url, db.backend, table).await,
            count(&copy, Backend::Sqlite, table).await,
        );
        assert_eq!(a, b, "{table}: rows copied");
        rows += a;
    }
    assert_eq!(report.rows, rows as u64);

    // Confidential text and every secret: none of the source's values are
    // in the copy's file; masks are consistent and never merge two values.
    let bytes = std::fs::read(&out).expect("read copy");
    let contains = |needle: &str| {
        !needle.is_empty()
            && bytes
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    let mut mask_of: HashMap<String, String> = HashMap::new();
    let mut checked = 0;
    for (table, column, class) in classified() {
        if !matches!(class, Class::Confidential | Class::Sensitive) {
            continue;
        }
        let key = format!("{table}_id");
        if !classified().any(|(t, c, _)| t == table && c == key) {
            continue;
        }
        let sql = format!(
            "SELECT CAST(\"{key}\" AS TEXT), CAST(\"{column}\" AS TEXT) FROM \"{table}\" ORDER BY \"{key}\""
        );
        let before = pairs(&db.url, db.backend, &sql).await;
        let after: HashMap<String, Option<String>> = pairs(&copy, Backend::Sqlite, &sql)
            .await
            .into_iter()
            .collect();
        for (id, value) in before {
            let Some(value) = value else { continue };
            let masked = after.get(&id).cloned().flatten();
            if class == Class::Sensitive {
                assert!(
                    matches!(masked.as_deref(), None | Some("" | "0")),
                    "{table}.{column} kept a secret"
                );
            } else if value.parse::<i64>().is_ok() {
                assert_eq!(
                    masked.as_deref(),
                    Some(value.as_str()),
                    "{table}.{column}: figures kept"
                );
                continue;
            } else {
                let masked = masked.expect("masked value");
                assert_ne!(masked, value, "{table}.{column} masked");
                // JSON is masked leaf by leaf; other text as a whole.
                if !value.starts_with('{') && !value.starts_with('[') {
                    if let Some(earlier) = mask_of.insert(value.clone(), masked.clone()) {
                        assert_eq!(earlier, masked, "{value:?}: one mask everywhere");
                    }
                }
            }
            if value.len() >= 6 {
                assert!(
                    !contains(&value),
                    "{table}.{column}: {value:?} is in the copy"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "values checked: {checked}");
    let mut masks: Vec<&String> = mask_of.values().collect();
    masks.sort();
    masks.dedup();
    assert_eq!(masks.len(), mask_of.len(), "two values never share a mask");
    for wallet in (0..4u64).map(|n| format!("{:040x}", 0xbeef_0000 + n)) {
        assert!(!contains(&wallet), "the wallet {wallet} is in the copy");
    }

    // Money figures kept: the copy's ledger still balances and agrees.
    let opened = payquest_domain::store::connect(&copy)
        .await
        .expect("open copy");
    assert!(opened
        .ledger_discrepancies()
        .await
        .expect("check")
        .is_empty());
    let cc = opened
        .cost_centre(world.cost_centre_id)
        .await
        .expect("read")
        .expect("cost centre");
    let original = store
        .cost_centre(world.cost_centre_id)
        .await
        .expect("read")
        .expect("cost centre");
    assert_eq!(
        (cc.funded.minor(), cc.reserved.minor()),
        (original.funded.minor(), original.reserved.minor())
    );
    drop(opened);

    // A second export never overwrites a file.
    assert!(matches!(
        export_masked(&db.url, &out, &Masker::random()).await,
        Err(ExportError::Exists(_))
    ));

    // The backup: SQLite copies itself online; PostgreSQL is told to use
    // its own tools.
    let copy_path = dir.join("backup.db");
    match db.backend {
        Backend::Sqlite => {
            backup(&db.url, &copy_path).await.expect("backup");
            let url = format!("sqlite://{}", copy_path.display());
            for table in tables() {
                assert_eq!(
                    count(&db.url, db.backend, table).await,
                    count(&url, Backend::Sqlite, table).await,
                    "{table}: backed up"
                );
            }
        }
        Backend::Postgres => assert!(matches!(
            backup(&db.url, &copy_path).await,
            Err(ExportError::Unsupported(_))
        )),
    }
    std::fs::remove_dir_all(&dir).ok();
}
on_both_backends!(masked_export_on, crate::export::masked_copy_of_the_database);
