-- Validation attempts, and the rewards (payout items) validated activities earn.

ALTER TABLE activity ADD COLUMN claimed_until_ms BIGINT;

-- Every validation attempt, with its evidence (secrets and personal data masked).
CREATE TABLE activity_attempt (
    activity_attempt_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id         BIGINT NOT NULL REFERENCES activity (activity_id),
    attempt_no          BIGINT NOT NULL,
    at_ms               BIGINT NOT NULL,
    duration_ms         BIGINT NOT NULL,
    outcome             TEXT   NOT NULL CHECK (outcome IN ('passed', 'failed', 'retry', 'review', 'reviewed')),
    detail              TEXT   NOT NULL,
    evidence_json       TEXT,
    UNIQUE (activity_id, attempt_no)
);

-- Guarded counters for the quests' caps: one row lock decides each completion.
ALTER TABLE quest ADD COLUMN completions BIGINT NOT NULL DEFAULT 0;
CREATE TABLE quest_gamer_tally (
    quest_id      BIGINT NOT NULL REFERENCES quest (quest_id),
    gamer_id      BIGINT NOT NULL REFERENCES gamer (gamer_id),
    completions   BIGINT NOT NULL,
    last_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (quest_id, gamer_id)
);

-- One activity yields at most one payout item (money rule 3).
CREATE TABLE payout_item (
    payout_item_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id    BIGINT NOT NULL UNIQUE REFERENCES activity (activity_id),
    quest_id       BIGINT NOT NULL REFERENCES quest (quest_id),
    campaign_id    BIGINT NOT NULL REFERENCES campaign (campaign_id),
    gamer_id       BIGINT NOT NULL REFERENCES gamer (gamer_id),
    amount_minor   BIGINT NOT NULL CHECK (amount_minor > 0),
    state          TEXT   NOT NULL CHECK (state IN
                       ('eligible', 'batched', 'approved', 'submitted', 'confirmed', 'reconciled', 'failed')),
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX payout_item_state ON payout_item (state, campaign_id);
