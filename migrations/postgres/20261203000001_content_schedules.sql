-- Publishes and unpublishes planned for a date and time. A worker in every
-- server process claims due rows (a lease: claimed_until_ms) and finishes
-- each in one transaction with the entry's change, so a schedule runs once
-- however many replicas look at it.
CREATE TABLE content_schedule (
    content_schedule_id BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_entry_id    BIGINT  NOT NULL REFERENCES content_entry (content_entry_id),
    action              TEXT    NOT NULL CHECK (action IN ('publish', 'unpublish')),
    content_version_id  BIGINT  REFERENCES content_version (content_version_id),
    due_at_ms           BIGINT  NOT NULL,
    state               TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    claimed_until_ms    BIGINT,
    reason              TEXT    CHECK (char_length(reason) <= 500),
    created_by          BIGINT  NOT NULL REFERENCES staff_user (staff_user_id),
    created_at_ms       BIGINT  NOT NULL,
    finished_at_ms      BIGINT,
    CHECK ((action = 'publish') = (content_version_id IS NOT NULL)),
    CHECK ((state = 'pending') = (finished_at_ms IS NULL))
);
CREATE INDEX content_schedule_due ON content_schedule (due_at_ms) WHERE state = 'pending';
CREATE INDEX content_schedule_of_entry ON content_schedule (content_entry_id, content_schedule_id);
