-- The webhook outbox: a publish or unpublish writes its event in the same
-- transaction as the entry's change; a worker delivers it (signed), retries
-- with backoff and logs every attempt.
CREATE TABLE webhook_event (
    webhook_event_id   INTEGER PRIMARY KEY,
    kind               TEXT    NOT NULL CHECK (kind IN ('content.published', 'content.unpublished')),
    content_entry_id   BIGINT  NOT NULL REFERENCES content_entry (content_entry_id),
    content_type       TEXT    NOT NULL,
    slug               TEXT    NOT NULL,
    content_version_id BIGINT,
    state              TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    retries_left       INTEGER NOT NULL CHECK (retries_left >= 0),
    next_attempt_at_ms BIGINT  NOT NULL,
    claimed_until_ms   BIGINT,
    last_outcome       TEXT    CHECK (length(last_outcome) <= 300),
    created_at_ms      BIGINT  NOT NULL,
    delivered_at_ms    BIGINT
);
CREATE INDEX webhook_event_due ON webhook_event (next_attempt_at_ms) WHERE state = 'pending';

CREATE TABLE webhook_attempt (
    webhook_event_id BIGINT  NOT NULL REFERENCES webhook_event (webhook_event_id),
    attempt          INTEGER NOT NULL,
    at_ms            BIGINT  NOT NULL,
    status_code      INTEGER,
    outcome          TEXT    NOT NULL CHECK (length(outcome) <= 300),
    duration_ms      BIGINT  NOT NULL,
    PRIMARY KEY (webhook_event_id, attempt)
);
