//! Campaign budgets: cost centres funded by finance, and the reserve / post /
//! void primitives the payout pipeline uses. Available = funded − reserved −
//! spent and never goes below zero (money rule 2): the store enforces it with
//! guarded writes and a CHECK constraint; this layer checks who may act and
//! what they typed.

use payquest_types::Amount;
use payquest_types::{CostCentreId, ReservationId, TransferId};
use serde::Serialize;

use crate::audit::{AuditActor, AuditRecord};
use crate::limits::{
    COST_CENTRE_CODE_MAX_CHARS, COST_CENTRE_NAME_MAX_CHARS, IDEMPOTENCY_KEY_MAX_CHARS,
    LEDGER_AMOUNT_MAX_MINOR, PAGE_SIZE_MAX,
};
use crate::session::{Actor, Permission};
use crate::store::{
    CostCentreRecord, DynStore, FundOutcome, ReserveItem, ReserveOutcome, Settlement,
    TransferOutcome, TransferRecord,
};
use crate::{DomainError, DomainResult};

/// A funding identical to the last one within this long asks for confirmation.
pub const REPEAT_WINDOW_MS: i64 = 120_000;

/// A positive amount within the ledger's per-movement limit.
pub fn ledger_amount(amount: Amount) -> DomainResult<Amount> {
    if !amount.is_positive() {
        return Err(DomainError::InvalidInput(
            "the amount must be positive".into(),
        ));
    }
    if amount.minor() > LEDGER_AMOUNT_MAX_MINOR {
        return Err(DomainError::InvalidInput(format!(
            "the amount may not exceed {}",
            Amount::from_minor(LEDGER_AMOUNT_MAX_MINOR)
        )));
    }
    Ok(amount)
}

fn bounded_text(raw: &str, what: &str, max: usize) -> DomainResult<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be 1 to {max} printable characters"
        )));
    }
    Ok(t.to_owned())
}

#[derive(Serialize)]
struct Movement {
    cost_centre_id: CostCentreId,
    amount_minor: i64,
}

pub struct Budgets {
    store: DynStore,
}

impl Budgets {
    pub fn new(store: DynStore) -> Self {
        Self { store }
    }

    pub async fn create_cost_centre(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
    ) -> DomainResult<CostCentreRecord> {
        actor.require(Permission::ManageBudgets)?;
        let code = bounded_text(code, "the code", COST_CENTRE_CODE_MAX_CHARS)?;
        let name = bounded_text(name, "the name", COST_CENTRE_NAME_MAX_CHARS)?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "budget.cost_centre_created",
            "cost_centre:new",
        )
        .after(&serde_json::json!({ "code": code, "name": name }));
        Ok(self.store.create_cost_centre(&code, &name, &audit).await?)
    }

    pub async fn list(
        &self,
        actor: &Actor,
        after_id: CostCentreId,
        limit: u32,
    ) -> DomainResult<Vec<CostCentreRecord>> {
        actor.require(Permission::ReadBudgets)?;
        if limit == 0 || limit > PAGE_SIZE_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page size must be 1 to {PAGE_SIZE_MAX}"
            )));
        }
        Ok(self.store.list_cost_centres(after_id, limit).await?)
    }

    /// Adds money. Retrying with the same idempotency key is safe.
    pub async fn fund(
        &self,
        actor: &Actor,
        cost_centre_id: CostCentreId,
        amount: Amount,
        idempotency_key: &str,
    ) -> DomainResult<FundOutcome> {
        actor.require(Permission::ManageBudgets)?;
        let amount = ledger_amount(amount)?;
        let key = bounded_text(
            idempotency_key,
            "the idempotency key",
            IDEMPOTENCY_KEY_MAX_CHARS,
        )?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "budget.funded",
            format!("cost_centre:{cost_centre_id}"),
        )
        .after(&Movement {
            cost_centre_id,
            amount_minor: amount.minor(),
        });
        Ok(self
            .store
            .fund_cost_centre(cost_centre_id, amount, &format!("fund:{key}"), &audit)
            .await?)
    }

    /// `fund` for a person at a form: the same amount to the same cost
    /// centre within `REPEAT_WINDOW_MS` of the last funding is refused with
    /// `RepeatUnconfirmed` unless `repeat_confirmed`. A retry under the same
    /// idempotency key is still the one funding it was.
    pub async fn fund_confirmed(
        &self,
        actor: &Actor,
        cost_centre_id: CostCentreId,
        amount: Amount,
        idempotency_key: &str,
        repeat_confirmed: bool,
    ) -> DomainResult<FundOutcome> {
        actor.require(Permission::ManageBudgets)?;
        if !repeat_confirmed {
            let reference = format!("fund:{idempotency_key}");
            let last = self.store.last_funding(cost_centre_id, &reference).await?;
            if let Some((minor, at_ms)) = last {
                let ago_ms = crate::clock::now_ms() - at_ms;
                if minor == amount.minor() && ago_ms < REPEAT_WINDOW_MS {
                    return Err(DomainError::Named(
                        crate::error::Conflict::RepeatUnconfirmed,
                        format!(
                            "{amount} tokens were funded here {} s ago. Confirm to fund the same again.",
                            ago_ms.max(0) / 1000
                        ),
                    ));
                }
            }
        }
        self.fund(actor, cost_centre_id, amount, idempotency_key)
            .await
    }

    /// Asks to move budget between cost centres; a second finance user
    /// decides. A retry under the same idempotency key asks once.
    pub async fn request_transfer(
        &self,
        actor: &Actor,
        from: CostCentreId,
        to: CostCentreId,
        amount: Amount,
        idempotency_key: &str,
    ) -> DomainResult<TransferRecord> {
        actor.require(Permission::ManageBudgets)?;
        let amount = ledger_amount(amount)?;
        let key = bounded_text(
            idempotency_key,
            "the idempotency key",
            IDEMPOTENCY_KEY_MAX_CHARS,
        )?;
        let key = format!("transfer:{key}");
        if from == to {
            return Err(DomainError::InvalidInput(
                "choose two different cost centres".into(),
            ));
        }
        for id in [from, to] {
            if self.store.cost_centre(id).await?.is_none() {
                return Err(DomainError::NotFound("cost centre"));
            }
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "budget.transfer_requested",
            "budget_transfer:new",
        )
        .after(&serde_json::json!({ "from": from, "to": to, "amount_minor": amount.minor() }));
        Ok(self
            .store
            .request_transfer(from, to, amount, actor.user_id, &key, &audit)
            .await?)
    }

    pub async fn pending_transfers(&self, actor: &Actor) -> DomainResult<Vec<TransferRecord>> {
        actor.require(Permission::ReadBudgets)?;
        Ok(self.store.pending_transfers(PAGE_SIZE_MAX).await?)
    }

    /// Approves (executes) or rejects a transfer; never by the person who asked.
    pub async fn decide_transfer(
        &self,
        actor: &Actor,
        transfer_id: TransferId,
        approve: bool,
    ) -> DomainResult<TransferOutcome> {
        actor.require(Permission::ManageBudgets)?;
        let transfer = self
            .store
            .transfer(transfer_id)
            .await?
            .ok_or(DomainError::NotFound("budget transfer"))?;
        if transfer.requested_by == actor.user_id {
            return Err(DomainError::Forbidden);
        }
        let action = if approve {
            "budget.transfer_executed"
        } else {
            "budget.transfer_rejected"
        };
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            action,
            format!("budget_transfer:{transfer_id}"),
        );
        Ok(self
            .store
            .decide_transfer(transfer_id, actor.user_id, approve, &audit)
            .await?)
    }

    /// Reserves every item or none (the payout approval uses this).
    pub async fn reserve(
        &self,
        by: &AuditActor,
        reference: &str,
        items: &[ReserveItem],
    ) -> DomainResult<ReserveOutcome> {
        for item in items {
            ledger_amount(item.amount)?;
        }
        let audit = AuditRecord::new(by, "budget.reserved", reference.to_owned()).after(
            &items
                .iter()
                .map(|i| Movement {
                    cost_centre_id: i.cost_centre_id,
                    amount_minor: i.amount.minor(),
                })
                .collect::<Vec<_>>(),
        );
        Ok(self.store.reserve_budget(items, &audit).await?)
    }

    /// Posts (paid) or voids (not paid) a reservation; false if already settled.
    pub async fn settle(
        &self,
        by: &AuditActor,
        reservation_id: ReservationId,
        settlement: Settlement,
    ) -> DomainResult<bool> {
        let action = match settlement {
            Settlement::Post => "budget.reservation_posted",
            Settlement::Void => "budget.reservation_voided",
        };
        let audit = AuditRecord::new(by, action, format!("budget_reservation:{reservation_id}"));
        Ok(self
            .store
            .settle_reservation(reservation_id, settlement, &audit)
            .await?)
    }
}
