-- One external account (a game account, a Discord or YouTube id) earns a
-- quest for one wallet only: the first validated completion binds the
-- account to that gamer for the quest, so its completions count toward that
-- gamer's caps and a second wallet reporting it is refused.
CREATE TABLE quest_account_claim (
    quest_id      BIGINT NOT NULL REFERENCES quest (quest_id),
    account_key   TEXT   NOT NULL CHECK (length(account_key) <= 300),
    gamer_id      BIGINT NOT NULL REFERENCES gamer (gamer_id),
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (quest_id, account_key)
);
