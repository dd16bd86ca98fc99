-- The activity's id and idempotency key live in activity_ref, as on
-- PostgreSQL, where activities are partitioned by month and a unique key
-- must include the partition key (see the PostgreSQL migration). SQLite has
-- one file and no partitions; the ingest path is the same on both.
CREATE TABLE activity_ref (
    activity_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    api_client_id  BIGINT NOT NULL REFERENCES api_client (api_client_id),
    external_id    TEXT   NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    payload_hash   TEXT   NOT NULL,
    received_at_ms BIGINT NOT NULL,
    UNIQUE (api_client_id, external_id)
);
INSERT INTO activity_ref (activity_id, api_client_id, external_id, payload_hash, received_at_ms)
    SELECT activity_id, api_client_id, external_id, payload_hash, received_at_ms FROM activity;
