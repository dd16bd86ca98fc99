-- Gamers (a wallet plus linked accounts) and the activities machines report.

CREATE TABLE gamer (
    gamer_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    -- EIP-55 checksummed address.
    wallet        TEXT   NOT NULL UNIQUE CHECK (length(wallet) = 42),
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE activity (
    activity_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    api_client_id      BIGINT NOT NULL REFERENCES api_client (api_client_id),
    -- The client's own id for the activity: (client, external_id) is the idempotency key.
    external_id        TEXT   NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    -- SHA-256 of the canonical request item: the same key with another payload is refused.
    payload_hash       TEXT   NOT NULL,
    quest_id           BIGINT NOT NULL REFERENCES quest (quest_id),
    gamer_id           BIGINT NOT NULL REFERENCES gamer (gamer_id),
    game_account_id    TEXT,
    social_handle      TEXT,
    evidence_json      TEXT,
    signature          TEXT,
    status             TEXT   NOT NULL CHECK (status IN
                           ('received', 'validating', 'validated', 'rejected', 'needs_review')),
    reason             TEXT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    occurred_at_ms     BIGINT NOT NULL,
    received_at_ms     BIGINT NOT NULL,
    validated_at_ms    BIGINT,
    rewarded_at_ms     BIGINT,
    UNIQUE (api_client_id, external_id)
);
CREATE INDEX activity_due ON activity (status, next_attempt_at_ms);
CREATE INDEX activity_quest ON activity (quest_id, status);
CREATE INDEX activity_gamer ON activity (gamer_id, quest_id);
