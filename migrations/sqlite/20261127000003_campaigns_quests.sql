-- Campaigns (one cost centre each, one owner) and their quests.

CREATE TABLE campaign (
    campaign_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    owner_user_id       BIGINT  NOT NULL REFERENCES staff_user (staff_user_id),
    cost_centre_id      BIGINT  NOT NULL UNIQUE REFERENCES cost_centre (cost_centre_id),
    starts_at_ms        BIGINT  NOT NULL,
    ends_at_ms          BIGINT  NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'ended')),
    alert_threshold_pct INTEGER NOT NULL DEFAULT 80 CHECK (alert_threshold_pct BETWEEN 1 AND 100),
    created_at_ms       BIGINT  NOT NULL,
    updated_at_ms       BIGINT  NOT NULL,
    CHECK (ends_at_ms > starts_at_ms)
);
CREATE INDEX campaign_owner ON campaign (owner_user_id);

CREATE TABLE quest (
    quest_id              INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id           BIGINT  NOT NULL REFERENCES campaign (campaign_id),
    name                  TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    reward_minor          BIGINT  NOT NULL CHECK (reward_minor > 0),
    max_completions       BIGINT  CHECK (max_completions IS NULL OR max_completions > 0),
    max_per_gamer         BIGINT  CHECK (max_per_gamer IS NULL OR max_per_gamer > 0),
    repeat_period_s       BIGINT  CHECK (repeat_period_s IS NULL OR repeat_period_s > 0),
    validator_kind        TEXT    NOT NULL CHECK (validator_kind IN
                              ('game_api', 'discord_member', 'youtube_subscriber', 'signed_push', 'manual')),
    validator_config_json TEXT    NOT NULL,
    active                BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_ms         BIGINT  NOT NULL,
    updated_at_ms         BIGINT  NOT NULL
);
CREATE INDEX quest_campaign ON quest (campaign_id);
