//! Who is signed in (a staff member or a gamer) and how far a staff
//! member's sign-in has got.

use crate::{CampaignId, Role, StaffUserId};
use serde::{Deserialize, Serialize};

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
    pub user_id: StaffUserId,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub stage: SessionStage,
    /// The dashboard areas this user may open, derived from the roles on the server.
    pub areas: Vec<Area>,
    /// The work waiting for this user, by role (empty until fully signed in).
    pub waiting: Vec<Waiting>,
}

/// Counts of waiting work stop here; the page says "1000+".
pub const WAITING_COUNT_CAP: i64 = 1000;

/// One kind of work waiting for a staff member, as the home page and the
/// navigation show it. Which kinds appear follows the member's roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Waiting {
    /// Activities in the manual review queue (community).
    Reviews { count: i64 },
    /// Batches waiting for this checker: never their own, nor ones they approved.
    BatchesToApprove { count: i64 },
    /// Approved batches waiting for disbursement (finance).
    BatchesToDisburse { count: i64 },
    /// Reconciliation findings nobody has resolved yet (finance).
    FindingsOpen { count: i64 },
    /// One of the owner's campaigns that has committed at least its alert
    /// threshold less ten points.
    BudgetNearThreshold {
        campaign_id: CampaignId,
        campaign: String,
        committed_pct: i64,
        threshold_pct: i64,
    },
    /// Role grants waiting for a second admin, that this admin may decide.
    RoleRequests { count: i64 },
    /// Content webhooks that gave up after their retries (whoever may
    /// redeliver them: community).
    FailedDeliveries { count: i64 },
}

impl Waiting {
    /// The area whose navigation link carries this count, if any.
    pub fn area(&self) -> Option<Area> {
        match self {
            Waiting::Reviews { .. } => Some(Area::Review),
            Waiting::BatchesToApprove { .. } => Some(Area::Approvals),
            Waiting::BatchesToDisburse { .. } => Some(Area::Payouts),
            Waiting::FindingsOpen { .. } => Some(Area::Findings),
            Waiting::BudgetNearThreshold { .. } => Some(Area::Campaigns),
            Waiting::FailedDeliveries { .. } => Some(Area::Content),
            Waiting::RoleRequests { .. } => Some(Area::Users),
        }
    }

    /// How many things wait (a budget counts as one).
    pub fn count(&self) -> i64 {
        match self {
            Waiting::Reviews { count }
            | Waiting::BatchesToApprove { count }
            | Waiting::BatchesToDisburse { count }
            | Waiting::FindingsOpen { count }
            | Waiting::FailedDeliveries { count }
            | Waiting::RoleRequests { count } => *count,
            Waiting::BudgetNearThreshold { .. } => 1,
        }
    }
}

/// A count as the page prints it: capped counts read "1000+".
pub fn count_in_words(count: i64) -> String {
    if count >= WAITING_COUNT_CAP {
        format!("{WAITING_COUNT_CAP}+")
    } else {
        count.to_string()
    }
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
    Content,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaEnrolment {
    /// The base32 secret, for typing into an authenticator by hand.
    pub secret_base32: String,
    pub otpauth_url: String,
    /// The otpauth URL as an SVG QR code.
    pub qr_svg: String,
}

/// The signed-in gamer, as the public site shows them (never more than the
/// shortened wallet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GamerMe {
    pub wallet_short: String,
}

/// What a wallet needs to build a Sign-In with Ethereum message: the site's
/// domain and URI, the chain, a fresh nonce and the time it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiweChallenge {
    pub domain: String,
    pub uri: String,
    pub chain_id: u64,
    pub nonce: String,
    /// RFC 3339, UTC.
    pub issued_at: String,
    pub statement: String,
    /// The whole ERC-4361 text to sign, for the address asked about.
    pub message: String,
}

/// One of a gamer's reported activities, as "My rewards" shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GamerActivityView {
    pub activity_id: crate::ActivityId,
    pub quest: String,
    pub campaign: String,
    /// received, validating, validated, rejected or needs_review.
    pub status: String,
    /// Why it was rejected or sent to review, if it was.
    pub reason: Option<String>,
    /// When it was reported (RFC 3339, UTC).
    pub reported_at: String,
    /// The reward it earned, in tokens, if any.
    pub reward: Option<String>,
    /// The reward's state in words: earned, waiting for approval, approved,
    /// paying, paid, failed and being retried.
    pub reward_state: Option<String>,
    /// When an unpaid reward should arrive, from the campaign's recent
    /// measured turnaround (or that there is not enough history to say).
    pub expected_payment: Option<String>,
    /// How long a paid reward took, from the report to the confirmed payment.
    pub paid_after: Option<String>,
    /// The transaction that paid it.
    pub tx_hash: Option<String>,
}

/// One line of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardLine {
    /// 1-based.
    pub rank: i64,
    /// The wallet, shortened (`0x1234…abcd`): nothing else about the gamer.
    pub wallet: String,
    /// Validated activities counted.
    pub points: i64,
    /// Tokens earned by them.
    pub tokens: String,
    /// The signed-in gamer's own line.
    pub me: bool,
}

/// A leaderboard as the public site shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardView {
    pub slug: String,
    pub title: String,
    pub period: String,
    /// `points` or `tokens`.
    pub ranked_by: String,
    /// When the period starts and ends (RFC 3339, UTC); no end: open-ended.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// The period has ended: its ranking is final.
    pub closed: bool,
    /// How ties are broken, in words.
    pub tie_break: String,
    /// How many gamers are ranked.
    pub ranked: i64,
    /// This page (1-based) and how many there are.
    pub page: u32,
    pub pages: u32,
    pub lines: Vec<LeaderboardLine>,
    /// The signed-in gamer's line (wherever it is), if they are ranked.
    pub me: Option<LeaderboardLine>,
}

/// An account a gamer linked (the game's player id, or a social handle):
/// validators use it when a report names none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedAccountView {
    /// `game` or `social`.
    pub kind: String,
    pub account: String,
    pub linked_at: String,
}

/// A quest of a running campaign and where the gamer stands with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GamerQuestView {
    pub quest: String,
    pub campaign: String,
    pub reward: String,
    pub completions: i64,
    /// `completed` (nothing more to earn), `open` (never done) or
    /// `repeatable` (done, and can be earned again).
    pub state: String,
}

/// What the portal shows beside the rewards: linked accounts and quests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GamerProfileView {
    pub accounts: Vec<LinkedAccountView>,
    pub quests: Vec<GamerQuestView>,
}
