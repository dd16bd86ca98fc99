//! Argon2id password hashing, always off the async runtime.
//!
//! An unknown account is checked against a dummy hash with the same
//! parameters, so "no such user" and "wrong password" cost the same time.

use std::sync::OnceLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};

use crate::{DomainError, DomainResult};

use super::credentials::Password;

/// Length of a generated one-time password.
pub const ONE_TIME_PASSWORD_CHARS: usize = 20;

fn hasher() -> Argon2<'static> {
    // Argon2id, OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
    Argon2::default()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"not a real password; equalises timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub async fn hash(password: &Password) -> DomainResult<String> {
    let raw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(raw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::Internal(e.to_string().into()))
    })
    .await
    .map_err(DomainError::internal)?
}

/// Verifies `password` against `stored`, or against the dummy hash when there
/// is no account, so both paths take the same time. True only for a real match.
pub async fn verify(password: &Password, stored: Option<String>) -> DomainResult<bool> {
    let raw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let is_real = stored.is_some();
        let encoded = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed =
            PasswordHash::new(&encoded).map_err(|e| DomainError::Internal(e.to_string().into()))?;
        let ok = hasher().verify_password(raw.as_bytes(), &parsed).is_ok();
        Ok(ok && is_real)
    })
    .await
    .map_err(DomainError::internal)?
}

pub fn generate_one_time_password() -> Password {
    let raw = Alphanumeric.sample_string(&mut rand::rngs::OsRng, ONE_TIME_PASSWORD_CHARS);
    Password::for_sign_in(raw).unwrap_or_else(|_| unreachable!("generated length is within limits"))
}

/// Warms the dummy hash so the first unknown-account sign-in is not faster.
pub fn warm_up() {
    let _ = dummy_hash();
}
