-- Staff accounts, roles, second factors, web sessions and the audit trail.
-- Times are integer milliseconds since the Unix epoch (same on PostgreSQL).

CREATE TABLE staff_user (
    staff_user_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    email                TEXT    NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    display_name         TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    password_hash        TEXT    NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    totp_secret          TEXT,
    totp_confirmed       BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step       BIGINT,
    session_epoch        BIGINT  NOT NULL DEFAULT 0,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms        BIGINT  NOT NULL,
    updated_at_ms        BIGINT  NOT NULL,
    CHECK (totp_confirmed = FALSE OR totp_secret IS NOT NULL)
);

CREATE TABLE staff_role (
    staff_user_id BIGINT NOT NULL REFERENCES staff_user (staff_user_id),
    role          TEXT   NOT NULL CHECK (role IN ('admin', 'community', 'maker', 'checker',
                                                  'finance', 'campaign_owner', 'auditor')),
    PRIMARY KEY (staff_user_id, role)
);

CREATE TABLE recovery_code (
    staff_user_id BIGINT NOT NULL REFERENCES staff_user (staff_user_id),
    code_hash     TEXT   NOT NULL,
    used_at_ms    BIGINT,
    PRIMARY KEY (staff_user_id, code_hash)
);

CREATE TABLE web_session (
    session_id    TEXT   PRIMARY KEY,
    data_json     TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX web_session_expires ON web_session (expires_at_ms);

CREATE TABLE audit_event (
    audit_event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms          BIGINT NOT NULL,
    actor_user_id  BIGINT,
    actor          TEXT   NOT NULL,
    action         TEXT   NOT NULL,
    subject        TEXT   NOT NULL,
    ip             TEXT,
    before_json    TEXT,
    after_json     TEXT
);

-- The audit trail is append-only.
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;
