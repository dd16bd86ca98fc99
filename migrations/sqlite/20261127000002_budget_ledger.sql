-- Budgets: a double-entry ledger per cost centre.
-- Accounts per cost centre: funding (the outside world's side of a deposit),
-- available, reserved, spent. Every journal's entries sum to zero, and
-- cost_centre's balance columns always equal the sums of its entries.

CREATE TABLE cost_centre (
    cost_centre_id INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT   NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 40),
    name           TEXT   NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    funded_minor   BIGINT NOT NULL DEFAULT 0,
    reserved_minor BIGINT NOT NULL DEFAULT 0 CHECK (reserved_minor >= 0),
    spent_minor    BIGINT NOT NULL DEFAULT 0 CHECK (spent_minor >= 0),
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    -- Available can never go below zero, whatever the code above does.
    CHECK (funded_minor - reserved_minor - spent_minor >= 0)
);

CREATE TABLE ledger_journal (
    ledger_journal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT   NOT NULL CHECK (kind IN ('fund', 'reserve', 'post', 'void', 'transfer')),
    -- The client's idempotency key or the business reference; one journal each.
    reference         TEXT   NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 200),
    at_ms             BIGINT NOT NULL,
    actor             TEXT   NOT NULL
);

CREATE TABLE ledger_entry (
    ledger_entry_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    ledger_journal_id BIGINT NOT NULL REFERENCES ledger_journal (ledger_journal_id),
    cost_centre_id    BIGINT NOT NULL REFERENCES cost_centre (cost_centre_id),
    account           TEXT   NOT NULL CHECK (account IN ('funding', 'available', 'reserved', 'spent')),
    amount_minor      BIGINT NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX ledger_entry_cost_centre ON ledger_entry (cost_centre_id, account);
CREATE INDEX ledger_entry_journal ON ledger_entry (ledger_journal_id);

CREATE TABLE budget_reservation (
    budget_reservation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    cost_centre_id        BIGINT NOT NULL REFERENCES cost_centre (cost_centre_id),
    amount_minor          BIGINT NOT NULL CHECK (amount_minor > 0),
    reference             TEXT   NOT NULL UNIQUE,
    state                 TEXT   NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    created_at_ms         BIGINT NOT NULL,
    settled_at_ms         BIGINT
);
CREATE INDEX budget_reservation_pending ON budget_reservation (cost_centre_id, state);

CREATE TABLE budget_transfer (
    budget_transfer_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    from_cost_centre_id BIGINT NOT NULL REFERENCES cost_centre (cost_centre_id),
    to_cost_centre_id   BIGINT NOT NULL REFERENCES cost_centre (cost_centre_id),
    amount_minor        BIGINT NOT NULL CHECK (amount_minor > 0),
    state               TEXT   NOT NULL CHECK (state IN ('pending', 'executed', 'rejected', 'refused')),
    requested_by        BIGINT NOT NULL REFERENCES staff_user (staff_user_id),
    decided_by          BIGINT REFERENCES staff_user (staff_user_id),
    reason              TEXT,
    requested_at_ms     BIGINT NOT NULL,
    decided_at_ms       BIGINT,
    CHECK (from_cost_centre_id <> to_cost_centre_id),
    -- Four eyes: whoever asked may not decide.
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);

-- The ledger is append-only, like the audit trail.
CREATE TRIGGER ledger_journal_no_update BEFORE UPDATE ON ledger_journal
BEGIN
    SELECT RAISE(ABORT, 'ledger_journal is append-only');
END;
CREATE TRIGGER ledger_journal_no_delete BEFORE DELETE ON ledger_journal
BEGIN
    SELECT RAISE(ABORT, 'ledger_journal is append-only');
END;
CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry
BEGIN
    SELECT RAISE(ABORT, 'ledger_entry is append-only');
END;
CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry
BEGIN
    SELECT RAISE(ABORT, 'ledger_entry is append-only');
END;
