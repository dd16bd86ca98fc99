-- The campaign page reads a campaign's newest rewards (pace, earned series).
CREATE INDEX payout_item_campaign ON payout_item (campaign_id, payout_item_id);
