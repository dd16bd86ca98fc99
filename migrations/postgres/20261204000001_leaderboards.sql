-- Leaderboards: the scoring rule of each published leaderboard entry (by
-- its CMS slug) and one score row per gamer, updated in the transaction
-- that validates an activity, so a ranking is an index scan, never a scan
-- of activities. An activity counts when it happened inside the period
-- and was validated before the period's end: a closed period never moves.
CREATE TABLE leaderboard (
    leaderboard_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug           TEXT   NOT NULL UNIQUE CHECK (char_length(slug) BETWEEN 1 AND 80),
    -- NULL: every campaign.
    campaign_id    BIGINT REFERENCES campaign (campaign_id),
    ranked_by      TEXT   NOT NULL CHECK (ranked_by IN ('points', 'tokens')),
    starts_at_ms   BIGINT NOT NULL,
    -- NULL: open-ended.
    ends_at_ms     BIGINT,
    defined_at_ms  BIGINT NOT NULL
);

CREATE TABLE leaderboard_score (
    leaderboard_id BIGINT NOT NULL REFERENCES leaderboard (leaderboard_id),
    gamer_id       BIGINT NOT NULL REFERENCES gamer (gamer_id),
    -- One point per validated activity.
    points         BIGINT NOT NULL CHECK (points >= 0),
    tokens_minor   BIGINT NOT NULL CHECK (tokens_minor >= 0),
    -- points or tokens_minor, as the leaderboard ranks.
    score          BIGINT NOT NULL,
    -- When the gamer reached this score (their latest counted activity's
    -- time): the earlier wins a tie, then the lower gamer id.
    reached_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (leaderboard_id, gamer_id)
);
CREATE INDEX leaderboard_rank ON leaderboard_score (leaderboard_id, score DESC, reached_at_ms, gamer_id);
