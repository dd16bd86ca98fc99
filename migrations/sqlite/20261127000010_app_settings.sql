-- Settings people change at run time (who and when kept beside the value;
-- every change also writes an audit record).
CREATE TABLE app_setting (
    name          TEXT   PRIMARY KEY,
    value         TEXT   NOT NULL,
    updated_by    BIGINT REFERENCES staff_user (staff_user_id),
    updated_at_ms BIGINT NOT NULL
);
