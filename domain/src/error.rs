//! The domain's error type. Each variant maps to one stable client code; the
//! internal variant carries detail for the log only.

use payquest_types::{ApiError, ErrorCode};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("that code is not valid")]
    InvalidCode,
    #[error("too many attempts; try again in {retry_after_s} s")]
    Throttled { retry_after_s: i64 },
    #[error("not signed in")]
    Unauthenticated,
    #[error("a second factor is required")]
    MfaRequired,
    #[error("enrol an authenticator app first")]
    MfaEnrolmentRequired,
    #[error("choose a new password first")]
    PasswordChangeRequired,
    #[error("your roles do not allow this")]
    Forbidden,
    /// Needs a second person: the message says who may do it.
    #[error("{0}")]
    FourEyes(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    InvalidInput(String),
    /// Invalid input the form can show beside one field (its name).
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// A conflict a page branches on: the kind names it, the text explains.
    #[error("{1}")]
    Named(Conflict, String),
    /// A Sign-In with Ethereum message that does not hold.
    #[error("{0}")]
    Siwe(crate::siwe::SiweError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// Conflicts with a code of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A campaign's budget can't cover the reservation.
    BudgetShort,
    /// The contents changed after they were read.
    Stale,
    /// Not waiting for this decision.
    NotPending,
    /// The same money action was done moments ago: confirm to do it again.
    RepeatUnconfirmed,
}

impl Conflict {
    pub fn code(self) -> ErrorCode {
        match self {
            Conflict::BudgetShort => ErrorCode::BudgetShort,
            Conflict::Stale => ErrorCode::Stale,
            Conflict::NotPending => ErrorCode::NotPending,
            Conflict::RepeatUnconfirmed => ErrorCode::RepeatUnconfirmed,
        }
    }
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        DomainError::Internal(Box::new(e))
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::InvalidCredentials => ErrorCode::InvalidCredentials,
            DomainError::InvalidCode => ErrorCode::InvalidCode,
            DomainError::Throttled { .. } => ErrorCode::Throttled,
            DomainError::Unauthenticated => ErrorCode::Unauthenticated,
            DomainError::MfaRequired => ErrorCode::MfaRequired,
            DomainError::MfaEnrolmentRequired => ErrorCode::MfaEnrolmentRequired,
            DomainError::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            DomainError::Forbidden => ErrorCode::Forbidden,
            DomainError::FourEyes(_) => ErrorCode::FourEyes,
            DomainError::NotFound(_) => ErrorCode::NotFound,
            DomainError::InvalidInput(_) | DomainError::InvalidField { .. } => {
                ErrorCode::InvalidInput
            }
            DomainError::Conflict(_) => ErrorCode::Conflict,
            DomainError::Named(kind, _) => kind.code(),
            DomainError::Siwe(e) => e.code(),
            DomainError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// What the client sees. Internal errors are opaque: the caller logs the
    /// detail with the request id before converting.
    pub fn to_api(&self) -> ApiError {
        match self {
            DomainError::Internal(_) => ApiError::new(
                ErrorCode::Internal,
                "Something went wrong on our side. It has been logged.",
            ),
            DomainError::InvalidField { field, message } => ApiError {
                field: Some((*field).to_owned()),
                ..ApiError::new(ErrorCode::InvalidInput, message.clone())
            },
            other => ApiError::new(other.code(), other.to_string()),
        }
    }
}

/// Names the input an invalid-input error is about, so a form can show it
/// beside that field: `check(name).for_field("name")?`.
pub trait ForField<T> {
    fn for_field(self, field: &'static str) -> DomainResult<T>;
}

impl<T> ForField<T> for DomainResult<T> {
    fn for_field(self, field: &'static str) -> DomainResult<T> {
        self.map_err(|e| match e {
            DomainError::InvalidInput(message) => DomainError::InvalidField { field, message },
            other => other,
        })
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => DomainError::Conflict(what),
            StoreError::NotFound(what) => DomainError::NotFound(what),
            other => DomainError::internal(other),
        }
    }
}
