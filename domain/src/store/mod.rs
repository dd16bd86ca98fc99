//! Storage behind one trait in domain terms. Each method is one unit of work
//! that opens and commits its own transaction; a method that changes money,
//! content or accounts takes the audit record and writes it in that same
//! transaction. There is one implementation per backend (SQLite, PostgreSQL),
//! generated from one body of shared SQL, and one migration folder each.

mod activity_sql;
mod campaigns_sql;
mod chain_sql;
mod content_sql;
mod leaderboard_sql;
mod ledger_sql;
mod machine_sql;
mod payout_model;
mod payout_sql;
mod postgres;
mod sql;
mod sqlite;
mod validation_sql;

use payquest_types::{
    ActivityId, ApiClientId, AuditId, CampaignId, CostCentreId, GamerId, JournalId, PayoutItemId,
    QuestId, ReservationId, RoleRequestId, StaffUserId, TransferId,
};
use std::sync::Arc;

use async_trait::async_trait;
use payquest_types::{Amount, Role};

use crate::audit::AuditRecord;

/// The score update the validation transaction runs (for the benchmark
/// that prices it).
#[cfg(feature = "testing")]
pub use leaderboard_sql::SCORE_ACTIVITY;
pub use leaderboard_sql::{LeaderboardRecord, ScoreRow};
pub use payout_model::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A state read back from its column (the CHECK allows only the enum's texts).
pub(crate) fn stored<T: std::str::FromStr<Err = payquest_types::UnknownState>>(
    text: String,
) -> StoreResult<T> {
    text.parse()
        .map_err(|e: payquest_types::UnknownState| StoreError::Corrupt(e.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A staff account as stored. Deliberately not `Serialize`: it holds the
/// password hash and the TOTP secret.
#[derive(Clone)]
pub struct StaffRecord {
    pub staff_user_id: StaffUserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub totp_secret: Option<String>,
    pub totp_confirmed: bool,
    pub totp_last_step: Option<i64>,
    pub session_epoch: i64,
    pub disabled: bool,
    pub created_at_ms: i64,
    pub roles: Vec<Role>,
}

impl std::fmt::Debug for StaffRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRecord")
            .field("staff_user_id", &self.staff_user_id)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

pub struct NewStaff<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub roles: &'a [Role],
    pub now_ms: i64,
    /// Privileged roles asked for at creation: `(requested_by, whole role set)`,
    /// stored as a pending request in the same transaction.
    pub role_request: Option<(StaffUserId, &'a [Role])>,
}

/// A pending (or decided) request for a privileged role set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRequestRecord {
    pub staff_role_request_id: RoleRequestId,
    pub staff_user_id: StaffUserId,
    pub email: String,
    pub roles: Vec<Role>,
    pub requested_by: StaffUserId,
    pub requested_by_email: String,
    pub requested_at_ms: i64,
    pub state: payquest_types::RoleRequestState,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub audit_event_id: AuditId,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub ip: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// A cost centre's balances, as stored. Available = funded − reserved − spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostCentreRecord {
    pub cost_centre_id: CostCentreId,
    pub code: String,
    pub name: String,
    pub funded: Amount,
    pub reserved: Amount,
    pub spent: Amount,
}

impl CostCentreRecord {
    pub fn available(&self) -> Amount {
        Amount::from_minor(self.funded.minor() - self.reserved.minor() - self.spent.minor())
    }
}

/// One reservation to make as part of an all-or-nothing set.
#[derive(Debug, Clone)]
pub struct ReserveItem {
    pub cost_centre_id: CostCentreId,
    pub amount: Amount,
    /// Unique business reference, e.g. `batch:12:campaign:3`.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Every item reserved; ids in the order given.
    Reserved(Vec<ReservationId>),
    /// Nothing reserved: this cost centre is short by this much.
    Short {
        cost_centre_id: CostCentreId,
        short_by: Amount,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Pending → spent (a confirmed payment).
    Post,
    /// Pending → available again (rejected, reverted, dropped).
    Void,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundOutcome {
    Funded {
        ledger_journal_id: JournalId,
    },
    /// The same idempotency key was used before for the same deposit.
    AlreadyFunded {
        ledger_journal_id: JournalId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub budget_transfer_id: TransferId,
    pub from_cost_centre_id: CostCentreId,
    pub to_cost_centre_id: CostCentreId,
    pub amount: Amount,
    pub state: payquest_types::TransferState,
    pub requested_by: StaffUserId,
    pub decided_by: Option<StaffUserId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    Executed,
    Rejected,
    /// Left pending: the source lacks this much available budget.
    Short {
        short_by: Amount,
    },
    /// Not pending any more (decided before).
    NotPending,
}

/// Where a sealed secret lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `staff_user.totp_secret`, by staff user id.
    TotpSecret,
    /// `signing_key.private_pkcs8`, by key id.
    SigningKey,
}

/// One stored secret as sealed (never printed: `Debug` hides the value).
#[derive(Clone)]
pub struct SealedValue {
    pub column: SealedColumn,
    pub id: String,
    pub stored: String,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("column", &self.column)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One ledger journal's change to a cost centre's balances (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct BudgetMovement {
    pub at_ms: i64,
    pub funded: i64,
    pub available: i64,
    pub reserved: i64,
    pub spent: i64,
}

/// Before when each kind of data goes (`None`: kept for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionCutoffs {
    /// Validation evidence of decided activities, and of their attempts,
    /// reported or attempted before this.
    pub evidence_before_ms: Option<i64>,
    /// Delivered or abandoned content webhooks created before this, with
    /// their attempts.
    pub webhooks_before_ms: Option<i64>,
    /// Expired sign-in nonces and sessions: those expired before this.
    pub expired_before_ms: i64,
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct RetentionReport {
    pub activity_evidence_cleared: u64,
    pub attempt_evidence_cleared: u64,
    pub webhook_events_deleted: u64,
    pub webhook_attempts_deleted: u64,
    pub nonces_deleted: u64,
    pub sessions_deleted: u64,
    /// Unused images (each recorded by itself, `media.deleted_unused`).
    pub images_deleted: u64,
}

impl RetentionReport {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The pipeline's rows by state, as the metrics report them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipelineCounts {
    /// (table, state, rows): `activity`, `payout_item`, `payout_batch`,
    /// `payout_chunk`.
    pub by_state: Vec<(String, String, i64)>,
    pub findings_open: i64,
    /// When the longest-waiting confirmed chunk was confirmed: the
    /// reconciliation lag is now minus this.
    pub oldest_unreconciled_at_ms: Option<i64>,
}

/// The queue lengths the home page shows (see `work`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct WaitingCounts {
    /// Activities waiting for a person's review.
    pub reviews: i64,
    /// Batches waiting for approval that `viewer` did not make and has not
    /// approved in their current form.
    pub to_approve: i64,
    /// Approved batches not yet started.
    pub to_disburse: i64,
    pub findings_open: i64,
    /// Content webhooks that ran out of retries.
    pub failed_deliveries: i64,
    /// Role requests `viewer` may decide (neither asked by them nor for them).
    pub role_requests: i64,
}

/// Everything the domain stores, one sub-trait per area. `dyn Store` is what
/// the rest of the code holds; import the sub-trait to call its methods.
#[async_trait]
pub trait Store:
    LedgerStore
    + CampaignStore
    + MachineStore
    + ActivityStore
    + ValidationStore
    + PayoutStore
    + ChainStore
    + ContentStore
    + LeaderboardStore
    + Send
    + Sync
    + 'static
{
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// Rows per state of the pipeline's tables, for the metrics.
    async fn pipeline_counts(&self) -> StoreResult<PipelineCounts>;

    /// Creates the month partitions (activities and attempts) of the month
    /// of `now_ms` and the `months_ahead` after it that do not exist yet;
    /// their names. Nothing on SQLite, which has no partitions.
    async fn ensure_partitions(&self, now_ms: i64, months_ahead: u32) -> StoreResult<Vec<String>>;

    /// Removes what the retention policy says is past keeping, in one
    /// transaction, and records it in the audit log (when anything went).
    /// Never touches money records or the audit log itself.
    async fn apply_retention(
        &self,
        cutoffs: &RetentionCutoffs,
        audit: &crate::audit::AuditRecord,
    ) -> StoreResult<RetentionReport>;

    /// How much work waits in each queue, for `viewer`; each count stops at
    /// `cap` so a long queue costs no more than a short one.
    async fn waiting_counts(&self, viewer: StaffUserId, cap: i64) -> StoreResult<WaitingCounts>;

    async fn count_staff(&self) -> StoreResult<i64>;
    /// Creates an account with its roles. A taken email is `Conflict`.
    async fn create_staff(
        &self,
        new: &NewStaff<'_>,
        audit: &AuditRecord,
    ) -> StoreResult<StaffRecord>;
    async fn staff_by_email(&self, email: &str) -> StoreResult<Option<StaffRecord>>;
    async fn staff_by_id(&self, staff_user_id: StaffUserId) -> StoreResult<Option<StaffRecord>>;
    /// Keyset page ordered by id.
    async fn list_staff(&self, after_id: StaffUserId, limit: u32) -> StoreResult<Vec<StaffRecord>>;
    async fn set_roles(
        &self,
        staff_user_id: StaffUserId,
        roles: &[Role],
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    /// Stores a request for a privileged role set; one pending per person
    /// (`Conflict` otherwise).
    async fn request_roles(
        &self,
        staff_user_id: StaffUserId,
        roles: &[Role],
        requested_by: StaffUserId,
        audit: &AuditRecord,
    ) -> StoreResult<RoleRequestId>;
    async fn role_request(
        &self,
        request_id: RoleRequestId,
    ) -> StoreResult<Option<RoleRequestRecord>>;
    /// Pending requests, oldest first.
    async fn pending_role_requests(&self, limit: u32) -> StoreResult<Vec<RoleRequestRecord>>;
    /// The request waiting for this person, if any (at most one can).
    async fn pending_role_request_of(
        &self,
        staff_user_id: StaffUserId,
    ) -> StoreResult<Option<RoleRequestRecord>>;
    /// Approves (the roles replace the person's roles) or rejects a pending
    /// request, in one transaction with its audit record. False if it was no
    /// longer pending.
    async fn decide_role_request(
        &self,
        request_id: RoleRequestId,
        decided_by: StaffUserId,
        approve: bool,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Disabling also bumps the session epoch, which ends every session at once.
    async fn set_disabled(
        &self,
        staff_user_id: StaffUserId,
        disabled: bool,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    /// Ends every session of the account ("sign out everywhere").
    async fn bump_session_epoch(
        &self,
        staff_user_id: StaffUserId,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    async fn set_password(
        &self,
        staff_user_id: StaffUserId,
        password_hash: &str,
        must_change_password: bool,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    /// Stores a not-yet-confirmed TOTP secret; `Conflict` if the account has one
    /// (pending or confirmed) already.
    async fn set_pending_totp(
        &self,
        staff_user_id: StaffUserId,
        secret_base32: &str,
    ) -> StoreResult<()>;
    /// Every stored secret that is sealed (or from before sealing): TOTP
    /// seeds and machine signing keys, for re-sealing under the current key.
    async fn sealed_values(&self) -> StoreResult<Vec<SealedValue>>;
    /// Replaces one sealed value if it is still `value.stored`; false if it
    /// changed meanwhile (it is then sealed under the current key already).
    async fn replace_sealed(&self, value: &SealedValue, resealed: &str) -> StoreResult<bool>;
    /// Marks the pending secret confirmed at `step`, replacing any recovery
    /// codes with the given hashes. False if already confirmed or `step` was used.
    async fn confirm_totp(
        &self,
        staff_user_id: StaffUserId,
        step: i64,
        recovery_code_hashes: &[String],
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Records `step` as used; false if it (or a later one) was used already.
    async fn accept_totp_step(&self, staff_user_id: StaffUserId, step: i64) -> StoreResult<bool>;
    /// Spends one recovery code; false if unknown or already spent.
    async fn use_recovery_code(
        &self,
        staff_user_id: StaffUserId,
        code_hash: &str,
        now_ms: i64,
    ) -> StoreResult<bool>;
    async fn unused_recovery_codes(&self, staff_user_id: StaffUserId) -> StoreResult<i64>;

    async fn append_audit(&self, audit: &AuditRecord) -> StoreResult<()>;
    /// Newest first; `before_id` continues a previous page.
    async fn list_audit(
        &self,
        before_id: Option<AuditId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditRow>>;

    async fn session_load(&self, session_id: &str, now_ms: i64) -> StoreResult<Option<String>>;
    /// Inserts a new session; false if the id is taken (the caller picks another).
    async fn session_create(
        &self,
        session_id: &str,
        data_json: &str,
        expires_at_ms: i64,
    ) -> StoreResult<bool>;
    async fn session_save(
        &self,
        session_id: &str,
        data_json: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    async fn session_delete(&self, session_id: &str) -> StoreResult<()>;
    async fn session_delete_expired(&self, now_ms: i64) -> StoreResult<u64>;
}

/// The budget ledger (money rule 2). Implemented in `ledger_sql.rs`.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    async fn create_cost_centre(
        &self,
        code: &str,
        name: &str,
        audit: &AuditRecord,
    ) -> StoreResult<CostCentreRecord>;
    async fn cost_centre(
        &self,
        cost_centre_id: CostCentreId,
    ) -> StoreResult<Option<CostCentreRecord>>;
    async fn list_cost_centres(
        &self,
        after_id: CostCentreId,
        limit: u32,
    ) -> StoreResult<Vec<CostCentreRecord>>;
    /// Adds money to a cost centre. `reference` is the client's idempotency
    /// key: the same deposit again is `AlreadyFunded`; a different deposit
    /// under the same key is `Conflict`.
    async fn fund_cost_centre(
        &self,
        cost_centre_id: CostCentreId,
        amount: Amount,
        reference: &str,
        audit: &AuditRecord,
    ) -> StoreResult<FundOutcome>;
    /// The latest funding of a cost centre other than `except_reference`:
    /// (amount in minor units, when).
    async fn last_funding(
        &self,
        cost_centre_id: CostCentreId,
        except_reference: &str,
    ) -> StoreResult<Option<(i64, i64)>>;
    /// Reserves every item or none, each with one guarded write so that
    /// available never goes below zero, however many replicas race.
    async fn reserve_budget(
        &self,
        items: &[ReserveItem],
        audit: &AuditRecord,
    ) -> StoreResult<ReserveOutcome>;
    /// Posts or voids a pending reservation; false if it was settled already.
    async fn settle_reservation(
        &self,
        budget_reservation_id: ReservationId,
        settlement: Settlement,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Files a transfer request under `request_key` (the form's idempotency
    /// key): the same request again returns the first; another request
    /// under the same key is `Conflict`.
    async fn request_transfer(
        &self,
        from_cost_centre_id: CostCentreId,
        to_cost_centre_id: CostCentreId,
        amount: Amount,
        requested_by: StaffUserId,
        request_key: &str,
        audit: &AuditRecord,
    ) -> StoreResult<TransferRecord>;
    async fn transfer(&self, budget_transfer_id: TransferId)
        -> StoreResult<Option<TransferRecord>>;
    /// Transfers waiting for a second finance user, oldest first.
    async fn pending_transfers(&self, limit: u32) -> StoreResult<Vec<TransferRecord>>;
    /// Executes or rejects a pending transfer. The decider must differ from
    /// the requester (also a database constraint).
    async fn decide_transfer(
        &self,
        budget_transfer_id: TransferId,
        decided_by: StaffUserId,
        approve: bool,
        audit: &AuditRecord,
    ) -> StoreResult<TransferOutcome>;
    /// Everything that disagrees between the journal and the balances:
    /// unbalanced journals, balance columns that differ from their entries,
    /// reserved totals that differ from pending reservations. Empty when sound.
    async fn ledger_discrepancies(&self) -> StoreResult<Vec<String>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    pub campaign_id: CampaignId,
    pub name: String,
    pub owner_user_id: StaffUserId,
    pub owner_email: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub status: payquest_types::CampaignStatus,
    pub alert_threshold_pct: i64,
    pub budget: CostCentreRecord,
}

pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub owner_user_id: StaffUserId,
    pub cost_centre_id: CostCentreId,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub alert_threshold_pct: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestRecord {
    pub quest_id: QuestId,
    pub campaign_id: CampaignId,
    pub name: String,
    pub reward: Amount,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub validator_kind: String,
    pub validator_config_json: String,
    pub active: bool,
}

pub struct NewQuest<'a> {
    pub campaign_id: CampaignId,
    pub name: &'a str,
    pub reward: Amount,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub validator_kind: &'a str,
    pub validator_config_json: &'a str,
}

/// Campaigns and quests. Implemented in `campaigns_sql.rs`.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// A cost centre already used by a campaign is `Conflict`; an unknown
    /// owner or cost centre is `NotFound`.
    async fn create_campaign(
        &self,
        new: &NewCampaign<'_>,
        audit: &AuditRecord,
    ) -> StoreResult<CampaignRecord>;
    async fn campaign(&self, campaign_id: CampaignId) -> StoreResult<Option<CampaignRecord>>;
    /// Keyset page; only the owner's campaigns when `owner_user_id` is given.
    async fn list_campaigns(
        &self,
        owner_user_id: Option<StaffUserId>,
        after_id: CampaignId,
        limit: u32,
    ) -> StoreResult<Vec<CampaignRecord>>;
    async fn set_campaign_status(
        &self,
        campaign_id: CampaignId,
        status: payquest_types::CampaignStatus,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    async fn create_quest(
        &self,
        new: &NewQuest<'_>,
        audit: &AuditRecord,
    ) -> StoreResult<QuestRecord>;
    async fn quest(&self, quest_id: QuestId) -> StoreResult<Option<QuestRecord>>;
    /// Opens or retires a quest; a retired quest accepts no new activities.
    async fn set_quest_active(
        &self,
        quest_id: QuestId,
        active: bool,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    async fn quests_of(&self, campaign_id: CampaignId) -> StoreResult<Vec<QuestRecord>>;
    /// The newest `limit` journal movements of a cost centre, oldest first.
    async fn budget_movements(
        &self,
        cost_centre_id: CostCentreId,
        limit: u32,
    ) -> StoreResult<Vec<BudgetMovement>>;
    /// Rewards the campaign's activities earned since `since_ms`, whatever
    /// became of them (paid ones too): (created at, amount), the newest
    /// `limit`, oldest first.
    async fn rewards_earned(
        &self,
        campaign_id: CampaignId,
        since_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, i64)>>;
    /// Stage times of the campaign's newest `limit` activities:
    /// (occurred, received, validated, rewarded).
    async fn stage_times(
        &self,
        campaign_id: CampaignId,
        limit: u32,
    ) -> StoreResult<Vec<(i64, i64, Option<i64>, Option<i64>)>>;
    /// What the campaign's rewards earned and not yet paid or failed add up
    /// to (minor units): they will draw on the budget.
    async fn unpaid_total(&self, campaign_id: CampaignId) -> StoreResult<i64>;
    /// Takes the right to notify this crossing; false if already taken.
    async fn claim_budget_alert(
        &self,
        campaign_id: CampaignId,
        threshold_pct: i64,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Gives a claim back after a failed delivery, so the next round retries.
    async fn release_budget_alert(
        &self,
        campaign_id: CampaignId,
        threshold_pct: i64,
    ) -> StoreResult<()>;
}

/// A machine client as stored. Not `Serialize`: it holds the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientRecord {
    pub api_client_id: ApiClientId,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: String,
    pub token_version: i64,
    pub disabled: bool,
    pub created_at_ms: i64,
}

pub struct NewApiClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub scopes: &'a str,
    pub created_by: Option<StaffUserId>,
}

/// A token-signing key. Not `Serialize`/`Debug`-printable in full: the private half is secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub private_pkcs8: String,
    pub public_x: String,
    pub state: payquest_types::SigningKeyState,
    pub created_at_ms: i64,
    pub retired_at_ms: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Machine clients and token-signing keys. Implemented in `machine_sql.rs`.
#[async_trait]
pub trait MachineStore: Send + Sync {
    async fn create_api_client(
        &self,
        new: &NewApiClient<'_>,
        audit: &AuditRecord,
    ) -> StoreResult<ApiClientRecord>;
    async fn api_client(&self, client_id: &str) -> StoreResult<Option<ApiClientRecord>>;
    async fn list_api_clients(
        &self,
        after_id: ApiClientId,
        limit: u32,
    ) -> StoreResult<Vec<ApiClientRecord>>;
    /// Bumps the token version (every issued token dies), optionally setting a
    /// new secret hash and the disabled flag.
    async fn revoke_api_client_tokens(
        &self,
        client_id: &str,
        new_secret_hash: Option<&str>,
        disabled: Option<bool>,
        audit: &AuditRecord,
    ) -> StoreResult<ApiClientRecord>;
    /// Current, next, and keys retired at or after `retired_since_ms`.
    async fn signing_keys(&self, retired_since_ms: i64) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Inserts the first current and next keys; false if another process did first.
    async fn seed_signing_keys(
        &self,
        current: &SigningKeyRecord,
        next: &SigningKeyRecord,
    ) -> StoreResult<bool>;
    /// current → retired, next → current, `new_next` becomes next; one transaction.
    async fn rotate_signing_keys(
        &self,
        new_next: &SigningKeyRecord,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
}

/// One validated request item, ready to store.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub external_id: String,
    pub payload_hash: String,
    pub quest_id: QuestId,
    /// EIP-55 checksummed.
    pub wallet: String,
    pub game_account_id: Option<String>,
    pub social_handle: Option<String>,
    pub evidence_json: Option<String>,
    pub signature: Option<String>,
    pub occurred_at_ms: i64,
}

/// What storing one item found: a new row, or the row an earlier request made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredActivity {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub payload_hash: String,
    pub status: payquest_types::ActivityStatus,
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub activity_id: ActivityId,
    pub api_client_id: ApiClientId,
    pub external_id: String,
    pub quest_id: QuestId,
    pub wallet: String,
    pub status: payquest_types::ActivityStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub validated_at_ms: Option<i64>,
    pub rewarded_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub owner_user_id: Option<StaffUserId>,
    pub campaign_id: Option<CampaignId>,
    pub status: Option<String>,
    /// Only activities older than this id (paging).
    pub before_id: Option<ActivityId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityListRow {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub campaign_name: String,
    pub quest_name: String,
    pub wallet: String,
    pub status: payquest_types::ActivityStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    /// Its reward's state, once it earned one.
    pub payout: Option<payquest_types::PayoutItemState>,
}

/// Gamers and reported activities. Implemented in `activity_sql.rs`.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Stores a batch in one transaction: new rows are created, rows whose
    /// (client, external id) exists are returned as they are. Results are in
    /// input order.
    async fn insert_activities(
        &self,
        api_client_id: ApiClientId,
        items: &[NewActivity],
        received_at_ms: i64,
    ) -> StoreResult<Vec<StoredActivity>>;
    async fn activity(&self, activity_id: ActivityId) -> StoreResult<Option<ActivityRecord>>;
    /// Newest first, filtered; `owner_user_id` limits to that owner's campaigns.
    async fn list_activities(
        &self,
        filter: &ActivityFilter,
        limit: u32,
    ) -> StoreResult<Vec<ActivityListRow>>;
    async fn count_activities(&self) -> StoreResult<i64>;
    /// A gamer's linked accounts as (kind, reference): `game` ids and `social` handles.
    async fn linked_accounts(&self, wallet: &str) -> StoreResult<Vec<(String, String)>>;
    async fn gamer(&self, gamer_id: GamerId) -> StoreResult<Option<GamerRecord>>;
    /// A gamer's activities with their rewards, newest first, before
    /// `before` (keyset; 0 for the newest).
    async fn gamer_activities(
        &self,
        gamer_id: GamerId,
        before: ActivityId,
        limit: u32,
    ) -> StoreResult<Vec<GamerActivityRow>>;
    /// The gamer of a wallet, created on their first sign-in.
    async fn gamer_for_wallet(&self, wallet: &str, now_ms: i64) -> StoreResult<GamerRecord>;
    async fn insert_siwe_nonce(
        &self,
        nonce: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// Spends a nonce that is still good: true once, false ever after (or
    /// for one never issued or expired).
    async fn take_siwe_nonce(&self, nonce: &str, now_ms: i64) -> StoreResult<bool>;
    /// Deletes expired nonces; how many.
    async fn sweep_siwe_nonces(&self, now_ms: i64) -> StoreResult<u64>;
    /// Links an account of a kind (`game`, `social`) to the gamer (or
    /// refreshes the link, which makes it the one validators use);
    /// `Conflict` when another gamer has it. Audited in the same transaction.
    async fn link_gamer_account(
        &self,
        gamer_id: GamerId,
        kind: &str,
        account: &str,
        now_ms: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()>;
    /// Removes one of the gamer's links; whether there was one.
    async fn unlink_gamer_account(
        &self,
        gamer_id: GamerId,
        kind: &str,
        account: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// The gamer's linked accounts (those seen with their wallet on reports
    /// and those they linked): (kind, account, linked at), newest first per
    /// kind, `limit` at most.
    async fn gamer_accounts(
        &self,
        gamer_id: GamerId,
        limit: u32,
    ) -> StoreResult<Vec<(String, String, i64)>>;
    /// Quests of active campaigns with the gamer's completions of each, by
    /// quest id, `limit` at most.
    async fn gamer_quests(&self, gamer_id: GamerId, limit: u32) -> StoreResult<Vec<GamerQuestRow>>;
}

/// A quest as a gamer's portal lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GamerQuestRow {
    pub quest_id: QuestId,
    pub quest: String,
    pub campaign: String,
    pub reward_minor: i64,
    pub max_per_gamer: Option<i64>,
    pub completions: i64,
}

/// What a published leaderboard entry says about how it ranks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaderboardDef {
    pub slug: String,
    /// `None`: every campaign.
    pub campaign_id: Option<CampaignId>,
    /// `points` or `tokens`.
    pub ranked_by: String,
    pub starts_at_ms: i64,
    /// `None`: open-ended.
    pub ends_at_ms: Option<i64>,
}

/// Leaderboards: their rules and the score rows validation keeps.
#[async_trait]
pub trait LeaderboardStore: Send + Sync {
    /// The id of the leaderboard `def.slug` under this rule: created, or
    /// redefined with its scores rebuilt from validated activities (one
    /// transaction) when the rule changed; a read when it did not.
    async fn define_leaderboard(&self, def: &LeaderboardDef, now_ms: i64) -> StoreResult<i64>;
    /// A page of the ranking: score, then who reached it first, then the
    /// lower gamer id.
    async fn leaderboard_page(
        &self,
        leaderboard_id: i64,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<ScoreRow>>;
    /// How many gamers are ranked.
    async fn leaderboard_size(&self, leaderboard_id: i64) -> StoreResult<i64>;
    /// A gamer's rank (1-based) and line, if they are ranked.
    async fn leaderboard_rank(
        &self,
        leaderboard_id: i64,
        gamer_id: GamerId,
    ) -> StoreResult<Option<(i64, ScoreRow)>>;
}

/// One of a gamer's activities with its reward and paying transaction.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GamerActivityRow {
    pub activity_id: ActivityId,
    pub quest: String,
    pub campaign_id: CampaignId,
    pub campaign: String,
    pub status: String,
    pub reason: Option<String>,
    pub received_at_ms: i64,
    pub amount_minor: Option<i64>,
    pub reward_state: Option<String>,
    /// When the reward was earned, approved and confirmed on chain.
    pub rewarded_at_ms: Option<i64>,
    pub approved_at_ms: Option<i64>,
    pub confirmed_at_ms: Option<i64>,
    pub tx_hash: Option<String>,
}

/// A gamer as stored: known by their wallet (EIP-55).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GamerRecord {
    pub gamer_id: GamerId,
    pub wallet: String,
    pub created_at_ms: i64,
}

/// An activity claimed for validation, with what its validator needs.
#[derive(Debug, Clone)]
pub struct ClaimedActivity {
    pub activity_id: ActivityId,
    /// Proves this claim is still ours when the result is written.
    pub claim_until_ms: i64,
    pub attempts: i64,
    pub external_id: String,
    pub quest_id: QuestId,
    pub wallet: String,
    pub game_account_id: Option<String>,
    pub social_handle: Option<String>,
    pub evidence_json: Option<String>,
    pub signature: Option<String>,
    pub occurred_at_ms: i64,
    pub validator_config_json: String,
}

/// One validation attempt, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub at_ms: i64,
    pub duration_ms: i64,
    /// passed, failed, retry, review, reviewed.
    pub outcome: &'static str,
    pub detail: String,
    pub evidence_json: Option<String>,
}

/// A claimed activity, checked: the attempt to record and where it goes.
#[derive(Debug, Clone)]
pub struct CheckedActivity {
    pub claim: ClaimedActivity,
    pub attempt: AttemptRecord,
    pub verdict: Verdict,
}

/// The most checked activities written in one transaction.
pub const FINISH_BATCH_MAX: usize = 500;

/// Where an activity goes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Proven: price it, apply the quest's caps, create its payout item.
    Validated,
    Rejected {
        reason: String,
    },
    NeedsReview {
        reason: String,
    },
    RetryAt {
        at_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The activity's new status (`validated` only if a payout item was made).
    Done {
        status: String,
        reason: Option<String>,
        payout_item_id: Option<PayoutItemId>,
    },
    /// The claim expired and someone else took the activity; nothing written.
    LostClaim,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewItem {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub quest_id: QuestId,
    pub quest_name: String,
    pub wallet: String,
    pub reason: Option<String>,
    pub evidence_json: Option<String>,
    pub last_attempt_evidence_json: Option<String>,
    pub occurred_at_ms: i64,
}

/// Validation workers' claims and results, manual review, and rewards.
/// Implemented in `validation_sql.rs`.
#[async_trait]
pub trait ValidationStore: Send + Sync {
    /// Claims up to `limit` due activities: received and due, and, with
    /// `take_expired`, first those validating under an expired claim.
    /// PostgreSQL skips rows other workers hold.
    async fn claim_activities(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        take_expired: bool,
    ) -> StoreResult<Vec<ClaimedActivity>>;
    /// Records the attempt and applies the verdict, all in one transaction,
    /// only if the claim is still ours.
    async fn finish_attempt(
        &self,
        claim: &ClaimedActivity,
        attempt: &AttemptRecord,
        verdict: &Verdict,
    ) -> StoreResult<Finished>;
    /// `finish_attempt` for many activities (in chunks of
    /// `FINISH_BATCH_MAX`, one transaction each), with the same result for
    /// each: attempts, statuses, payout items, audit records and the
    /// leaderboard scores as multi-row statements, and each quest's
    /// completion counter moved once per chunk by a guarded update. Whatever
    /// the set-based path cannot decide for a whole group (a cap that the
    /// group would cross, a repeat period, an account to bind) goes through
    /// the per-activity path in the same transaction. Results in input order.
    async fn finish_attempts(&self, items: &[CheckedActivity]) -> StoreResult<Vec<Finished>>;
    async fn review_queue(&self, after_id: ActivityId, limit: u32) -> StoreResult<Vec<ReviewItem>>;
    /// A person's decision on an activity waiting for review; `None` if it
    /// was not waiting (decided already).
    async fn decide_review(
        &self,
        activity_id: ActivityId,
        approve: bool,
        reason: &str,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Finished>>;
    async fn count_payout_items(&self, quest_id: QuestId) -> StoreResult<i64>;
}

pub type DynStore = Arc<dyn Store>;

/// Connects to the database named by the URL's scheme and runs its migrations.
/// A failed migration is an error: the server must not start on a half-migrated schema.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    connect_with(url, &PoolSettings::default()).await
}

/// How the store's connection pool behaves: settings, as a deployment
/// behind RDS Proxy or PgBouncer needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections per replica (default: 8 on SQLite, 16 on PostgreSQL).
    pub max_connections: Option<u32>,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL ends any statement running longer (0: no limit). Sent as a
    /// startup parameter, so no session state is relied on.
    pub statement_timeout_ms: u64,
    /// No named prepared statements (PostgreSQL), for a transaction-mode
    /// pooler, where consecutive statements may run on different server
    /// connections.
    pub no_prepared_statements: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: 0,
            no_prepared_statements: false,
        }
    }
}

pub async fn connect_with(url: &str, pool: &PoolSettings) -> StoreResult<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect_with(url, pool).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect_with(url, pool).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// A read replica of a PostgreSQL primary, for reads that tolerate lag
/// (`PgStore::connect_replica`). SQLite has none: one file, one writer.
pub async fn connect_replica(url: &str, pool: &PoolSettings) -> StoreResult<DynStore> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect_replica(url, pool).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Names of the migrations of each backend, for the test that keeps them in step.
pub fn migration_versions(backend: Backend) -> Vec<(i64, String)> {
    let migrator = match backend {
        Backend::Sqlite => &sqlite::MIGRATOR,
        Backend::Postgres => &postgres::MIGRATOR,
    };
    migrator
        .iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}

pub(crate) fn parse_roles(raw: Vec<String>) -> StoreResult<Vec<Role>> {
    let mut roles = raw
        .iter()
        .map(|r| {
            r.parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    roles.sort();
    Ok(roles)
}

/// A CMS entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContentEntryRecord {
    pub content_entry_id: payquest_types::ContentEntryId,
    #[sqlx(try_from = "String")]
    pub content_type: payquest_types::ContentType,
    pub slug: String,
    #[sqlx(try_from = "String")]
    pub state: payquest_types::ContentState,
    pub draft_version_id: Option<payquest_types::ContentVersionId>,
    pub published_version_id: Option<payquest_types::ContentVersionId>,
    pub published_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An entry and the data of one of its versions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContentEntryWithData {
    #[sqlx(flatten)]
    pub entry: ContentEntryRecord,
    pub data_json: String,
}

/// A publish or unpublish to plan.
#[derive(Debug, Clone)]
pub struct NewContentSchedule {
    pub entry: payquest_types::ContentEntryId,
    pub action: payquest_types::ScheduleAction,
    /// What a publish shows: the draft when it was planned.
    pub version: Option<payquest_types::ContentVersionId>,
    pub due_at_ms: i64,
    pub created_by: StaffUserId,
}

/// A planned publish or unpublish as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContentScheduleRecord {
    pub content_schedule_id: payquest_types::ContentScheduleId,
    pub content_entry_id: payquest_types::ContentEntryId,
    #[sqlx(try_from = "String")]
    pub action: payquest_types::ScheduleAction,
    pub content_version_id: Option<payquest_types::ContentVersionId>,
    pub due_at_ms: i64,
    #[sqlx(try_from = "String")]
    pub state: payquest_types::ScheduleState,
    pub claimed_until_ms: Option<i64>,
    pub reason: Option<String>,
    pub created_by: StaffUserId,
    pub created_by_email: String,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// What running a due schedule comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutcome {
    /// Publish its version, or unpublish the entry.
    Apply,
    /// Done with nothing to change (e.g. the entry was already unpublished).
    Skip(String),
    /// Refused (e.g. a K-Drop its campaign's budget cannot cover).
    Fail(String),
}

/// A webhook event in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookEventRecord {
    pub webhook_event_id: payquest_types::WebhookEventId,
    pub kind: String,
    pub content_entry_id: payquest_types::ContentEntryId,
    #[sqlx(try_from = "String")]
    pub content_type: payquest_types::ContentType,
    pub slug: String,
    pub content_version_id: Option<payquest_types::ContentVersionId>,
    #[sqlx(try_from = "String")]
    pub state: payquest_types::WebhookState,
    pub attempts: i32,
    pub retries_left: i32,
    pub next_attempt_at_ms: i64,
    pub claimed_until_ms: Option<i64>,
    pub last_outcome: Option<String>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
}

/// An uploaded image.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MediaRecord {
    pub sha256: String,
    pub content_type: String,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    pub file_name: String,
    pub uploaded_by: StaffUserId,
    pub created_at_ms: i64,
}

/// One delivery attempt of a webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub at_ms: i64,
    pub status_code: Option<u16>,
    pub delivered: bool,
    pub outcome: String,
    pub duration_ms: i64,
}

/// One immutable version of a CMS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentVersionRecord {
    pub content_version_id: payquest_types::ContentVersionId,
    pub content_entry_id: payquest_types::ContentEntryId,
    pub data_json: String,
    pub author_id: StaffUserId,
    pub author_email: String,
    pub created_at_ms: i64,
}

#[async_trait]
pub trait ContentStore: Send + Sync {
    /// A new version of the entry (made on its first save) as its draft.
    async fn save_content_version(
        &self,
        content_type: payquest_types::ContentType,
        slug: &str,
        data_json: &str,
        author: StaffUserId,
        audit: &AuditRecord,
    ) -> StoreResult<(
        payquest_types::ContentEntryId,
        payquest_types::ContentVersionId,
    )>;
    /// Publishes `version` if it is still the entry's draft; false otherwise.
    /// With `notify`, the webhook event is written in the same transaction.
    async fn publish_content(
        &self,
        entry: payquest_types::ContentEntryId,
        version: payquest_types::ContentVersionId,
        notify: bool,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    async fn unpublish_content(
        &self,
        entry: payquest_types::ContentEntryId,
        notify: bool,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Plans a publish of `version` or an unpublish of the entry.
    async fn add_content_schedule(
        &self,
        new: &NewContentSchedule,
        audit: &AuditRecord,
    ) -> StoreResult<payquest_types::ContentScheduleId>;
    /// Cancels a pending schedule of the entry; false if it was no longer
    /// pending (it ran, or was cancelled).
    async fn cancel_content_schedule(
        &self,
        entry: payquest_types::ContentEntryId,
        schedule: payquest_types::ContentScheduleId,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// The entry's schedules, newest first.
    async fn content_schedules(
        &self,
        entry: payquest_types::ContentEntryId,
        limit: u32,
    ) -> StoreResult<Vec<ContentScheduleRecord>>;
    /// Claims up to `limit` pending schedules due at `now_ms` whose claim
    /// (if any) has lapsed, for `lease_ms`. Two workers never hold one row.
    async fn claim_content_schedules(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ContentScheduleRecord>>;
    /// Finishes a claimed schedule and applies its outcome to the entry,
    /// with the audit record and (for a change, with `notify`) the webhook
    /// event, in one transaction. False if the claim was lost: another
    /// worker finished the row, or it was cancelled.
    async fn finish_content_schedule(
        &self,
        claim: &ContentScheduleRecord,
        outcome: &ScheduleOutcome,
        notify: bool,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Pending schedules more than `late_ms` past their time at `now_ms`.
    async fn late_content_schedules(&self, now_ms: i64, late_ms: i64) -> StoreResult<i64>;
    /// Claims up to `limit` webhook events due at `now_ms` for `lease_ms`.
    async fn claim_webhook_events(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEventRecord>>;
    /// Logs an attempt at a claimed event and moves it on: delivered, due
    /// again at `retry_at_ms`, or failed when no retry is left. False if the
    /// claim was lost.
    async fn record_webhook_attempt(
        &self,
        claim: &WebhookEventRecord,
        attempt: &WebhookAttempt,
        retry_at_ms: i64,
    ) -> StoreResult<bool>;
    /// Sends an event again, with a fresh set of retries.
    async fn redeliver_webhook_event(
        &self,
        event: payquest_types::WebhookEventId,
        retries: u32,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Events, newest first, before `before` (keyset; 0 for the newest).
    async fn webhook_events(
        &self,
        before: payquest_types::WebhookEventId,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEventRecord>>;
    /// Pending events (the backlog).
    async fn webhook_backlog(&self) -> StoreResult<i64>;
    /// Records an uploaded image (the first upload of these bytes wins);
    /// false when it was known already.
    async fn insert_media(&self, media: &MediaRecord, audit: &AuditRecord) -> StoreResult<bool>;
    /// Uploaded images, newest first.
    async fn list_media(&self, limit: u32) -> StoreResult<Vec<MediaRecord>>;

    /// Images uploaded before `before_ms` that no content version (draft,
    /// published or old) names, oldest first.
    async fn unused_media(&self, before_ms: i64, limit: u32) -> StoreResult<Vec<MediaRecord>>;

    /// Deletes an image's row if still no version names it; false if one
    /// does now (or it is gone).
    async fn delete_unused_media(&self, sha256: &str, audit: &AuditRecord) -> StoreResult<bool>;
    async fn content_entry(
        &self,
        entry: payquest_types::ContentEntryId,
    ) -> StoreResult<Option<ContentEntryRecord>>;
    async fn content_entry_by_slug(
        &self,
        content_type: payquest_types::ContentType,
        slug: &str,
    ) -> StoreResult<Option<ContentEntryRecord>>;
    /// Entries with their draft's data, newest change first.
    async fn content_entries(
        &self,
        content_type: Option<payquest_types::ContentType>,
        limit: u32,
    ) -> StoreResult<Vec<(ContentEntryRecord, String)>>;
    async fn content_versions(
        &self,
        entry: payquest_types::ContentEntryId,
        limit: u32,
    ) -> StoreResult<Vec<ContentVersionRecord>>;
    async fn content_version(
        &self,
        version: payquest_types::ContentVersionId,
    ) -> StoreResult<Option<ContentVersionRecord>>;
    /// A published entry with its published data and when it was published.
    async fn published_content(
        &self,
        content_type: payquest_types::ContentType,
        slug: &str,
    ) -> StoreResult<Option<(ContentEntryRecord, String, i64)>>;
    /// Published entries of a type by slug, after `after_slug`.
    async fn published_contents(
        &self,
        content_type: payquest_types::ContentType,
        after_slug: &str,
        limit: u32,
    ) -> StoreResult<Vec<(ContentEntryRecord, String, i64)>>;
}
