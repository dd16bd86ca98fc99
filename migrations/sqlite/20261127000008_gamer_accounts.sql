-- A gamer's linked accounts: game account ids and social handles seen with their wallet.
CREATE TABLE gamer_account (
    gamer_id     BIGINT NOT NULL REFERENCES gamer (gamer_id),
    kind         TEXT   NOT NULL CHECK (kind IN ('game', 'social')),
    account_ref  TEXT   NOT NULL CHECK (length(account_ref) BETWEEN 1 AND 128),
    linked_at_ms BIGINT NOT NULL,
    PRIMARY KEY (gamer_id, kind, account_ref)
);
CREATE INDEX gamer_account_ref ON gamer_account (kind, account_ref);
