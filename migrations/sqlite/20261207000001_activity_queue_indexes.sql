-- PostgreSQL's queue moved to partial indexes here (its old status index kept
-- dead entries of every validated activity until VACUUM). SQLite keeps no
-- dead entries, so (status, next_attempt_at_ms) stays for received and
-- validating work; only the review queue gets its own index, read in id
-- order as it pages.
CREATE INDEX activity_review ON activity (activity_id) WHERE status = 'needs_review';
