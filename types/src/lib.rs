//! Types that cross the wire between the server and the wasm client: roles, the
//! error shape every API and server function answers with, and the DTOs the
//! pages render. Nothing here touches storage, so it compiles to wasm.

pub mod money;
pub mod states;

pub use money::{Amount, AmountError};
pub use states::{
    ActivityStatus, BatchState, CampaignStatus, ChunkState, FindingKind, PayoutItemState,
    RoleRequestState, SigningKeyState, TransferState, UnknownState,
};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A staff role. A user holds a set of them; what each allows is decided in the
/// domain layer (`payquest_domain::auth::permissions`), never in the UI alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Community,
    Maker,
    Checker,
    Finance,
    CampaignOwner,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Community,
        Role::Maker,
        Role::Checker,
        Role::Finance,
        Role::CampaignOwner,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Community => "community",
            Role::Maker => "maker",
            Role::Checker => "checker",
            Role::Finance => "finance",
            Role::CampaignOwner => "campaign_owner",
            Role::Auditor => "auditor",
        }
    }

    /// Roles that can move money or grant roles: two admins grant them.
    pub fn is_privileged(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Maker | Role::Checker | Role::Finance
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Community => "Community",
            Role::Maker => "Maker",
            Role::Checker => "Checker",
            Role::Finance => "Finance",
            Role::CampaignOwner => "Campaign owner",
            Role::Auditor => "Auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What an error means to a client. The code is stable (clients branch on it);
/// the message is for people and may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not signed in, or the session ended.
    Unauthenticated,
    /// Wrong email or password, or an unknown account: deliberately one code.
    InvalidCredentials,
    /// A second factor is required before anything else.
    MfaRequired,
    /// The account must enrol an authenticator app before anything else.
    MfaEnrolmentRequired,
    /// The one-time password must be replaced before anything else.
    PasswordChangeRequired,
    /// The TOTP or recovery code was wrong, expired or already used.
    InvalidCode,
    /// Too many failed attempts; try again later.
    Throttled,
    /// Signed in, but the roles held do not allow this.
    Forbidden,
    /// A state-changing request that did not come from one of our pages (CSRF guard).
    CrossOrigin,
    /// The action needs a second person (four eyes): one may not approve or grant to oneself.
    FourEyes,
    NotFound,
    /// The input failed validation; the message names the field.
    InvalidInput,
    /// The request conflicts with existing state (e.g. an email in use).
    Conflict,
    /// A campaign's budget can't cover what the batch would reserve.
    BudgetShort,
    /// The thing changed after it was read (e.g. a batch's contents after the
    /// checker opened it): reload and look again.
    Stale,
    /// It is not waiting for this decision (decided already, or never asked).
    NotPending,
    PayloadTooLarge,
    /// Something failed on our side; details are in the server log under the request id.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::MfaEnrolmentRequired => "mfa_enrolment_required",
            ErrorCode::PasswordChangeRequired => "password_change_required",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::Throttled => "throttled",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::FourEyes => "four_eyes",
            ErrorCode::CrossOrigin => "cross_origin",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Conflict => "conflict",
            ErrorCode::BudgetShort => "budget_short",
            ErrorCode::Stale => "stale",
            ErrorCode::NotPending => "not_pending",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => 401,
            ErrorCode::MfaRequired
            | ErrorCode::MfaEnrolmentRequired
            | ErrorCode::PasswordChangeRequired
            | ErrorCode::Forbidden
            | ErrorCode::FourEyes
            | ErrorCode::CrossOrigin => 403,
            ErrorCode::InvalidCode | ErrorCode::InvalidInput => 422,
            ErrorCode::Throttled => 429,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict
            | ErrorCode::BudgetShort
            | ErrorCode::Stale
            | ErrorCode::NotPending => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Internal => 500,
        }
    }
}

/// The one error shape of every API response and server function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Where a signed-in browser session stands on the way to full access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Password accepted; a TOTP or recovery code is needed.
    SecondFactor,
    /// Password accepted but it was a one-time password: choose a new one.
    ChangePassword,
    /// No authenticator enrolled yet: enrol one.
    EnrolMfa,
    /// Fully signed in.
    Active,
}

/// The signed-in staff member, as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub stage: SessionStage,
    /// The dashboard areas this user may open, derived from the roles on the server.
    pub areas: Vec<Area>,
}

/// A dashboard area. Navigation shows only the areas a user may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Campaigns,
    Activities,
    Review,
    Payouts,
    Approvals,
    Findings,
    Users,
    ApiClients,
    Audit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub mfa_enrolled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: UserSummary,
    /// Shown once to the admin who created the account; never stored in clear.
    pub one_time_password: String,
    /// Privileged roles asked for but not granted yet: a second admin approves them.
    pub waiting_for_approval: Option<RoleRequest>,
}

/// The outcome of a change of someone's roles: what holds now, and what waits
/// for a second admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChange {
    pub user: UserSummary,
    pub waiting_for_approval: Option<RoleRequest>,
}

/// A request to give someone a privileged role set (admin, maker, checker or
/// finance), waiting for an admin who is neither the asker nor the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRequest {
    pub request_id: i64,
    pub user_id: i64,
    pub email: String,
    /// The whole role set the person will hold once approved.
    pub roles: Vec<Role>,
    pub requested_by: String,
    pub requested_at: String,
    /// The viewer may approve or reject it (an admin other than the asker and the person).
    pub can_decide: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaEnrolment {
    /// The base32 secret, for typing into an authenticator by hand.
    pub secret_base32: String,
    pub otpauth_url: String,
    /// The otpauth URL as an SVG QR code.
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub audit_id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub ip: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}

/// A campaign as lists and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub campaign_id: i64,
    pub name: String,
    pub owner_email: String,
    pub status: CampaignStatus,
    pub starts_at: String,
    pub ends_at: String,
    pub cost_centre_id: i64,
    pub cost_centre_code: String,
    pub funded: Amount,
    pub reserved: Amount,
    pub spent: Amount,
    pub available: Amount,
    pub alert_threshold_pct: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestSummary {
    pub quest_id: i64,
    pub name: String,
    pub reward: Amount,
    pub validator_kind: String,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub count: usize,
    pub p50_ms: i64,
    pub p90_ms: i64,
}

/// One campaign in full, for its owner and for finance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub summary: CampaignSummary,
    /// (time ms, funded minor, available minor), oldest first.
    pub burn_down: Vec<(i64, i64, i64)>,
    pub unpaid_rewards: Amount,
    pub pace_per_day: Amount,
    pub runs_out_at: Option<String>,
    pub stages: Vec<StageTime>,
    pub alert: Option<String>,
    pub quests: Vec<QuestSummary>,
    /// Idempotency key for the funding form as rendered: submitting the same
    /// form twice funds once; the page gets a new key after each success.
    pub fund_key: String,
    /// What the viewer may do here (the server checks again on every call).
    pub can_fund: bool,
    pub can_manage: bool,
    pub can_edit_quests: bool,
    pub cost_centre_id: i64,
    /// For finance: other campaigns' budgets to move money to, and the
    /// transfers waiting for a second finance approval.
    pub transfer_targets: Vec<CampaignSummary>,
    pub pending_transfers: Vec<TransferView>,
}

/// An activity waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub activity_id: i64,
    pub external_id: String,
    pub quest_name: String,
    pub wallet: String,
    pub reason: Option<String>,
    pub evidence: Option<String>,
    pub last_check: Option<String>,
    pub occurred_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub activity_id: i64,
    pub status: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClientSummary {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub disabled: bool,
    pub created_at: String,
}

/// Credentials as shown once, when created or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClientSecret {
    pub client_id: String,
    pub client_secret: String,
}

/// An activity as staff see it in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub activity_id: i64,
    pub external_id: String,
    pub campaign_name: String,
    pub quest_name: String,
    pub wallet: String,
    pub status: ActivityStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub occurred_at: String,
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferView {
    pub transfer_id: i64,
    pub from_cost_centre_id: i64,
    pub to_cost_centre_id: i64,
    pub amount: Amount,
    pub requested_by_me: bool,
}

/// A payout batch in lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub batch_id: i64,
    pub state: BatchState,
    pub note: String,
    pub maker_email: String,
    pub item_count: i64,
    pub total: Amount,
    pub approvals: i64,
    pub approvals_needed: i64,
    pub content_hash: String,
    pub created_at: String,
}

/// An eligible reward or a batch's item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutItemView {
    pub payout_item_id: i64,
    pub activity_id: i64,
    pub campaign_name: String,
    pub quest_name: String,
    pub wallet: String,
    pub amount: Amount,
    pub state: PayoutItemState,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignTotalView {
    pub campaign_id: i64,
    pub campaign_name: String,
    pub item_count: i64,
    pub total: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub checker_email: String,
    /// Whether it was given for the batch's current contents.
    pub current: bool,
    pub approved_at: String,
}

/// One chain transaction's worth of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkView {
    pub chunk_id: i64,
    pub seq: i64,
    pub state: ChunkState,
    pub item_count: i64,
    pub total: Amount,
    pub nonce: Option<i64>,
    pub tx_hash: Option<String>,
    /// A link to the transaction in a block explorer, when one is configured.
    pub tx_url: Option<String>,
    pub block: Option<i64>,
}

/// Everything the batch page shows, and what the viewer may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchView {
    pub summary: BatchSummary,
    pub decision_reason: Option<String>,
    pub totals: Vec<CampaignTotalView>,
    pub approvals: Vec<ApprovalView>,
    pub chunks: Vec<ChunkView>,
    pub items: Vec<PayoutItemView>,
    pub failed_items: i64,
    pub can_edit: bool,
    pub can_decide: bool,
    pub can_disburse: bool,
    /// An open request to withdraw the approved batch.
    pub withdrawal: Option<WithdrawalView>,
    pub can_request_withdrawal: bool,
    pub can_confirm_withdrawal: bool,
    pub can_cancel_withdrawal: bool,
}

/// Finance asked to withdraw a batch; a checker who did not ask confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalView {
    pub requested_by: String,
    pub reason: String,
    pub requested_at: String,
}

/// Which payout batches a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchList {
    /// Every batch the viewer may see.
    #[default]
    All,
    /// Batches waiting for this checker's approval (never their own).
    Inbox,
}

/// A reconciliation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub finding_id: i64,
    pub kind: FindingKind,
    pub payout_item_id: Option<i64>,
    pub chunk_id: Option<i64>,
    pub tx_hash: Option<String>,
    pub detail: String,
    pub created_at: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution_note: Option<String>,
}

/// Money the ledger and the chain disagree on, per campaign and age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftView {
    pub campaign_name: String,
    /// `ledger_ahead`: paid in the ledger, not yet proven on chain;
    /// `chain_ahead`: mined on chain, not yet confirmed in the ledger.
    pub direction: String,
    pub age: String,
    pub item_count: i64,
    pub total: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsReport {
    pub findings: Vec<FindingView>,
    pub drift: Vec<DriftView>,
    pub can_resolve: bool,
}
