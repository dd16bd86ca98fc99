//! The budget ledger's SQL, shared by both backends (see `sql.rs` for why a
//! macro). Every balance change is one guarded UPDATE whose WHERE clause
//! re-checks the invariant under the row lock, plus the journal entries that
//! explain it, in one transaction.

use payquest_types::Amount;
use payquest_types::{CostCentreId, StaffUserId, TransferId};

use super::CostCentreRecord;

pub(super) const COST_CENTRE_COLUMNS: &str =
    "cost_centre_id, code, name, funded_minor, reserved_minor, spent_minor";

#[derive(sqlx::FromRow)]
pub(super) struct CostCentreRow {
    pub cost_centre_id: CostCentreId,
    pub code: String,
    pub name: String,
    pub funded_minor: i64,
    pub reserved_minor: i64,
    pub spent_minor: i64,
}

impl From<CostCentreRow> for CostCentreRecord {
    fn from(r: CostCentreRow) -> Self {
        CostCentreRecord {
            cost_centre_id: r.cost_centre_id,
            code: r.code,
            name: r.name,
            funded: Amount::from_minor(r.funded_minor),
            reserved: Amount::from_minor(r.reserved_minor),
            spent: Amount::from_minor(r.spent_minor),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TransferRow {
    pub budget_transfer_id: TransferId,
    pub from_cost_centre_id: CostCentreId,
    pub to_cost_centre_id: CostCentreId,
    pub amount_minor: i64,
    #[sqlx(try_from = "String")]
    pub state: payquest_types::TransferState,
    pub requested_by: StaffUserId,
    pub decided_by: Option<StaffUserId>,
}

impl From<TransferRow> for super::TransferRecord {
    fn from(r: TransferRow) -> Self {
        super::TransferRecord {
            budget_transfer_id: r.budget_transfer_id,
            from_cost_centre_id: r.from_cost_centre_id,
            to_cost_centre_id: r.to_cost_centre_id,
            amount: Amount::from_minor(r.amount_minor),
            state: r.state,
            requested_by: r.requested_by,
            decided_by: r.decided_by,
        }
    }
}

pub(super) const TRANSFER_COLUMNS: &str = "budget_transfer_id, from_cost_centre_id, \
    to_cost_centre_id, amount_minor, state, requested_by, decided_by";

/// Per cost centre: the balance columns beside the sums of the journal.
pub(super) const BALANCES_VS_JOURNAL: &str = "\
    SELECT c.cost_centre_id, c.funded_minor, c.reserved_minor, c.spent_minor, \
      CAST(COALESCE(SUM(CASE WHEN e.account = 'funding' THEN -e.amount_minor ELSE 0 END), 0) AS BIGINT), \
      CAST(COALESCE(SUM(CASE WHEN e.account = 'available' THEN e.amount_minor ELSE 0 END), 0) AS BIGINT), \
      CAST(COALESCE(SUM(CASE WHEN e.account = 'reserved' THEN e.amount_minor ELSE 0 END), 0) AS BIGINT), \
      CAST(COALESCE(SUM(CASE WHEN e.account = 'spent' THEN e.amount_minor ELSE 0 END), 0) AS BIGINT), \
      CAST(COALESCE((SELECT SUM(r.amount_minor) FROM budget_reservation r \
         WHERE r.cost_centre_id = c.cost_centre_id AND r.state = 'pending'), 0) AS BIGINT) \
    FROM cost_centre c LEFT JOIN ledger_entry e ON e.cost_centre_id = c.cost_centre_id \
    GROUP BY c.cost_centre_id, c.funded_minor, c.reserved_minor, c.spent_minor \
    ORDER BY c.cost_centre_id";

pub(super) const UNBALANCED_JOURNALS: &str = "\
    SELECT ledger_journal_id FROM ledger_entry GROUP BY ledger_journal_id \
    HAVING SUM(amount_minor) <> 0";

pub(super) type BalanceRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64);

pub(super) fn describe_discrepancies(rows: &[BalanceRow], unbalanced: &[i64]) -> Vec<String> {
    let mut out: Vec<String> = unbalanced
        .iter()
        .map(|j| format!("journal {j} does not balance"))
        .collect();
    for &(id, funded, reserved, spent, j_funded, j_available, j_reserved, j_spent, pending) in rows
    {
        let mut check = |what: &str, column: i64, journal: i64| {
            if column != journal {
                out.push(format!(
                    "cost centre {id}: {what} is {column} but the journal says {journal}"
                ));
            }
        };
        check("funded", funded, j_funded);
        check("reserved", reserved, j_reserved);
        check("spent", spent, j_spent);
        check("available", funded - reserved - spent, j_available);
        check("reserved vs pending reservations", reserved, pending);
        if funded - reserved - spent < 0 {
            out.push(format!("cost centre {id}: available is negative"));
        }
    }
    out
}

/// Implements `LedgerStore` for `$store` (a `sqlx::Pool<$db>` in `pool`, and
/// `begin_write`).
macro_rules! impl_ledger {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn journal(
                conn: &mut <$db as sqlx::Database>::Connection,
                kind: &str,
                reference: &str,
                audit: &$crate::audit::AuditRecord,
                entries: &[(CostCentreId, &str, i64)],
            ) -> $crate::store::StoreResult<Option<JournalId>> {
                let id = sqlx::query_scalar::<_, JournalId>(
                    "INSERT INTO ledger_journal (kind, reference, at_ms, actor) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (reference) DO NOTHING RETURNING ledger_journal_id",
                )
                .bind(kind)
                .bind(reference)
                .bind(audit.at_ms)
                .bind(&audit.actor.label)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(id) = id else { return Ok(None) };
                // Programmer errors in the entries would corrupt money: refuse outright.
                assert_eq!(
                    entries.iter().map(|e| e.2).sum::<i64>(),
                    0,
                    "journal entries must balance"
                );
                for (cost_centre_id, account, amount_minor) in entries {
                    sqlx::query(
                        "INSERT INTO ledger_entry (ledger_journal_id, cost_centre_id, account, amount_minor) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(cost_centre_id)
                    .bind(*account)
                    .bind(amount_minor)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(Some(id))
            }

            async fn credit_funding(
                conn: &mut <$db as sqlx::Database>::Connection,
                cost_centre_id: CostCentreId,
                amount_minor: i64,
                at_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE cost_centre SET funded_minor = funded_minor + $1, updated_at_ms = $2 \
                     WHERE cost_centre_id = $3",
                )
                .bind(amount_minor)
                .bind(at_ms)
                .bind(cost_centre_id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn available_of(
                conn: &mut <$db as sqlx::Database>::Connection,
                cost_centre_id: CostCentreId,
            ) -> $crate::store::StoreResult<i64> {
                sqlx::query_scalar::<_, i64>(
                    "SELECT funded_minor - reserved_minor - spent_minor FROM cost_centre \
                     WHERE cost_centre_id = $1",
                )
                .bind(cost_centre_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::store::StoreError::NotFound("cost centre"))
            }

            /// Reserves every item inside the caller's transaction. On `Short`
            /// some balances may have moved: the caller must roll back.
            async fn reserve_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                items: &[$crate::store::ReserveItem],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::ReserveOutcome> {
                // Lock cost centres in one global order so two multi-centre
                // reservations can't deadlock each other.
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by_key(|&i| items[i].cost_centre_id);
                let mut ids = vec![ReservationId::default(); items.len()];
                for i in order {
                    let item = &items[i];
                    assert!(item.amount.is_positive(), "reservations are positive");
                    let a = item.amount.minor();
                    let done = sqlx::query(
                        "UPDATE cost_centre SET reserved_minor = reserved_minor + $1, updated_at_ms = $2 \
                         WHERE cost_centre_id = $3 AND funded_minor - reserved_minor - spent_minor >= $1",
                    )
                    .bind(a)
                    .bind(audit.at_ms)
                    .bind(item.cost_centre_id)
                    .execute(&mut *conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        let available = Self::available_of(conn, item.cost_centre_id).await?;
                        return Ok($crate::store::ReserveOutcome::Short {
                            cost_centre_id: item.cost_centre_id,
                            short_by: payquest_types::Amount::from_minor(a - available),
                        });
                    }
                    let id = sqlx::query_scalar::<_, ReservationId>(
                        "INSERT INTO budget_reservation (cost_centre_id, amount_minor, reference, state, created_at_ms) \
                         VALUES ($1, $2, $3, 'pending', $4) RETURNING budget_reservation_id",
                    )
                    .bind(item.cost_centre_id)
                    .bind(a)
                    .bind(&item.reference)
                    .bind(audit.at_ms)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| {
                        if $crate::store::sql::is_unique_violation(&e) {
                            $crate::store::StoreError::Conflict(format!("reservation {} exists", item.reference))
                        } else {
                            e.into()
                        }
                    })?;
                    Self::journal(
                        &mut *conn,
                        "reserve",
                        &format!("reserve:{id}"),
                        audit,
                        &[(item.cost_centre_id, "available", -a), (item.cost_centre_id, "reserved", a)],
                    )
                    .await?;
                    ids[i] = id;
                }
                Ok($crate::store::ReserveOutcome::Reserved(ids))
            }

            /// Posts or voids a pending reservation inside the caller's transaction.
            async fn settle_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                budget_reservation_id: ReservationId,
                settlement: $crate::store::Settlement,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let (state, kind, balance_sql) = match settlement {
                    $crate::store::Settlement::Post => (
                        "posted",
                        "post",
                        "UPDATE cost_centre SET reserved_minor = reserved_minor - $1, \
                         spent_minor = spent_minor + $1, updated_at_ms = $2 WHERE cost_centre_id = $3",
                    ),
                    $crate::store::Settlement::Void => (
                        "voided",
                        "void",
                        "UPDATE cost_centre SET reserved_minor = reserved_minor - $1, \
                         updated_at_ms = $2 WHERE cost_centre_id = $3",
                    ),
                };
                // Only a pending reservation moves, so each settles at most once.
                let row = sqlx::query_as::<_, (CostCentreId, i64)>(
                    "UPDATE budget_reservation SET state = $1, settled_at_ms = $2 \
                     WHERE budget_reservation_id = $3 AND state = 'pending' \
                     RETURNING cost_centre_id, amount_minor",
                )
                .bind(state)
                .bind(audit.at_ms)
                .bind(budget_reservation_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((cost_centre_id, a)) = row else { return Ok(false) };
                sqlx::query(balance_sql)
                    .bind(a)
                    .bind(audit.at_ms)
                    .bind(cost_centre_id)
                    .execute(&mut *conn)
                    .await?;
                let to = match settlement {
                    $crate::store::Settlement::Post => "spent",
                    $crate::store::Settlement::Void => "available",
                };
                Self::journal(
                    &mut *conn,
                    kind,
                    &format!("{kind}:{budget_reservation_id}"),
                    audit,
                    &[(cost_centre_id, "reserved", -a), (cost_centre_id, to, a)],
                )
                .await?;
                Ok(true)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::LedgerStore for $store {
            async fn create_cost_centre(
                &self,
                code: &str,
                name: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::CostCentreRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO cost_centre (code, name, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $3) RETURNING {}",
                    $crate::store::ledger_sql::COST_CENTRE_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::ledger_sql::CostCentreRow>(&sql)
                    .bind(code)
                    .bind(name)
                    .bind(audit.at_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| {
                        if $crate::store::sql::is_unique_violation(&e) {
                            $crate::store::StoreError::Conflict("a cost centre with that code exists".into())
                        } else {
                            e.into()
                        }
                    })?;
                Self::insert_audit_as(&mut tx, audit, format!("cost_centre:{}", row.cost_centre_id)).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn cost_centre(
                &self,
                cost_centre_id: CostCentreId,
            ) -> $crate::store::StoreResult<Option<$crate::store::CostCentreRecord>> {
                let sql = format!(
                    "SELECT {} FROM cost_centre WHERE cost_centre_id = $1",
                    $crate::store::ledger_sql::COST_CENTRE_COLUMNS
                );
                self.find_one::<$crate::store::ledger_sql::CostCentreRow, _>(&sql, cost_centre_id).await
            }

            async fn list_cost_centres(
                &self,
                after_id: CostCentreId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::CostCentreRecord>> {
                let sql = format!(
                    "SELECT {} FROM cost_centre WHERE cost_centre_id > $1 ORDER BY cost_centre_id LIMIT $2",
                    $crate::store::ledger_sql::COST_CENTRE_COLUMNS
                );
                self.find_page::<$crate::store::ledger_sql::CostCentreRow, _>(&sql, after_id, limit).await
            }

            async fn last_funding(
                &self,
                cost_centre_id: CostCentreId,
                except_reference: &str,
            ) -> $crate::store::StoreResult<Option<(i64, i64)>> {
                Ok(sqlx::query_as::<_, (i64, i64)>(
                    "SELECT e.amount_minor, j.at_ms FROM ledger_entry e \
                     JOIN ledger_journal j ON j.ledger_journal_id = e.ledger_journal_id \
                     WHERE e.cost_centre_id = $1 AND e.account = 'available' AND j.kind = 'fund' \
                       AND j.reference <> $2 \
                     ORDER BY e.ledger_entry_id DESC LIMIT 1",
                )
                .bind(cost_centre_id)
                .bind(except_reference)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn fund_cost_centre(
                &self,
                cost_centre_id: CostCentreId,
                amount: payquest_types::Amount,
                reference: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::FundOutcome> {
                assert!(amount.is_positive(), "fund amounts are positive");
                let a = amount.minor();
                let mut tx = self.begin_write().await?;
                let journal = Self::journal(
                    &mut tx,
                    "fund",
                    reference,
                    audit,
                    &[(cost_centre_id, "funding", -a), (cost_centre_id, "available", a)],
                )
                .await;
                let journal = match journal {
                    Err($crate::store::StoreError::Database(e)) if e.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) => {
                        return Err($crate::store::StoreError::NotFound("cost centre"));
                    }
                    other => other?,
                };
                let Some(ledger_journal_id) = journal else {
                    // Same key again: the same deposit is a no-op, anything else a conflict.
                    let previous = sqlx::query_as::<_, (JournalId, CostCentreId, String)>(
                        "SELECT j.ledger_journal_id, e.cost_centre_id, j.kind FROM ledger_journal j \
                         JOIN ledger_entry e ON e.ledger_journal_id = j.ledger_journal_id \
                         WHERE j.reference = $1 AND e.account = 'available' AND e.amount_minor = $2",
                    )
                    .bind(reference)
                    .bind(a)
                    .fetch_optional(&mut *tx)
                    .await?;
                    return match previous {
                        Some((id, cc, kind)) if cc == cost_centre_id && kind == "fund" => {
                            Ok($crate::store::FundOutcome::AlreadyFunded { ledger_journal_id: id })
                        }
                        _ => Err($crate::store::StoreError::Conflict(
                            "that idempotency key was used for a different request".into(),
                        )),
                    };
                };
                let done = sqlx::query(
                    "UPDATE cost_centre SET funded_minor = funded_minor + $1, updated_at_ms = $2 \
                     WHERE cost_centre_id = $3",
                )
                .bind(a)
                .bind(audit.at_ms)
                .bind(cost_centre_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::NotFound("cost centre"));
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok($crate::store::FundOutcome::Funded { ledger_journal_id })
            }

            async fn reserve_budget(
                &self,
                items: &[$crate::store::ReserveItem],
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::ReserveOutcome> {
                let mut tx = self.begin_write().await?;
                let outcome = Self::reserve_in(&mut tx, items, audit).await?;
                if matches!(outcome, $crate::store::ReserveOutcome::Short { .. }) {
                    tx.rollback().await?;
                    return Ok(outcome);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(outcome)
            }

            async fn settle_reservation(
                &self,
                budget_reservation_id: ReservationId,
                settlement: $crate::store::Settlement,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                if !Self::settle_in(&mut tx, budget_reservation_id, settlement, audit).await? {
                    return Ok(false);
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn request_transfer(
                &self,
                from: CostCentreId,
                to: CostCentreId,
                amount: payquest_types::Amount,
                requested_by: StaffUserId,
                request_key: &str,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::TransferRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO budget_transfer (from_cost_centre_id, to_cost_centre_id, amount_minor, \
                     state, requested_by, requested_at_ms, request_key) VALUES ($1, $2, $3, 'pending', $4, $5, $6) \
                     ON CONFLICT (request_key) DO NOTHING RETURNING {}",
                    $crate::store::ledger_sql::TRANSFER_COLUMNS
                );
                let inserted = sqlx::query_as::<_, $crate::store::ledger_sql::TransferRow>(&sql)
                    .bind(from)
                    .bind(to)
                    .bind(amount.minor())
                    .bind(requested_by)
                    .bind(audit.at_ms)
                    .bind(request_key)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = inserted else {
                    // The key was used: the same request is the first one again.
                    let sql = format!(
                        "SELECT {} FROM budget_transfer WHERE request_key = $1",
                        $crate::store::ledger_sql::TRANSFER_COLUMNS
                    );
                    let first: $crate::store::TransferRecord =
                        sqlx::query_as::<_, $crate::store::ledger_sql::TransferRow>(&sql)
                            .bind(request_key)
                            .fetch_one(&mut *tx)
                            .await?
                            .into();
                    let same = first.from_cost_centre_id == from
                        && first.to_cost_centre_id == to
                        && first.amount == amount
                        && first.requested_by == requested_by;
                    return if same {
                        Ok(first)
                    } else {
                        Err($crate::store::StoreError::Conflict(
                            "that idempotency key was used for a different request".into(),
                        ))
                    };
                };
                Self::insert_audit_as(&mut tx, audit, format!("budget_transfer:{}", row.budget_transfer_id)).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn transfer(
                &self,
                id: TransferId,
            ) -> $crate::store::StoreResult<Option<$crate::store::TransferRecord>> {
                let sql = format!(
                    "SELECT {} FROM budget_transfer WHERE budget_transfer_id = $1",
                    $crate::store::ledger_sql::TRANSFER_COLUMNS
                );
                self.find_one::<$crate::store::ledger_sql::TransferRow, _>(&sql, id).await
            }

            async fn pending_transfers(
                &self,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TransferRecord>> {
                let sql = format!(
                    "SELECT {} FROM budget_transfer WHERE state = 'pending' ORDER BY budget_transfer_id LIMIT $1",
                    $crate::store::ledger_sql::TRANSFER_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::ledger_sql::TransferRow>(&sql)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn decide_transfer(
                &self,
                id: TransferId,
                decided_by: StaffUserId,
                approve: bool,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::TransferOutcome> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, (CostCentreId, CostCentreId, i64)>(
                    "UPDATE budget_transfer SET state = $1, decided_by = $2, decided_at_ms = $3 \
                     WHERE budget_transfer_id = $4 AND state = 'pending' \
                     RETURNING from_cost_centre_id, to_cost_centre_id, amount_minor",
                )
                .bind(if approve { "executed" } else { "rejected" })
                .bind(decided_by)
                .bind(audit.at_ms)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((from, to, a)) = row else {
                    return Ok($crate::store::TransferOutcome::NotPending);
                };
                if approve {
                    // Rows are locked in ascending id order, as reservations
                    // lock them, so a transfer and a batch over the same two
                    // centres can't deadlock: the lower id is updated first,
                    // whether it gives or receives (a short debit rolls the
                    // credit back with it).
                    if to < from {
                        Self::credit_funding(&mut tx, to, a, audit.at_ms).await?;
                    }
                    let taken = sqlx::query(
                        "UPDATE cost_centre SET funded_minor = funded_minor - $1, updated_at_ms = $2 \
                         WHERE cost_centre_id = $3 AND funded_minor - reserved_minor - spent_minor >= $1",
                    )
                    .bind(a)
                    .bind(audit.at_ms)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
                    if taken.rows_affected() != 1 {
                        let available = Self::available_of(&mut tx, from).await?;
                        tx.rollback().await?;
                        return Ok($crate::store::TransferOutcome::Short {
                            short_by: payquest_types::Amount::from_minor(a - available),
                        });
                    }
                    if to > from {
                        Self::credit_funding(&mut tx, to, a, audit.at_ms).await?;
                    }
                    Self::journal(
                        &mut tx,
                        "transfer",
                        &format!("transfer:{id}"),
                        audit,
                        &[(from, "available", -a), (from, "funding", a), (to, "funding", -a), (to, "available", a)],
                    )
                    .await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(if approve {
                    $crate::store::TransferOutcome::Executed
                } else {
                    $crate::store::TransferOutcome::Rejected
                })
            }

            async fn ledger_discrepancies(&self) -> $crate::store::StoreResult<Vec<String>> {
                let mut conn = self.pool.acquire().await?;
                let rows = sqlx::query_as::<_, $crate::store::ledger_sql::BalanceRow>(
                    $crate::store::ledger_sql::BALANCES_VS_JOURNAL,
                )
                .fetch_all(&mut *conn)
                .await?;
                let unbalanced = sqlx::query_scalar::<_, i64>($crate::store::ledger_sql::UNBALANCED_JOURNALS)
                    .fetch_all(&mut *conn)
                    .await?;
                Ok($crate::store::ledger_sql::describe_discrepancies(&rows, &unbalanced))
            }
        }
    };
}

pub(super) use impl_ledger;
