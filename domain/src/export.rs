//! Copies of the database: `payquest backup OUT` (an online, consistent copy
//! of a SQLite database) and `payquest export --masked OUT` (a SQLite copy of
//! either database for non-production use, masked by the columns'
//! classification).
//!
//! What the masked copy does with each class (`classification`):
//!
//! - public and internal columns are copied as they are (ids, states, times,
//!   published content, transaction hashes);
//! - confidential text is replaced by a keyed hash of it (HMAC-SHA256 under a
//!   key drawn for this export and then forgotten), in the value's own shape:
//!   a wallet becomes another valid address (checksummed if the original
//!   was; wallets are masked in public columns too), an email
//!   `<hash>@masked.invalid`, JSON keeps its keys and numbers with every
//!   text in it masked, other text `masked-<hash>`. The same value gives the
//!   same mask in every table, so joins and uniqueness still hold, and
//!   nothing leads back to it;
//! - confidential numbers (amounts, budgets) are kept, so the copy's ledger
//!   still balances;
//! - sensitive columns (password and code hashes, TOTP seeds, private keys,
//!   session contents, nonces) are removed: NULL, or empty where the schema
//!   requires a value. Nobody can sign in to the copy with a production
//!   credential; `payquest create-admin` makes an account there.
//!
//! The original values never reach the output file: rows are masked in
//! memory and inserted into a freshly migrated database.

use std::path::Path;

use futures::TryStreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{Column, Connection, Row, TypeInfo, ValueRef};

use crate::classification::{classified, Class};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} exists already; choose a new file")]
    Exists(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{table}.{column}: a value of type {kind} cannot be copied")]
    Type {
        table: String,
        column: String,
        kind: String,
    },
    #[error("the copy does not hold together: {0}")]
    Integrity(String),
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub tables: usize,
    pub rows: u64,
    /// Confidential values replaced by their mask.
    pub masked: u64,
    /// Sensitive values removed.
    pub removed: u64,
}

/// A column's value, as both databases hold ours.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Masks values consistently under one key.
pub struct Masker {
    key: [u8; 32],
}

impl Masker {
    /// A masker with a fresh random key (nothing can be unmasked later).
    pub fn random() -> Self {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { key }
    }

    pub fn with_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn digest(&self, text: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The mask of a wallet address: another valid address, checksummed
    /// if the original was, the same for any spelling of one wallet.
    pub fn address(&self, value: &str) -> String {
        let d = self.digest(&value.to_ascii_lowercase());
        let masked = crate::chain::Address::from_slice(&d[..20]);
        if value[2..].chars().any(|c| c.is_ascii_uppercase()) {
            masked.to_checksum(None)
        } else {
            masked.to_checksum(None).to_ascii_lowercase()
        }
    }

    /// The mask of a confidential text value, in its own shape.
    pub fn text(&self, value: &str) -> String {
        if is_address(value) {
            return self.address(value);
        }
        let trimmed = value.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(value) {
                self.json_leaves(&mut json);
                return json.to_string();
            }
        }
        let d = hex::encode(&self.digest(value)[..12]);
        // By shape, not by column: an email is masked the same in the staff
        // table and in the audit trail that names the person.
        if is_email(value) {
            format!("{d}@masked.invalid")
        } else {
            format!("masked-{d}")
        }
    }

    /// JSON keeps its keys, numbers and switches (so it still reads as the
    /// same kind of document); every text in it is masked.
    fn json_leaves(&self, json: &mut serde_json::Value) {
        match json {
            serde_json::Value::String(s) => *s = self.text(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.json_leaves(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.json_leaves(v)),
            _ => {}
        }
    }
}

fn is_email(v: &str) -> bool {
    v.len() <= 254
        && !v.contains(char::is_whitespace)
        && v.split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
}

fn is_address(v: &str) -> bool {
    v.len() == 42 && v.starts_with("0x") && v[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A target column: its class, whether it holds integers, whether it may be NULL.
struct TargetColumn {
    class: Class,
    integer: bool,
    not_null: bool,
}

impl TargetColumn {
    /// What the copy holds for `value`; counts what was masked or removed.
    fn copy(&self, masker: &Masker, value: Val, report: &mut ExportReport) -> Val {
        match (self.class, value) {
            (_, Val::Null) => Val::Null,
            // A wallet is a person's wherever it is written, even in a
            // column that is public on chain: masked the same everywhere so
            // the copy's joins by wallet still hold.
            (Class::Public, Val::Text(t)) if is_address(&t) => {
                report.masked += 1;
                Val::Text(masker.address(&t))
            }
            (Class::Public | Class::Internal, v) => v,
            (Class::Sensitive, _) => {
                report.removed += 1;
                match (self.not_null, self.integer) {
                    (false, _) => Val::Null,
                    (true, true) => Val::Int(0),
                    (true, false) => Val::Text(String::new()),
                }
            }
            (Class::Confidential, Val::Text(t)) => {
                report.masked += 1;
                Val::Text(masker.text(&t))
            }
            (Class::Confidential, Val::Blob(b)) => {
                report.masked += 1;
                Val::Blob(masker.digest(&hex::encode(b)).to_vec())
            }
            (Class::Confidential, v) => v,
        }
    }
}

/// The tables of the schema in the classification's order, each with its
/// columns and their classes.
fn tables() -> Vec<(&'static str, Vec<(&'static str, Class)>)> {
    let mut out: Vec<(&'static str, Vec<(&'static str, Class)>)> = Vec::new();
    for (table, column, class) in classified() {
        match out.iter_mut().find(|(t, _)| *t == table) {
            Some((_, cols)) => cols.push((column, class)),
            None => out.push((table, vec![(column, class)])),
        }
    }
    out
}

fn quoted(columns: &[(&str, Class)]) -> String {
    columns
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sqlite_path(url: &str) -> &str {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or(path)
}

fn refuse_existing(out: &Path) -> Result<(), ExportError> {
    if out.exists() {
        return Err(ExportError::Exists(out.display().to_string()));
    }
    Ok(())
}

/// `payquest backup OUT`: an online copy of a SQLite database that is
/// consistent as of one moment (`VACUUM INTO`, which reads in one
/// transaction while writers go on). PostgreSQL is backed up with its own
/// tools (`pg_dump`, or the provider's point-in-time recovery).
pub async fn backup(database_url: &str, out: &Path) -> Result<(), ExportError> {
    if !database_url.starts_with("sqlite:") {
        return Err(ExportError::Unsupported(
            "payquest backup copies SQLite databases; back PostgreSQL up with pg_dump \
             or point-in-time recovery (see the README's operations section)"
                .into(),
        ));
    }
    refuse_existing(out)?;
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", sqlite_path(database_url)))
            .await?;
    sqlx::query("VACUUM INTO ?")
        .bind(out.display().to_string())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// `payquest export --masked OUT`: a new SQLite database at `out` with
/// every row of the database at `database_url` (SQLite or PostgreSQL),
/// masked as the module says.
pub async fn export_masked(
    database_url: &str,
    out: &Path,
    masker: &Masker,
) -> Result<ExportReport, ExportError> {
    refuse_existing(out)?;
    let out_url = format!("sqlite://{}", out.display());
    // Migrated as any database of ours, then emptied of what migrations seed.
    drop(crate::store::connect(&out_url).await?);
    let mut target = sqlx::SqliteConnection::connect(&out_url).await?;
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut target)
        .await?;
    let mut report = ExportReport::default();
    let postgres = database_url.starts_with("postgres:") || database_url.starts_with("postgresql:");
    let mut source = Source::open(database_url, postgres).await?;
    for (table, columns) in tables() {
        let info: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\" FROM pragma_table_info(?)")
                .bind(table)
                .fetch_all(&mut target)
                .await?;
        let target_columns: Vec<TargetColumn> = columns
            .iter()
            .map(|(name, class)| {
                let (_, kind, not_null) = info
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .cloned()
                    .unwrap_or_default();
                TargetColumn {
                    class: *class,
                    integer: kind.to_ascii_uppercase().contains("INT")
                        || kind.eq_ignore_ascii_case("BOOLEAN"),
                    not_null: not_null != 0,
                }
            })
            .collect();
        let mut tx = target.begin().await?;
        sqlx::query(&format!("DELETE FROM \"{table}\""))
            .execute(&mut *tx)
            .await?;
        let insert = format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({})",
            quoted(&columns),
            vec!["?"; columns.len()].join(", ")
        );
        let select = format!("SELECT {} FROM \"{table}\"", quoted(&columns));
        let mut rows = source.rows(&select, table);
        while let Some(values) = rows.try_next().await? {
            let mut q = sqlx::query(&insert);
            for (col, value) in target_columns.iter().zip(values) {
                q = match col.copy(masker, value, &mut report) {
                    Val::Null => q.bind(None::<String>),
                    Val::Int(i) => q.bind(i),
                    Val::Real(f) => q.bind(f),
                    Val::Text(t) => q.bind(t),
                    Val::Blob(b) => q.bind(b),
                };
            }
            q.execute(&mut *tx).await?;
            report.rows += 1;
        }
        drop(rows);
        tx.commit().await?;
        report.tables += 1;
    }
    let broken: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
            .fetch_all(&mut target)
            .await?;
    if let Some((table, rowid, parent)) = broken.first() {
        return Err(ExportError::Integrity(format!(
            "{} rows point at missing rows, e.g. {table} row {rowid} → {parent}",
            broken.len()
        )));
    }
    // One self-contained file: no WAL beside it.
    sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&mut target)
        .await?;
    sqlx::query("VACUUM").execute(&mut target).await?;
    target.close().await?;
    Ok(report)
}

/// Where the rows come from.
enum Source {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

type RowStream<'a> = futures::stream::BoxStream<'a, Result<Vec<Val>, ExportError>>;

impl Source {
    async fn open(url: &str, postgres: bool) -> Result<Self, ExportError> {
        Ok(if postgres {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            // One snapshot for the whole export: the copy is of one moment.
            sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut conn)
                .await?;
            Source::Postgres(conn)
        } else {
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", sqlite_path(url)))
                    .await?;
            sqlx::query("BEGIN").execute(&mut conn).await?;
            Source::Sqlite(conn)
        })
    }

    fn rows<'a>(&'a mut self, select: &'a str, table: &'static str) -> RowStream<'a> {
        match self {
            Source::Sqlite(conn) => Box::pin(
                sqlx::query(select)
                    .fetch(conn)
                    .map_err(ExportError::from)
                    .and_then(move |row| async move { sqlite_values(&row, table) }),
            ),
            Source::Postgres(conn) => Box::pin(
                sqlx::query(select)
                    .fetch(conn)
                    .map_err(ExportError::from)
                    .and_then(move |row| async move { pg_values(&row, table) }),
            ),
        }
    }
}

fn type_error(table: &str, column: &str, kind: &str) -> ExportError {
    ExportError::Type {
        table: table.to_owned(),
        column: column.to_owned(),
        kind: kind.to_owned(),
    }
}

fn sqlite_values(row: &sqlx::sqlite::SqliteRow, table: &str) -> Result<Vec<Val>, ExportError> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Val::Null);
            }
            let kind = raw.type_info().name().to_owned();
            Ok(match kind.as_str() {
                "INTEGER" | "BOOLEAN" | "INT8" | "BIGINT" => Val::Int(row.try_get(i)?),
                "REAL" => Val::Real(row.try_get(i)?),
                "TEXT" => Val::Text(row.try_get(i)?),
                "BLOB" => Val::Blob(row.try_get(i)?),
                other => return Err(type_error(table, row.column(i).name(), other)),
            })
        })
        .collect()
}

fn pg_values(row: &sqlx::postgres::PgRow, table: &str) -> Result<Vec<Val>, ExportError> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Val::Null);
            }
            let kind = raw.type_info().name().to_owned();
            Ok(match kind.as_str() {
                "INT8" => Val::Int(row.try_get(i)?),
                "INT4" => Val::Int(row.try_get::<i32, _>(i)?.into()),
                "INT2" => Val::Int(row.try_get::<i16, _>(i)?.into()),
                "BOOL" => Val::Int(row.try_get::<bool, _>(i)?.into()),
                "FLOAT8" => Val::Real(row.try_get(i)?),
                "FLOAT4" => Val::Real(row.try_get::<f32, _>(i)?.into()),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Val::Text(row.try_get(i)?),
                "BYTEA" => Val::Blob(row.try_get(i)?),
                other => return Err(type_error(table, row.column(i).name(), other)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_their_shape_and_are_consistent() {
        let m = Masker::with_key([7; 32]);
        let checksummed = "0x52908400098527886E0F7030069857D2E4169EE7";
        let lower = checksummed.to_ascii_lowercase();
        let a = m.text(checksummed);
        let b = m.text(&lower);
        assert!(is_address(&a) && is_address(&b), "{a} {b}");
        assert_eq!(a.to_ascii_lowercase(), b, "the same wallet in any case");
        assert_ne!(b, lower);
        assert!(a[2..].chars().any(|c| c.is_ascii_uppercase()), "{a}");
        assert!(m.text("ann@example.com").ends_with("@masked.invalid"));
        assert_eq!(m.text("ann@example.com"), m.text("ann@example.com"));
        let json = m
            .text("{\"url\":\"x\",\"n\":3,\"w\":[\"0x52908400098527886e0f7030069857d2e4169ee7\"]}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(v["n"], 3);
        assert!(v["url"].as_str().expect("text").starts_with("masked-"));
        assert_eq!(v["w"][0], b.as_str());
        assert!(m.text("pay Ann").starts_with("masked-"));
        assert_ne!(
            Masker::with_key([8; 32]).text("pay Ann"),
            m.text("pay Ann"),
            "another export, another key"
        );
    }
}
