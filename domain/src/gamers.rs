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

/// Payments a campaign needs in its recent history before a gamer is told
/// when theirs should arrive.
pub const MIN_PAYMENT_HISTORY: usize = 5;
/// The recent history: payments confirmed in this window.
pub const PAYMENT_HISTORY_WINDOW_MS: i64 = 30 * 24 * 3_600_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// A duration as a gamer reads it: "3.1 s", "12 min", "2 hours", "3 days"
/// (rounded up past a minute, so "within" holds).
pub fn duration_in_words(ms: i64) -> String {
    let ms = ms.max(0);
    let up = |unit: i64| (ms + unit - 1) / unit;
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min", up(60_000))
    } else if ms < 172_800_000 {
        match up(3_600_000) {
            1 => "1 hour".into(),
            h => format!("{h} hours"),
        }
    } else {
        format!("{} days", up(DAY_MS))
    }
}

/// A campaign's recent measured turnaround per stage (90th percentiles),
/// or `None` when it has too few payments to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turnaround {
    stages: Option<(i64, i64)>,
    /// Every recent approval happened on a weekday (UTC).
    weekday_approvals: bool,
}

impl Turnaround {
    /// From `payout_stage_times` rows: (occurred, earned, approved, confirmed).
    pub fn of(times: &[(i64, i64, Option<i64>, Option<i64>)], now_ms: i64) -> Turnaround {
        let paid: Vec<(i64, i64, i64)> = times
            .iter()
            .filter_map(|&(_, earned, approved, confirmed)| Some((earned, approved?, confirmed?)))
            .filter(|&(_, _, c)| c >= now_ms - PAYMENT_HISTORY_WINDOW_MS)
            .collect();
        if paid.len() < MIN_PAYMENT_HISTORY {
            return Turnaround {
                stages: None,
                weekday_approvals: false,
            };
        }
        let p90 = |mut v: Vec<i64>| {
            v.sort_unstable();
            crate::insights::percentile(&v, 90)
        };
        let approval = p90(paid.iter().map(|&(e, a, _)| a - e).collect());
        let chain = p90(paid.iter().map(|&(_, a, c)| c - a).collect());
        // 1970-01-01 was a Thursday: day 0 is weekday 3 counting Monday as 0.
        let weekday = |ms: i64| (ms.div_euclid(DAY_MS) + 3).rem_euclid(7) < 5;
        Turnaround {
            stages: Some((approval, chain)),
            weekday_approvals: paid.iter().all(|&(_, a, _)| weekday(a)),
        }
    }

    /// When an unpaid reward should arrive, in words; `None` for a paid one
    /// or one without a reward.
    pub fn expected(&self, r: &crate::store::GamerActivityRow, now_ms: i64) -> Option<String> {
        let state = r.reward_state.as_deref()?;
        if r.confirmed_at_ms.is_some() || matches!(state, "confirmed" | "reconciled") {
            return None;
        }
        if state == "failed" {
            return Some("It will be sent again; no time can be given while it is retried.".into());
        }
        let Some((approval, chain)) = self.stages else {
            return Some(
                "Not enough recent payments in this campaign yet to say when it will arrive."
                    .into(),
            );
        };
        let (from, after, within) = match (state, r.approved_at_ms) {
            ("approved" | "submitted", Some(at)) => (at, "its approval", chain),
            _ => (r.rewarded_at_ms?, "being earned", approval + chain),
        };
        let by = from + within;
        let usually = duration_in_words(within);
        let weekdays = if self.weekday_approvals && r.approved_at_ms.is_none() {
            "; approvals happen on weekdays"
        } else {
            ""
        };
        Some(if now_ms <= by {
            format!(
                "Usually paid within {usually} of {after}: expected by {}{weekdays}",
                crate::clock::format_ms(by)
            )
        } else {
            format!("Later than usual (usually within {usually} of {after}); still on its way{weekdays}")
        })
    }
}

/// Quests listed in the portal.
pub const MY_QUESTS_MAX: u32 = 100;
/// Linked accounts listed in the portal.
pub const MY_ACCOUNTS_MAX: u32 = 50;

/// An account as a gamer types it: 1 to 128 of letters, digits and
/// `_ . - @ # :` (so it is safe to show anywhere).
fn account_ref(account: &str) -> DomainResult<&str> {
    let account = account.trim();
    let n = account.chars().count();
    if n == 0 || n > crate::limits::ACCOUNT_REF_MAX_CHARS {
        return Err(DomainError::InvalidField {
            field: "account",
            message: format!(
                "give 1 to {} characters",
                crate::limits::ACCOUNT_REF_MAX_CHARS
            ),
        });
    }
    if !account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-@#:".contains(c))
    {
        return Err(DomainError::InvalidField {
            field: "account",
            message: "use letters, digits and _ . - @ # : only".into(),
        });
    }
    Ok(account)
}

/// A link or unlink checked: the kind, the account and its audit record.
fn account_change<'a>(
    gamer: &GamerActor,
    action: &'static str,
    kind: &str,
    account: &'a str,
    ip: Option<&str>,
) -> DomainResult<(&'static str, &'a str, crate::audit::AuditRecord)> {
    let kind = account_kind(kind)?;
    let account = account_ref(account)?;
    let audit = crate::audit::AuditRecord::new(
        &crate::audit::AuditActor::gamer(ip),
        action,
        format!("gamer:{}", gamer.gamer_id),
    )
    .after(&serde_json::json!({ "kind": kind, "account": account }));
    Ok((kind, account, audit))
}

fn account_kind(kind: &str) -> DomainResult<&'static str> {
    match kind {
        "game" => Ok("game"),
        "social" => Ok("social"),
        _ => Err(DomainError::InvalidField {
            field: "kind",
            message: "game or social".into(),
        }),
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
        let rows = self
            .store
            .gamer_activities(gamer.gamer_id, before, MY_ACTIVITIES_PAGE)
            .await?;
        let now = now_ms();
        // The turnaround of each campaign with an unpaid reward on the page.
        let mut history = std::collections::HashMap::new();
        for r in &rows {
            if r.confirmed_at_ms.is_none() && r.amount_minor.is_some() {
                if let std::collections::hash_map::Entry::Vacant(e) = history.entry(r.campaign_id) {
                    let times = self
                        .store
                        .payout_stage_times(r.campaign_id, crate::insights::TAT_SAMPLE_MAX)
                        .await?;
                    e.insert(Turnaround::of(&times, now));
                }
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| payquest_types::GamerActivityView {
                expected_payment: history
                    .get(&r.campaign_id)
                    .and_then(|t| t.expected(&r, now)),
                paid_after: r.confirmed_at_ms.map(|c| {
                    format!(
                        "Paid {} after it was reported",
                        duration_in_words(c - r.received_at_ms)
                    )
                }),
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

    /// The gamer's linked accounts and the quests of running campaigns,
    /// each with the gamer's completions (their own rows only).
    pub async fn my_profile(
        &self,
        gamer: &GamerActor,
    ) -> DomainResult<payquest_types::GamerProfileView> {
        let accounts = self
            .store
            .gamer_accounts(gamer.gamer_id, MY_ACCOUNTS_MAX)
            .await?
            .into_iter()
            .map(|(kind, account, at)| payquest_types::LinkedAccountView {
                kind,
                account,
                linked_at: crate::clock::format_ms(at),
            })
            .collect();
        let quests = self
            .store
            .gamer_quests(gamer.gamer_id, MY_QUESTS_MAX)
            .await?
            .into_iter()
            .map(|q| payquest_types::GamerQuestView {
                state: match (q.completions, q.max_per_gamer) {
                    (0, _) => "open",
                    (n, Some(max)) if n >= max => "completed",
                    _ => "repeatable",
                }
                .into(),
                quest: q.quest,
                campaign: q.campaign,
                reward: payquest_types::Amount::from_minor(q.reward_minor).to_string(),
                completions: q.completions,
            })
            .collect();
        Ok(payquest_types::GamerProfileView { accounts, quests })
    }

    /// Links a game account (`game`) or social handle (`social`) to the
    /// gamer; the latest linked of a kind is what validators use when a
    /// report names none. An account another wallet has is refused
    /// (`Conflict`); audited.
    pub async fn link_account(
        &self,
        gamer: &GamerActor,
        kind: &str,
        account: &str,
        ip: Option<&str>,
    ) -> DomainResult<()> {
        let (kind, account, audit) =
            account_change(gamer, "gamer.account_linked", kind, account, ip)?;
        self.store
            .link_gamer_account(gamer.gamer_id, kind, account, now_ms(), &audit)
            .await?;
        Ok(())
    }

    /// Unlinks one of the gamer's accounts; `NotFound` if it isn't linked.
    pub async fn unlink_account(
        &self,
        gamer: &GamerActor,
        kind: &str,
        account: &str,
        ip: Option<&str>,
    ) -> DomainResult<()> {
        let (kind, account, audit) =
            account_change(gamer, "gamer.account_unlinked", kind, account, ip)?;
        if self
            .store
            .unlink_gamer_account(gamer.gamer_id, kind, account, &audit)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::NotFound("linked account"))
        }
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
        short_wallet(&self.0)
    }
}

/// A wallet as the public site may show it: `0x1234…abcd`.
pub fn short_wallet(wallet: &str) -> String {
    match (
        wallet.get(..6),
        wallet.get(wallet.len().saturating_sub(4)..),
    ) {
        (Some(head), Some(tail)) if wallet.len() > 10 => format!("{head}…{tail}"),
        _ => wallet.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration_in_words(3_140), "3.1 s");
        assert_eq!(duration_in_words(61_000), "2 min");
        assert_eq!(duration_in_words(3_600_000), "1 hour");
        assert_eq!(duration_in_words(3_600_001), "2 hours");
        assert_eq!(duration_in_words(3 * DAY_MS), "3 days");
    }

    fn row(state: &str, rewarded: i64, approved: Option<i64>) -> crate::store::GamerActivityRow {
        crate::store::GamerActivityRow {
            activity_id: payquest_types::ActivityId(1),
            quest: "q".into(),
            campaign_id: payquest_types::CampaignId(1),
            campaign: "c".into(),
            status: "validated".into(),
            reason: None,
            received_at_ms: rewarded,
            amount_minor: Some(1),
            reward_state: Some(state.into()),
            rewarded_at_ms: Some(rewarded),
            approved_at_ms: approved,
            confirmed_at_ms: None,
            tx_hash: None,
        }
    }

    #[test]
    fn expected_payment_comes_from_measured_stages_or_says_there_is_too_little() {
        // 2026-11-23 (a Monday) 10:00 UTC.
        let monday = 1_795_000_000_000 - 1_795_000_000_000 % DAY_MS + 5 * DAY_MS + 10 * 3_600_000;
        let earned = monday - 7_200_000;
        let times: Vec<_> = (0..10)
            .map(|i| {
                (
                    earned,
                    earned,
                    Some(earned + 3_600_000 + i),
                    Some(earned + 3_660_000 + i),
                )
            })
            .collect();
        let few = Turnaround::of(&times[..MIN_PAYMENT_HISTORY - 1], monday);
        assert!(few
            .expected(&row("batched", monday, None), monday)
            .expect("said")
            .starts_with("Not enough recent payments"));
        let t = Turnaround::of(&times, monday);
        let waiting = t
            .expected(&row("batched", monday, None), monday)
            .expect("said");
        assert!(
            waiting.starts_with("Usually paid within 2 hours of being earned"),
            "{waiting}"
        );
        let approved = t
            .expected(&row("approved", monday - 1_000, Some(monday)), monday)
            .expect("said");
        assert!(
            approved.starts_with("Usually paid within 1 min of its approval: expected by"),
            "{approved}"
        );
        assert!(!approved.contains("weekdays"), "approval is behind it");
        assert!(
            waiting.ends_with("approvals happen on weekdays"),
            "{waiting}"
        );
        let late = t
            .expected(&row("batched", monday - 3 * DAY_MS, None), monday)
            .expect("said");
        assert!(late.starts_with("Later than usual"), "{late}");
        let mut paid = row("confirmed", monday, Some(monday));
        paid.confirmed_at_ms = Some(monday);
        assert_eq!(t.expected(&paid, monday), None);
        // History older than the window is not "recent".
        assert!(
            Turnaround::of(&times, monday + PAYMENT_HISTORY_WINDOW_MS + 4 * 3_600_000)
                .expected(&row("batched", monday, None), monday)
                .expect("said")
                .starts_with("Not enough")
        );
    }

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
