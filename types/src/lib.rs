//! Types that cross the wire between the server and the wasm client: roles, the
//! error shape every API and server function answers with, and the DTOs the
//! pages render. Nothing here touches storage, so it compiles to wasm.

pub mod activities;
pub mod api_clients;
pub mod audit;
pub mod campaigns;
pub mod content;
pub mod findings;
pub mod ids;
pub mod money;
pub mod payouts;
pub mod quests;
pub mod review;
pub mod session;
pub mod states;
pub mod users;

pub use activities::*;
pub use api_clients::*;
pub use audit::*;
pub use campaigns::*;
pub use content::*;
pub use findings::*;
pub use ids::{
    ActivityId, ApiClientId, AuditId, BatchId, CampaignId, ChainTransferId, ChainTxId, ChunkId,
    ContentEntryId, ContentScheduleId, ContentVersionId, CostCentreId, FindingId, GamerId,
    JournalId, PayoutItemId, QuestId, ReservationId, RoleRequestId, StaffUserId, TransferId,
    WebhookEventId,
};
pub use money::{Amount, AmountError};
pub use payouts::*;
pub use quests::*;
pub use review::*;
pub use session::*;
pub use states::{
    ActivityStatus, BatchState, CampaignStatus, ChunkState, ContentState, ContentType, FindingKind,
    PayoutItemState, RoleRequestState, ScheduleAction, ScheduleState, SigningKeyState,
    TransferState, UnknownState, WebhookState,
};
pub use users::*;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A staff role. A user holds a set of them; what each allows is decided in the
/// domain layer (`payquest_domain::session::permissions`), never in the UI alone.
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
    /// The same money action was done moments ago; send it again with the
    /// repeat confirmed to do it twice.
    RepeatUnconfirmed,
    PayloadTooLarge,
    /// A Sign-In with Ethereum message that is not ERC-4361 text.
    SiweInvalid,
    /// The message names another site (domain, scheme or URI).
    SiweWrongDomain,
    /// The message names another chain.
    SiweWrongChain,
    /// The message has expired (or its issued-at is too old), or is not valid yet.
    SiweExpired,
    /// The message says it was issued in the future.
    SiweIssuedInFuture,
    /// The signature is not by the message's address.
    SiweBadSignature,
    /// The message's nonce is not one we issued, was used, or expired: start again.
    SiweNonce,
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
            ErrorCode::RepeatUnconfirmed => "repeat_unconfirmed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::SiweInvalid => "siwe_invalid",
            ErrorCode::SiweWrongDomain => "siwe_wrong_domain",
            ErrorCode::SiweWrongChain => "siwe_wrong_chain",
            ErrorCode::SiweExpired => "siwe_expired",
            ErrorCode::SiweIssuedInFuture => "siwe_issued_in_future",
            ErrorCode::SiweBadSignature => "siwe_bad_signature",
            ErrorCode::SiweNonce => "siwe_nonce",
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
            ErrorCode::InvalidCode | ErrorCode::InvalidInput | ErrorCode::SiweInvalid => 422,
            ErrorCode::SiweWrongDomain
            | ErrorCode::SiweWrongChain
            | ErrorCode::SiweExpired
            | ErrorCode::SiweIssuedInFuture
            | ErrorCode::SiweBadSignature
            | ErrorCode::SiweNonce => 401,
            ErrorCode::Throttled => 429,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict
            | ErrorCode::BudgetShort
            | ErrorCode::Stale
            | ErrorCode::NotPending
            | ErrorCode::RepeatUnconfirmed => 409,
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
    /// The input the error is about (a form field's name), when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
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
