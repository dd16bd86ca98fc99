//! Every column of every table, classified in this one place:
//!
//! - **public**: shown on the public site or readable on chain anyway;
//! - **internal**: ids, states, times and settings, of no use outside;
//! - **confidential**: personal or business data (staff and gamer
//!   identifiers, wallets, evidence, budgets, notes, the audit trail);
//! - **sensitive**: secrets and credentials (password and code hashes, TOTP
//!   seeds, private keys, signed transactions, session contents, nonces).
//!
//! A test (`classification::every_column_is_classified`, both databases)
//! fails when a migration adds a column that is not listed here, or when one
//! listed here is gone.

/// How carefully a column's values are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Public,
    Internal,
    Confidential,
    Sensitive,
}

use Class::{Confidential, Internal, Public, Sensitive};

/// (table, class, columns), a table's columns grouped by class.
pub const COLUMNS: &[(&str, Class, &[&str])] = &[
    (
        "activity",
        Internal,
        &[
            "activity_id",
            "api_client_id",
            "external_id",
            "payload_hash",
            "quest_id",
            "gamer_id",
            "signature",
            "status",
            "attempts",
            "next_attempt_at_ms",
            "occurred_at_ms",
            "received_at_ms",
            "validated_at_ms",
            "rewarded_at_ms",
            "claimed_until_ms",
        ],
    ),
    (
        "activity",
        Confidential,
        &[
            "game_account_id",
            "social_handle",
            "evidence_json",
            "reason",
        ],
    ),
    (
        "activity_ref",
        Internal,
        &[
            "activity_id",
            "api_client_id",
            "external_id",
            "payload_hash",
            "received_at_ms",
        ],
    ),
    (
        "activity_attempt",
        Internal,
        &[
            "activity_attempt_id",
            "activity_id",
            "attempt_no",
            "at_ms",
            "duration_ms",
            "outcome",
        ],
    ),
    (
        "activity_attempt",
        Confidential,
        &["detail", "evidence_json"],
    ),
    (
        "api_client",
        Internal,
        &[
            "api_client_id",
            "client_id",
            "scopes",
            "token_version",
            "disabled",
            "created_by",
            "created_at_ms",
            "updated_at_ms",
        ],
    ),
    ("api_client", Confidential, &["name"]),
    ("api_client", Sensitive, &["secret_hash"]),
    (
        "app_setting",
        Internal,
        &["name", "value", "updated_by", "updated_at_ms"],
    ),
    (
        "audit_event",
        Internal,
        &["audit_event_id", "at_ms", "action"],
    ),
    (
        "audit_event",
        Confidential,
        &[
            "actor_user_id",
            "actor",
            "subject",
            "ip",
            "before_json",
            "after_json",
        ],
    ),
    (
        "batch_approval",
        Internal,
        &[
            "payout_batch_id",
            "maker_id",
            "checker_id",
            "content_hash",
            "approved_at_ms",
        ],
    ),
    (
        "budget_alert",
        Internal,
        &["campaign_id", "threshold_pct", "alerted_at_ms"],
    ),
    (
        "budget_reservation",
        Internal,
        &[
            "budget_reservation_id",
            "cost_centre_id",
            "reference",
            "state",
            "created_at_ms",
            "settled_at_ms",
        ],
    ),
    ("budget_reservation", Confidential, &["amount_minor"]),
    (
        "budget_transfer",
        Internal,
        &[
            "budget_transfer_id",
            "from_cost_centre_id",
            "to_cost_centre_id",
            "state",
            "requested_by",
            "decided_by",
            "requested_at_ms",
            "decided_at_ms",
            "request_key",
        ],
    ),
    ("budget_transfer", Confidential, &["amount_minor", "reason"]),
    ("campaign", Public, &["name", "starts_at_ms", "ends_at_ms"]),
    (
        "campaign",
        Internal,
        &[
            "campaign_id",
            "owner_user_id",
            "cost_centre_id",
            "status",
            "alert_threshold_pct",
            "created_at_ms",
            "updated_at_ms",
        ],
    ),
    ("chain_cursor", Internal, &["name", "block"]),
    (
        "chain_transfer",
        Public,
        &[
            "tx_hash",
            "log_index",
            "block_number",
            "from_address",
            "to_address",
            "amount_minor",
            "amount_raw",
        ],
    ),
    ("chain_transfer", Internal, &["matched", "seen_at_ms"]),
    ("chain_tx", Public, &["nonce", "tx_hash"]),
    (
        "chain_tx",
        Internal,
        &[
            "chain_tx_id",
            "payout_chunk_id",
            "max_fee_wei",
            "priority_fee_wei",
            "created_at_ms",
            "broadcast_at_ms",
            "refusals",
            "last_refusal",
        ],
    ),
    ("chain_tx", Sensitive, &["raw_tx"]),
    ("chain_wallet", Public, &["address", "chain_id"]),
    (
        "chain_wallet",
        Internal,
        &["next_nonce", "lease_holder", "lease_until_ms"],
    ),
    (
        "chunk_member",
        Internal,
        &["payout_chunk_id", "payout_item_id"],
    ),
    (
        "chunk_reservation",
        Internal,
        &["payout_chunk_id", "campaign_id", "budget_reservation_id"],
    ),
    (
        "content_entry",
        Public,
        &["content_type", "slug", "published_at_ms"],
    ),
    (
        "content_entry",
        Internal,
        &[
            "content_entry_id",
            "state",
            "draft_version_id",
            "published_version_id",
            "created_at_ms",
            "updated_at_ms",
        ],
    ),
    (
        "content_schedule",
        Internal,
        &[
            "content_schedule_id",
            "content_entry_id",
            "action",
            "content_version_id",
            "due_at_ms",
            "state",
            "claimed_until_ms",
            "created_by",
            "created_at_ms",
            "finished_at_ms",
        ],
    ),
    ("content_schedule", Confidential, &["reason"]),
    (
        "content_version",
        Internal,
        &[
            "content_version_id",
            "content_entry_id",
            "author_id",
            "created_at_ms",
        ],
    ),
    ("content_version", Confidential, &["data_json"]),
    (
        "cost_centre",
        Internal,
        &["cost_centre_id", "created_at_ms", "updated_at_ms"],
    ),
    (
        "cost_centre",
        Confidential,
        &[
            "code",
            "name",
            "funded_minor",
            "reserved_minor",
            "spent_minor",
        ],
    ),
    ("gamer", Internal, &["gamer_id", "created_at_ms"]),
    ("gamer", Confidential, &["wallet"]),
    (
        "gamer_account",
        Internal,
        &["gamer_id", "kind", "linked_at_ms"],
    ),
    ("gamer_account", Confidential, &["account_ref"]),
    (
        "leaderboard",
        Public,
        &[
            "slug",
            "campaign_id",
            "ranked_by",
            "starts_at_ms",
            "ends_at_ms",
        ],
    ),
    (
        "leaderboard",
        Internal,
        &["leaderboard_id", "defined_at_ms"],
    ),
    (
        "leaderboard_score",
        Public,
        &["points", "tokens_minor", "score", "reached_at_ms"],
    ),
    (
        "leaderboard_score",
        Internal,
        &["leaderboard_id", "gamer_id"],
    ),
    (
        "ledger_entry",
        Internal,
        &[
            "ledger_entry_id",
            "ledger_journal_id",
            "cost_centre_id",
            "account",
        ],
    ),
    ("ledger_entry", Confidential, &["amount_minor"]),
    (
        "ledger_journal",
        Internal,
        &["ledger_journal_id", "kind", "at_ms"],
    ),
    ("ledger_journal", Confidential, &["reference", "actor"]),
    (
        "media",
        Public,
        &["sha256", "content_type", "byte_size", "width", "height"],
    ),
    ("media", Internal, &["uploaded_by", "created_at_ms"]),
    ("media", Confidential, &["file_name"]),
    (
        "payout_batch",
        Internal,
        &[
            "payout_batch_id",
            "maker_id",
            "state",
            "content_hash",
            "revision",
            "item_count",
            "approvals_needed",
            "created_at_ms",
            "submitted_at_ms",
            "approved_at_ms",
            "disbursing_at_ms",
            "finished_at_ms",
            "withdraw_requested_by",
            "withdraw_requested_at_ms",
            "withdrawn_by",
        ],
    ),
    (
        "payout_batch",
        Confidential,
        &["note", "total_minor", "decision_reason", "withdraw_reason"],
    ),
    (
        "payout_chunk",
        Public,
        &[
            "wallet",
            "nonce",
            "mined_tx_hash",
            "mined_block",
            "mined_block_hash",
        ],
    ),
    (
        "payout_chunk",
        Internal,
        &[
            "payout_chunk_id",
            "payout_batch_id",
            "seq",
            "state",
            "item_count",
            "total_minor",
            "confirmed_at_ms",
            "updated_at_ms",
            "failed_at_block",
            "unpaid_checked_at_ms",
        ],
    ),
    (
        "payout_item",
        Internal,
        &[
            "payout_item_id",
            "activity_id",
            "quest_id",
            "campaign_id",
            "gamer_id",
            "state",
            "created_at_ms",
            "payout_batch_id",
            "payout_chunk_id",
            "approved_at_ms",
            "confirmed_at_ms",
            "reconciled_at_ms",
        ],
    ),
    ("payout_item", Confidential, &["amount_minor"]),
    ("quest", Public, &["name", "reward_minor"]),
    (
        "quest",
        Internal,
        &[
            "quest_id",
            "campaign_id",
            "max_completions",
            "max_per_gamer",
            "repeat_period_s",
            "validator_kind",
            "active",
            "created_at_ms",
            "updated_at_ms",
            "completions",
            // A setting: secrets are named in it, never held (their values
            // are in PAYQUEST_VALIDATOR_SECRETS).
            "validator_config_json",
        ],
    ),
    (
        "quest_account_claim",
        Internal,
        &["quest_id", "gamer_id", "created_at_ms"],
    ),
    ("quest_account_claim", Confidential, &["account_key"]),
    (
        "quest_gamer_tally",
        Internal,
        &["quest_id", "gamer_id", "completions", "last_at_ms"],
    ),
    ("recon_finding", Public, &["tx_hash"]),
    (
        "recon_finding",
        Internal,
        &[
            "recon_finding_id",
            "kind",
            "dedupe_key",
            "payout_item_id",
            "payout_chunk_id",
            "created_at_ms",
            "resolved_by",
            "resolved_at_ms",
        ],
    ),
    (
        "recon_finding",
        Confidential,
        &["detail", "resolution_note"],
    ),
    ("recovery_code", Internal, &["staff_user_id", "used_at_ms"]),
    ("recovery_code", Sensitive, &["code_hash"]),
    ("signing_key", Public, &["kid", "public_x"]),
    (
        "signing_key",
        Internal,
        &["state", "created_at_ms", "retired_at_ms"],
    ),
    ("signing_key", Sensitive, &["private_pkcs8"]),
    ("siwe_nonce", Internal, &["created_at_ms", "expires_at_ms"]),
    ("siwe_nonce", Sensitive, &["nonce"]),
    ("staff_role", Internal, &["staff_user_id", "role"]),
    (
        "staff_role_request",
        Internal,
        &[
            "staff_role_request_id",
            "staff_user_id",
            "roles_json",
            "requested_by",
            "requested_at_ms",
            "state",
            "decided_by",
            "decided_at_ms",
        ],
    ),
    (
        "staff_user",
        Internal,
        &[
            "staff_user_id",
            "must_change_password",
            "totp_confirmed",
            "session_epoch",
            "disabled",
            "created_at_ms",
            "updated_at_ms",
        ],
    ),
    ("staff_user", Confidential, &["email", "display_name"]),
    (
        "staff_user",
        Sensitive,
        &["password_hash", "totp_secret", "totp_last_step"],
    ),
    ("web_session", Internal, &["expires_at_ms"]),
    ("web_session", Sensitive, &["session_id", "data_json"]),
    (
        "webhook_attempt",
        Internal,
        &[
            "webhook_event_id",
            "attempt",
            "at_ms",
            "status_code",
            "duration_ms",
        ],
    ),
    ("webhook_attempt", Confidential, &["outcome"]),
    ("webhook_event", Public, &["kind", "content_type", "slug"]),
    (
        "webhook_event",
        Internal,
        &[
            "webhook_event_id",
            "content_entry_id",
            "content_version_id",
            "state",
            "attempts",
            "retries_left",
            "next_attempt_at_ms",
            "claimed_until_ms",
            "created_at_ms",
            "delivered_at_ms",
        ],
    ),
    ("webhook_event", Confidential, &["last_outcome"]),
];

/// A column's class, if it is classified.
pub fn class_of(table: &str, column: &str) -> Option<Class> {
    COLUMNS
        .iter()
        .find(|(t, _, cols)| *t == table && cols.contains(&column))
        .map(|(_, class, _)| *class)
}

/// Every classified (table, column).
pub fn classified() -> impl Iterator<Item = (&'static str, &'static str, Class)> {
    COLUMNS
        .iter()
        .flat_map(|(t, class, cols)| cols.iter().map(move |c| (*t, *c, *class)))
}
