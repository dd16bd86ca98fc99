-- One notification per campaign and threshold crossing, whatever the number of replicas.
CREATE TABLE budget_alert (
    campaign_id   BIGINT NOT NULL REFERENCES campaign (campaign_id),
    threshold_pct BIGINT NOT NULL,
    alerted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, threshold_pct)
);
