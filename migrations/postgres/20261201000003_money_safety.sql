-- Money on a bad day: an approved batch can be withdrawn before it is signed
-- (asked by finance, confirmed by a checker who did not ask); a transaction
-- the node refuses is counted; a failed chunk is checked against the chain
-- again while a reorg could still bring it back; every chunk an item was ever
-- in is kept, so a second payment of it is found.

ALTER TABLE payout_batch DROP CONSTRAINT payout_batch_state_check;
ALTER TABLE payout_batch ADD CONSTRAINT payout_batch_state_check CHECK (state IN ('draft',
    'pending_approval', 'approved', 'rejected', 'disbursing', 'disbursed', 'reconciled',
    'partially_failed', 'withdrawn'));
ALTER TABLE payout_batch ADD COLUMN withdraw_requested_by BIGINT REFERENCES staff_user (staff_user_id);
ALTER TABLE payout_batch ADD COLUMN withdraw_reason TEXT
    CHECK (withdraw_reason IS NULL OR length(withdraw_reason) <= 200);
ALTER TABLE payout_batch ADD COLUMN withdraw_requested_at_ms BIGINT;
ALTER TABLE payout_batch ADD COLUMN withdrawn_by BIGINT REFERENCES staff_user (staff_user_id);
ALTER TABLE payout_batch ADD CONSTRAINT withdrawal_four_eyes CHECK (withdrawn_by IS NULL
    OR (withdraw_requested_by IS NOT NULL AND withdrawn_by <> withdraw_requested_by
        AND withdrawn_by <> maker_id));

ALTER TABLE recon_finding DROP CONSTRAINT recon_finding_kind_check;
ALTER TABLE recon_finding ADD CONSTRAINT recon_finding_kind_check CHECK (kind IN ('missing', 'reverted',
    'wrong_amount', 'wrong_recipient', 'paid_twice', 'unknown_transfer', 'refused', 'paid_after_failure'));

-- The block at which a chunk was found unpaid (reverted or dropped): it is
-- asked again whether the contract ran it until a reorg window past that.
ALTER TABLE payout_chunk ADD COLUMN failed_at_block BIGINT;
ALTER TABLE payout_chunk ADD COLUMN unpaid_checked_at_ms BIGINT;

-- How often the node refused a signed transaction, and what it said last.
ALTER TABLE chain_tx ADD COLUMN refusals BIGINT NOT NULL DEFAULT 0;
ALTER TABLE chain_tx ADD COLUMN last_refusal TEXT;

-- Every chunk an item was ever planned in (an item retried after a failed
-- chunk is in two): a payment by more than one of them is paid twice.
CREATE TABLE chunk_member (
    payout_chunk_id BIGINT NOT NULL REFERENCES payout_chunk (payout_chunk_id),
    payout_item_id  BIGINT NOT NULL REFERENCES payout_item (payout_item_id),
    PRIMARY KEY (payout_chunk_id, payout_item_id)
);
CREATE INDEX chunk_member_item ON chunk_member (payout_item_id);
INSERT INTO chunk_member (payout_chunk_id, payout_item_id)
SELECT payout_chunk_id, payout_item_id FROM payout_item WHERE payout_chunk_id IS NOT NULL;
