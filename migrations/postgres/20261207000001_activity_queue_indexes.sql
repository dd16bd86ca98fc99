-- The validation queue reads one partial index per state it moves rows out
-- of, instead of one (status, next_attempt_at_ms) index for every state.
--
-- Each status change writes a new row version and a new entry in every
-- index that holds the status; the old entry stays until VACUUM removes it.
-- With one index for all states, the entries of the activities validated
-- since the last VACUUM sat inside the 'validating' range: the lease check
-- of every written chunk and the expired-lease claim read all of them
-- (206,978 entries at 128,000 validated: 13 and 168 ms), and a
-- partition without statistics planned the chunk's keyed update through
-- that range. A partial index holds only the rows in its state, read in
-- the order its claim wants.
DROP INDEX activity_due;
-- Received work, earliest due first.
CREATE INDEX activity_due ON activity (next_attempt_at_ms) WHERE status = 'received';
-- Claims by lease: expired ones first, and a chunk's own by its lease.
CREATE INDEX activity_leased ON activity (claimed_until_ms) WHERE status = 'validating';
-- The review queue, in id order.
CREATE INDEX activity_review ON activity (activity_id) WHERE status = 'needs_review';
