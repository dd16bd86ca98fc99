-- Machine clients (game servers, social bridges) and the keys that sign their tokens.

CREATE TABLE api_client (
    api_client_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id     TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- SHA-256 of a 240-bit random secret; the secret itself is shown once.
    secret_hash   TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    -- Tokens carry the version they were issued under; bumping it kills them.
    token_version BIGINT  NOT NULL DEFAULT 1,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_by    BIGINT  REFERENCES staff_user (staff_user_id),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL
);

CREATE TABLE signing_key (
    kid              TEXT   PRIMARY KEY,
    private_pkcs8    TEXT   NOT NULL,
    public_x         TEXT   NOT NULL,
    state            TEXT   NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at_ms    BIGINT NOT NULL,
    retired_at_ms    BIGINT
);
-- At most one current and one next key, even with replicas starting together.
CREATE UNIQUE INDEX signing_key_one_per_live_state ON signing_key (state) WHERE state IN ('next', 'current');
