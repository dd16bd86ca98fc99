//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s) and
//! single-use recovery codes. A code is accepted once: the store keeps the last
//! step used and refuses any step that is not newer.

use payquest_types::StaffUserId;
use rand::distributions::{Distribution, Uniform};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret as TotpSecret, TOTP};

use crate::limits::{RECOVERY_CODE_COUNT, TOTP_SKEW_STEPS, TOTP_STEP_SECONDS};
use crate::{DomainError, DomainResult};

pub const ISSUER: &str = "PayQuest";
const SECRET_BYTES: usize = 20;
const DIGITS: usize = 6;

pub fn generate_secret_base32() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    TotpSecret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_base32: &str, account: &str) -> DomainResult<TOTP> {
    let bytes = TotpSecret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| DomainError::Internal(format!("stored TOTP secret: {e:?}").into()))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        TOTP_STEP_SECONDS,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| DomainError::Internal(format!("TOTP parameters: {e}").into()))
}

pub fn otpauth_url(secret_base32: &str, account: &str) -> DomainResult<String> {
    Ok(totp(secret_base32, account)?.get_url())
}

/// Renders the otpauth URL as an SVG QR code.
pub fn qr_svg(otpauth_url: &str) -> DomainResult<String> {
    let code = qrcode::QrCode::new(otpauth_url.as_bytes()).map_err(DomainError::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Drop the XML declaration: the SVG is embedded in HTML.
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    })
}

/// The step a Unix time falls in.
pub fn step_at(unix_s: u64) -> i64 {
    i64::try_from(unix_s / TOTP_STEP_SECONDS).unwrap_or(i64::MAX)
}

/// The step `code` is valid for, within the allowed skew of `now_unix_s`.
pub fn matching_step(
    secret_base32: &str,
    code: &str,
    now_unix_s: u64,
) -> DomainResult<Option<i64>> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret_base32, "account")?;
    let now_step = step_at(now_unix_s);
    let mut found = None;
    // Check every candidate step, so timing does not say which one matched.
    for step in (now_step - TOTP_SKEW_STEPS)..=(now_step + TOTP_SKEW_STEPS) {
        let Ok(at) = u64::try_from(step) else {
            continue;
        };
        let expected = t.generate(at * TOTP_STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    Ok(found)
}

/// The code for a Unix time; used by tests and the CLI's self-check.
pub fn code_at(secret_base32: &str, unix_s: u64) -> DomainResult<String> {
    Ok(totp(secret_base32, "account")?.generate(unix_s))
}

const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Symbols per recovery code: 25 of 31 is about 124 bits, past the 112 an
/// offline guess of a leaked hash would need to be hopeless.
const RECOVERY_CODE_CHARS: usize = 25;

/// Ten fresh codes like `k7m2p-xq9rt-…` (five groups of five).
pub fn generate_recovery_codes() -> Vec<String> {
    let pick = Uniform::from(0..RECOVERY_ALPHABET.len());
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let chars: Vec<char> = (0..RECOVERY_CODE_CHARS)
                .map(|_| char::from(RECOVERY_ALPHABET[pick.sample(&mut rng)]))
                .collect();
            chars
                .chunks(5)
                .map(|g| g.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

fn normalise_code(code: &str) -> String {
    code.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// What is stored for a recovery code: SHA-256 salted with the account, so
/// equal codes of two accounts never share a hash and no table serves both.
pub fn hash_recovery_code(staff_user_id: StaffUserId, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("payquest-recovery-code:{staff_user_id}:").as_bytes());
    h.update(normalise_code(code).as_bytes());
    hex::encode(h.finalize())
}

/// The unsalted hash of codes issued before salting, still accepted once each.
pub fn legacy_hash_recovery_code(code: &str) -> String {
    hex::encode(Sha256::digest(normalise_code(code).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_own_step_and_neighbours_only() {
        let secret = generate_secret_base32();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).expect("code");
        assert_eq!(
            matching_step(&secret, &code, now).expect("ok"),
            Some(step_at(now))
        );
        assert_eq!(
            matching_step(&secret, &code, now + TOTP_STEP_SECONDS).expect("ok"),
            Some(step_at(now))
        );
        assert_eq!(
            matching_step(&secret, &code, now + 10 * TOTP_STEP_SECONDS).expect("ok"),
            None
        );
        assert_eq!(matching_step(&secret, "12345", now).expect("ok"), None);
        assert_eq!(matching_step(&secret, "abcdef", now).expect("ok"), None);
    }

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s.
        let secret = TotpSecret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(code_at(&secret, 59).expect("code"), "287082");
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_normalised() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        let c = &codes[0];
        assert_eq!(c.len(), 29, "{c}");
        assert_eq!(
            hash_recovery_code(StaffUserId(7), c),
            hash_recovery_code(StaffUserId(7), &format!(" {} ", c.to_uppercase()))
        );
        assert_ne!(
            hash_recovery_code(StaffUserId(7), c),
            hash_recovery_code(StaffUserId(8), c),
            "salted per account"
        );
    }
}
