//! Month partitions of the activity and attempt tables (PostgreSQL; SQLite
//! has none). The worker on every replica makes sure this month's and the
//! next months' partitions exist, well before a row could need them: a row
//! outside every partition lands in the DEFAULT partition, and a month that
//! has rows there can no longer get a partition of its own.

use crate::store::{DynStore, StoreResult};

/// Months created ahead of the current one.
pub const MONTHS_AHEAD: u32 = 3;

/// `(YYYYMM, first ms, first ms of the next month)` of the month of
/// `now_ms` and the `ahead` months after it, in UTC.
pub fn months(now_ms: i64, ahead: u32) -> Vec<(String, i64, i64)> {
    let now = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (mut year, mut month) = (now.year(), now.month());
    let start_of = |y: i32, m: time::Month| {
        time::Date::from_calendar_date(y, m, 1)
            .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
            .unwrap_or(0)
    };
    (0..=ahead)
        .map(|_| {
            let (ny, nm) = if month == time::Month::December {
                (year + 1, time::Month::January)
            } else {
                (year, month.next())
            };
            let out = (
                format!("{year:04}{:02}", month as u8),
                start_of(year, month),
                start_of(ny, nm),
            );
            (year, month) = (ny, nm);
            out
        })
        .collect()
}

/// One pass: the partitions it created.
pub async fn ensure(store: &DynStore, now_ms: i64) -> StoreResult<Vec<String>> {
    let created = store.ensure_partitions(now_ms, MONTHS_AHEAD).await?;
    if !created.is_empty() {
        tracing::info!(?created, "created month partitions");
    }
    Ok(created)
}

/// Checks every `every` until `stop` turns true.
pub async fn run(
    store: DynStore,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = ensure(&store, crate::clock::now_ms()).await {
            tracing::warn!(error = %e, "creating month partitions failed; trying again later");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_roll_over_the_year() {
        // 2026-11-15T00:00:00Z
        let m = super::months(1_763_164_800_000, 2);
        let names: Vec<&str> = m.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["202511", "202512", "202601"]);
        assert_eq!(m[0].2, m[1].1, "contiguous");
        assert_eq!(m[1].1, 1_764_547_200_000, "2025-12-01T00:00:00Z");
    }
}
