-- A transfer request carries the idempotency key of the form that sent it:
-- a double click or a retried request asks once.
ALTER TABLE budget_transfer ADD COLUMN request_key TEXT CHECK (request_key IS NULL OR length(request_key) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX budget_transfer_request_key ON budget_transfer (request_key);
