-- Privileged roles (admin, maker, checker, finance) are granted by two
-- people: one admin asks, another admin (neither the asker nor the person
-- who would get the roles) approves. The CHECK holds even if the domain's
-- rule were bypassed; at most one request per person waits at a time.
CREATE TABLE staff_role_request (
    staff_role_request_id INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_user_id   BIGINT NOT NULL REFERENCES staff_user (staff_user_id),
    roles_json      TEXT   NOT NULL,
    requested_by    BIGINT NOT NULL REFERENCES staff_user (staff_user_id),
    requested_at_ms BIGINT NOT NULL,
    state           TEXT   NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled')),
    decided_by      BIGINT REFERENCES staff_user (staff_user_id),
    decided_at_ms   BIGINT,
    CONSTRAINT role_request_second_admin
        CHECK (decided_by IS NULL OR (decided_by <> requested_by AND decided_by <> staff_user_id)),
    CONSTRAINT role_request_not_self CHECK (requested_by <> staff_user_id)
);

CREATE UNIQUE INDEX staff_role_request_one_pending
    ON staff_role_request (staff_user_id) WHERE state = 'pending';
