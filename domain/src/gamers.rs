//! Gamers are known by their EVM wallet. Addresses are stored in their EIP-55
//! checksummed form; a mixed-case address whose checksum is wrong is refused
//! (it is most likely a typo), an all-lower- or upper-case one is accepted.
//!
//! A signed-in gamer is a principal of their own (`GamerActor`), apart from
//! staff: a gamer session never yields a staff `Actor`, and a staff session
//! is not a gamer's. What a gamer may read is their own rows.

use std::str::FromStr;

use alloy_primitives::Address;
use payquest_types::GamerId;
use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::store::DynStore;
use crate::{DomainError, DomainResult};

/// What a browser session keeps of a signed-in gamer, under a key of its
/// own (never the staff sign-in's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GamerSession {
    pub gamer_id: GamerId,
    pub wallet: String,
    pub started_at_ms: i64,
}

/// A signed-in gamer, as the domain sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GamerActor {
    pub gamer_id: GamerId,
    pub wallet: WalletAddress,
}

/// Gamers as principals: who a gamer session is, while it is good.
pub struct Gamers {
    store: DynStore,
    /// However active, a gamer session ends this long after sign-in.
    lifetime_ms: i64,
}

/// Activities on one page of "My rewards".
pub const MY_ACTIVITIES_PAGE: u32 = 100;

/// A reward's state as a gamer reads it.
pub fn reward_state_in_words(state: &str) -> &'static str {
    match state {
        "eligible" => "earned",
        "batched" => "waiting for approval",
        "approved" => "approved",
        "submitted" => "paying",
        "confirmed" | "reconciled" => "paid",
        "failed" => "failed and being retried",
        _ => "being processed",
    }
}

/// How long a sign-in nonce is good for.
pub const NONCE_LIFETIME_MS: i64 = 5 * 60_000;

impl Gamers {
    pub fn new(store: DynStore, lifetime_ms: i64) -> Self {
        Self { store, lifetime_ms }
    }

    /// The signed-in gamer's own activities and rewards, newest first. The
    /// gamer comes from the session (`GamerActor`), never from the request.
    pub async fn my_activities(
        &self,
        gamer: &GamerActor,
        before: payquest_types::ActivityId,
    ) -> DomainResult<Vec<payquest_types::GamerActivityView>> {
        Ok(self
            .store
            .gamer_activities(gamer.gamer_id, before, MY_ACTIVITIES_PAGE)
            .await?
            .into_iter()
            .map(|r| payquest_types::GamerActivityView {
                activity_id: r.activity_id,
                quest: r.quest,
                campaign: r.campaign,
                status: r.status,
                reason: r.reason,
                reported_at: crate::clock::format_ms(r.received_at_ms),
                reward: r
                    .amount_minor
                    .map(|m| payquest_types::Amount::from_minor(m).to_string()),
                reward_state: r
                    .reward_state
                    .as_deref()
                    .map(|s| reward_state_in_words(s).to_owned()),
                tx_hash: r.tx_hash,
            })
            .collect())
    }

    /// A fresh single-use nonce (128 random bits) for a Sign-In with
    /// Ethereum message, good for `NONCE_LIFETIME_MS`.
    pub async fn issue_nonce(&self) -> DomainResult<String> {
        use rand::RngCore;
        let mut bytes = [0_u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let nonce = hex::encode(bytes);
        let now = now_ms();
        self.store
            .insert_siwe_nonce(&nonce, now, now + NONCE_LIFETIME_MS)
            .await?;
        Ok(nonce)
    }

    /// Signs a gamer in with a signed ERC-4361 message: every check of
    /// `siwe::verify`, then the nonce is spent (once, across replicas), and
    /// the wallet's gamer is found or created. A refusal writes nothing but
    /// its audit record (with the reason and the client's address).
    pub async fn sign_in_with_ethereum(
        &self,
        message: &str,
        signature: &str,
        expect: &crate::siwe::Expectations,
        ip: Option<&str>,
    ) -> DomainResult<GamerSession> {
        let now = now_ms();
        let checked = match crate::siwe::verify(message, signature, expect, now) {
            Ok(m) if self.store.take_siwe_nonce(&m.nonce, now).await? => Ok(m),
            Ok(_) => Err(crate::siwe::SiweError::Nonce),
            Err(e) => Err(e),
        };
        let m = match checked {
            Ok(m) => m,
            Err(e) => {
                let audit = crate::audit::AuditRecord::new(
                    &crate::audit::AuditActor::gamer(ip),
                    "gamer.sign_in_refused",
                    "gamer:unknown",
                )
                .after(&serde_json::json!({ "reason": e.code().as_str() }));
                self.store.append_audit(&audit).await?;
                return Err(DomainError::Siwe(e));
            }
        };
        let wallet = m.address.to_checksum(None);
        let gamer = self.store.gamer_for_wallet(&wallet, now).await?;
        let audit = crate::audit::AuditRecord::new(
            &crate::audit::AuditActor::gamer(ip),
            "gamer.signed_in",
            format!("gamer:{}", gamer.gamer_id),
        )
        .after(&serde_json::json!({ "wallet": WalletAddress(wallet.clone()).short() }));
        self.store.append_audit(&audit).await?;
        Ok(GamerSession {
            gamer_id: gamer.gamer_id,
            wallet,
            started_at_ms: now,
        })
    }

    /// The gamer of a session: `Unauthenticated` once it is older than the
    /// lifetime, or when the gamer or their wallet no longer match.
    pub async fn actor(&self, session: &GamerSession) -> DomainResult<GamerActor> {
        if now_ms() - session.started_at_ms > self.lifetime_ms {
            return Err(DomainError::Unauthenticated);
        }
        let gamer = self
            .store
            .gamer(session.gamer_id)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        if gamer.wallet != session.wallet {
            return Err(DomainError::Unauthenticated);
        }
        Ok(GamerActor {
            gamer_id: gamer.gamer_id,
            wallet: WalletAddress(gamer.wallet),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WalletAddress(String);

impl WalletAddress {
    pub fn parse(raw: &str) -> Result<WalletAddress, DomainError> {
        let bad = |why: &str| DomainError::InvalidInput(format!("wallet: {why}"));
        let s = raw.trim();
        let hex = s
            .strip_prefix("0x")
            .ok_or_else(|| bad("must start with 0x"))?;
        if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("must be 0x followed by 40 hex digits"));
        }
        let mixed = hex.bytes().any(|b| b.is_ascii_lowercase())
            && hex.bytes().any(|b| b.is_ascii_uppercase());
        let address = if mixed {
            Address::parse_checksummed(s, None).map_err(|_| bad("the EIP-55 checksum is wrong"))?
        } else {
            Address::from_str(s).map_err(|_| bad("not an address"))?
        };
        if address == Address::ZERO {
            return Err(bad("the zero address cannot receive payouts"));
        }
        Ok(WalletAddress(address.to_checksum(None)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `0x5aAe…eAed`: enough to recognise a wallet, for public pages.
    pub fn short(&self) -> String {
        format!("{}…{}", &self.0[..6], &self.0[self.0.len() - 4..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // EIP-55's own examples.
    const GOOD: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    #[test]
    fn checksums_are_checked_and_normalised() {
        assert_eq!(
            WalletAddress::parse(GOOD).map(|w| w.0).ok().as_deref(),
            Some(GOOD)
        );
        assert_eq!(
            WalletAddress::parse(&GOOD.to_lowercase())
                .map(|w| w.0)
                .ok()
                .as_deref(),
            Some(GOOD)
        );
        let typo = GOOD.replace("aAeb", "aaEb");
        assert!(WalletAddress::parse(&typo).is_err());
        for bad in [
            "",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x123",
            "0xZZaeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        ] {
            assert!(WalletAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(WalletAddress::parse("0x0000000000000000000000000000000000000000").is_err());
    }
}
