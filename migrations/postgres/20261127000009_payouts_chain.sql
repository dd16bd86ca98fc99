-- Payout batches (maker → checker), chunks paid on chain, the transactions
-- signed for them, the signing wallet's lease and nonce, and reconciliation.

CREATE TABLE payout_batch (
    payout_batch_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    maker_id         BIGINT  NOT NULL REFERENCES staff_user (staff_user_id),
    state            TEXT    NOT NULL CHECK (state IN ('draft', 'pending_approval', 'approved', 'rejected',
                         'disbursing', 'disbursed', 'reconciled', 'partially_failed')),
    note             TEXT    NOT NULL CHECK (length(note) <= 200),
    content_hash     TEXT    NOT NULL,
    revision         BIGINT  NOT NULL DEFAULT 1,
    item_count       BIGINT  NOT NULL CHECK (item_count >= 0),
    total_minor      BIGINT  NOT NULL CHECK (total_minor >= 0),
    approvals_needed BIGINT  NOT NULL CHECK (approvals_needed IN (1, 2)),
    decision_reason  TEXT,
    created_at_ms    BIGINT  NOT NULL,
    submitted_at_ms  BIGINT,
    approved_at_ms   BIGINT,
    disbursing_at_ms BIGINT,
    finished_at_ms   BIGINT,
    UNIQUE (payout_batch_id, maker_id)
);
CREATE INDEX payout_batch_state ON payout_batch (state, payout_batch_id);

-- An approval counts only for the contents it was given for (content_hash),
-- and never from the batch's maker: the composite key ties maker_id to the
-- batch, and the CHECK refuses the maker as checker.
CREATE TABLE batch_approval (
    payout_batch_id BIGINT NOT NULL,
    maker_id        BIGINT NOT NULL,
    checker_id      BIGINT NOT NULL REFERENCES staff_user (staff_user_id),
    content_hash    TEXT   NOT NULL,
    approved_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (payout_batch_id, checker_id, content_hash),
    FOREIGN KEY (payout_batch_id, maker_id) REFERENCES payout_batch (payout_batch_id, maker_id),
    CHECK (checker_id <> maker_id)
);

CREATE TABLE payout_chunk (
    payout_chunk_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_batch_id  BIGINT NOT NULL REFERENCES payout_batch (payout_batch_id),
    seq              BIGINT NOT NULL,
    state            TEXT   NOT NULL CHECK (state IN ('planned', 'prepared', 'broadcast', 'mined',
                         'confirmed', 'reverted', 'reconciled')),
    item_count       BIGINT NOT NULL CHECK (item_count > 0),
    total_minor      BIGINT NOT NULL CHECK (total_minor > 0),
    wallet           TEXT,
    nonce            BIGINT,
    mined_tx_hash    TEXT,
    mined_block      BIGINT,
    mined_block_hash TEXT,
    confirmed_at_ms  BIGINT,
    updated_at_ms    BIGINT NOT NULL,
    UNIQUE (payout_batch_id, seq),
    UNIQUE (wallet, nonce)
);
CREATE INDEX payout_chunk_state ON payout_chunk (state, payout_chunk_id);

CREATE TABLE chunk_reservation (
    payout_chunk_id       BIGINT NOT NULL REFERENCES payout_chunk (payout_chunk_id),
    campaign_id           BIGINT NOT NULL REFERENCES campaign (campaign_id),
    budget_reservation_id BIGINT NOT NULL UNIQUE REFERENCES budget_reservation (budget_reservation_id),
    PRIMARY KEY (payout_chunk_id, campaign_id)
);

ALTER TABLE payout_item ADD COLUMN payout_batch_id BIGINT REFERENCES payout_batch (payout_batch_id);
ALTER TABLE payout_item ADD COLUMN payout_chunk_id BIGINT REFERENCES payout_chunk (payout_chunk_id);
ALTER TABLE payout_item ADD COLUMN approved_at_ms BIGINT;
ALTER TABLE payout_item ADD COLUMN confirmed_at_ms BIGINT;
ALTER TABLE payout_item ADD COLUMN reconciled_at_ms BIGINT;
CREATE INDEX payout_item_batch ON payout_item (payout_batch_id);
CREATE INDEX payout_item_chunk ON payout_item (payout_chunk_id);

-- Every signed transaction, stored before it is broadcast. A replacement is
-- another row at the same nonce.
CREATE TABLE chain_tx (
    chain_tx_id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_chunk_id BIGINT NOT NULL REFERENCES payout_chunk (payout_chunk_id),
    nonce           BIGINT NOT NULL,
    tx_hash         TEXT   NOT NULL UNIQUE,
    raw_tx          TEXT   NOT NULL,
    max_fee_wei     TEXT   NOT NULL,
    priority_fee_wei TEXT  NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    broadcast_at_ms BIGINT
);
CREATE INDEX chain_tx_chunk ON chain_tx (payout_chunk_id);

-- One sender per signing wallet across replicas, and its nonce sequence.
CREATE TABLE chain_wallet (
    address        TEXT   PRIMARY KEY,
    chain_id       BIGINT NOT NULL,
    next_nonce     BIGINT NOT NULL CHECK (next_nonce >= 0),
    lease_holder   TEXT,
    lease_until_ms BIGINT NOT NULL DEFAULT 0
);

-- Transfer logs from the treasury, as seen in confirmed receipts and logs.
CREATE TABLE chain_transfer (
    tx_hash       TEXT   NOT NULL,
    log_index     BIGINT NOT NULL,
    block_number  BIGINT NOT NULL,
    from_address  TEXT   NOT NULL,
    to_address    TEXT   NOT NULL,
    amount_minor  BIGINT,
    amount_raw    TEXT   NOT NULL,
    matched       BOOLEAN NOT NULL DEFAULT FALSE,
    seen_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (tx_hash, log_index)
);
CREATE INDEX chain_transfer_block ON chain_transfer (block_number);

CREATE TABLE chain_cursor (
    name  TEXT   PRIMARY KEY,
    block BIGINT NOT NULL
);

CREATE TABLE recon_finding (
    recon_finding_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT   NOT NULL CHECK (kind IN ('missing', 'reverted', 'wrong_amount',
                         'wrong_recipient', 'paid_twice', 'unknown_transfer')),
    dedupe_key       TEXT   NOT NULL UNIQUE,
    payout_item_id   BIGINT REFERENCES payout_item (payout_item_id),
    payout_chunk_id  BIGINT REFERENCES payout_chunk (payout_chunk_id),
    tx_hash          TEXT,
    detail           TEXT   NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    resolved_by      BIGINT REFERENCES staff_user (staff_user_id),
    resolved_at_ms   BIGINT,
    resolution_note  TEXT
);
CREATE INDEX recon_finding_open ON recon_finding (resolved_at_ms, recon_finding_id);
