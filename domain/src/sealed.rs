//! Secrets the database keeps for us (TOTP seeds, machine signing keys) are
//! sealed with XChaCha20-Poly1305 under a key the database doesn't hold:
//! `PAYQUEST_SECRETS_KEY_FILE`, one `key_id=base64(32 bytes)` per line, the
//! first one current. Older keys stay in the file to open what they sealed
//! until it is sealed again; a value with no `sealed:` prefix is a plain one
//! from before sealing and opens as it is. A copy of the database alone
//! gives neither an authenticator seed nor a signing key.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{DomainError, DomainResult};

const PREFIX: &str = "sealed:v1:";
const NONCE_BYTES: usize = 24;

/// The keys, current first.
pub struct Sealer {
    keys: Vec<(String, XChaCha20Poly1305)>,
    /// The current key's bytes, from which keys for other uses are derived
    /// (never used directly for anything else).
    current: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|(id, _)| id))
            .finish()
    }
}

static SEALER: OnceLock<Sealer> = OnceLock::new();

impl Sealer {
    /// Parses the key file's text.
    pub fn parse(text: &str) -> DomainResult<Sealer> {
        let mut keys = Vec::new();
        let mut current = None;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (id, b64) = line.split_once('=').ok_or_else(|| {
                DomainError::InvalidInput("a secrets key line is key_id=base64(32 bytes)".into())
            })?;
            let id = id.trim();
            if id.is_empty() || id.contains(':') {
                return Err(DomainError::InvalidInput(
                    "a secrets key id is non-empty and has no ':'".into(),
                ));
            }
            let raw = STANDARD
                .decode(b64.trim())
                .map_err(|_| DomainError::InvalidInput(format!("secrets key {id}: not base64")))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&raw).map_err(|_| {
                DomainError::InvalidInput(format!("secrets key {id}: must be 32 bytes"))
            })?;
            if current.is_none() {
                current = <[u8; 32]>::try_from(raw.as_slice()).ok();
            }
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(DomainError::InvalidInput(
                "the secrets key file holds no key".into(),
            ));
        }
        let current = current
            .ok_or_else(|| DomainError::InvalidInput("the secrets key file holds no key".into()))?;
        Ok(Sealer { keys, current })
    }

    /// A fresh key file's text: one new random key.
    pub fn generate(key_id: &str) -> String {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        format!("{key_id}={}\n", STANDARD.encode(key))
    }

    /// Installs the process's sealer (once, at start).
    pub fn install(self) -> DomainResult<()> {
        SEALER
            .set(self)
            .map_err(|_| DomainError::Internal("the secrets key was installed twice".into()))
    }

    pub fn seal_with(&self, plain: &str) -> DomainResult<String> {
        let (id, cipher) = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, plain.as_bytes())
            .map_err(|_| DomainError::Internal("sealing a secret failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{id}:{}", STANDARD.encode(bytes)))
    }

    pub fn open_with(&self, stored: &str) -> DomainResult<String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = || DomainError::Internal("a sealed secret can't be opened".into());
        let (id, b64) = rest.split_once(':').ok_or_else(corrupt)?;
        let (_, cipher) = self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| {
            DomainError::Internal(
                format!("secret sealed with key {id}, which is not in the key file").into(),
            )
        })?;
        let bytes = STANDARD.decode(b64).map_err(|_| corrupt())?;
        if bytes.len() < NONCE_BYTES {
            return Err(corrupt());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }
}

/// A key for one purpose (e.g. signing preview links), derived from the
/// current secrets key with HMAC-SHA256, so every replica derives the same
/// one; `None` when no secrets key is installed.
pub fn derived_key(purpose: &str) -> Option<[u8; 32]> {
    use hmac::{Hmac, Mac};
    let sealer = SEALER.get()?;
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&sealer.current).ok()?;
    mac.update(b"payquest derived key v1\0");
    mac.update(purpose.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// Seals a secret for storage (as it is when no key is installed).
pub fn seal(plain: &str) -> DomainResult<String> {
    match SEALER.get() {
        Some(s) => s.seal_with(plain),
        None => Ok(plain.to_owned()),
    }
}

/// Opens a stored secret (sealed or from before sealing).
pub fn open(stored: &str) -> DomainResult<String> {
    match SEALER.get() {
        Some(s) => s.open_with(stored),
        None if stored.starts_with(PREFIX) => Err(DomainError::Internal(
            "a sealed secret needs PAYQUEST_SECRETS_KEY_FILE".into(),
        )),
        None => Ok(stored.to_owned()),
    }
}

/// How many stored secrets were sealed again, and how many were current.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealReport {
    pub resealed: u32,
    pub current: u32,
}

/// Seals every stored secret that is plain or sealed under an older key
/// again under the process's current key; see `reseal_all_with`.
pub async fn reseal_all(store: &crate::store::DynStore) -> DomainResult<ResealReport> {
    let Some(sealer) = SEALER.get() else {
        return Err(DomainError::InvalidInput(
            "no secrets key is installed: set PAYQUEST_SECRETS_KEY_FILE".into(),
        ));
    };
    reseal_all_with(store, sealer).await
}

/// Seals every stored secret that is plain or sealed under an older key of
/// `sealer` again under its current key (the first in the key file), so
/// the older keys can then be removed from the file. Audited; safe to run
/// while serving (a value changed meanwhile is left: it is current already).
pub async fn reseal_all_with(
    store: &crate::store::DynStore,
    sealer: &Sealer,
) -> DomainResult<ResealReport> {
    let current = &sealer.keys[0].0;
    let mut report = ResealReport::default();
    for value in store.sealed_values().await? {
        let under_current = value
            .stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == current);
        if under_current {
            report.current += 1;
            continue;
        }
        let resealed = sealer.seal_with(&sealer.open_with(&value.stored)?)?;
        if store.replace_sealed(&value, &resealed).await? {
            report.resealed += 1;
        }
    }
    let audit = crate::audit::AuditRecord::new(
        &crate::audit::AuditActor::system("cli"),
        "secrets.resealed",
        "secrets",
    )
    .after(&serde_json::json!({
        "resealed": report.resealed, "current": report.current, "key_id": current,
    }));
    store.append_audit(&audit).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_current_and_old_keys_only() {
        let first = Sealer::generate("k1");
        let old = Sealer::parse(&first).expect("old");
        let sealed_old = old.seal_with("JBSWY3DPEHPK3PXP").expect("seal");
        assert!(sealed_old.starts_with("sealed:v1:k1:"));
        assert!(!sealed_old.contains("JBSWY3DPEHPK3PXP"));
        // Rotated: a new current key first, the old one kept for opening.
        let rotated =
            Sealer::parse(&format!("{}{first}", Sealer::generate("k2"))).expect("rotated");
        assert_eq!(
            rotated.open_with(&sealed_old).expect("old key opens"),
            "JBSWY3DPEHPK3PXP"
        );
        let fresh = rotated.seal_with("secret").expect("seal");
        assert!(fresh.starts_with("sealed:v1:k2:"));
        assert_eq!(rotated.open_with(&fresh).expect("open"), "secret");
        // Another key under the same id can't open it; nor can a missing one.
        let other = Sealer::parse(&Sealer::generate("k1")).expect("other");
        assert!(other.open_with(&sealed_old).is_err());
        assert!(old.open_with(&fresh).is_err());
        assert_eq!(
            rotated.open_with("plain-from-before").expect("legacy"),
            "plain-from-before"
        );
        assert!(Sealer::parse("k=notbase64!").is_err());
        assert!(!format!("{rotated:?}").contains('='));
    }
}
