//! One enum per state machine of the payout pipeline. Each is stored as the
//! text `as_str` gives (every state column has a CHECK listing exactly
//! these), travels as the same snake_case text, and parses back with
//! `FromStr` (or `TryFrom<String>`, as the store's rows decode it).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A stored state that is none of the enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownState {
    pub what: &'static str,
    pub value: String,
}

macro_rules! state_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownState { what: $what, value: other.to_owned() }),
                }
            }
        }

        /// Tests read better against the stored text.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownState;
            fn try_from(s: String) -> Result<Self, UnknownState> {
                s.parse()
            }
        }
    };
}

state_enum!(
    /// A reported activity: received → validating → validated / rejected /
    /// needs_review → (a person decides) validated / rejected; back to
    /// received for a retry after a failure to reach its source.
    ActivityStatus, "activity status" {
        Received => "received",
        Validating => "validating",
        Validated => "validated",
        Rejected => "rejected",
        NeedsReview => "needs_review",
    }
);

impl ActivityStatus {
    /// Not yet decided by the validators: it changes without anyone acting.
    pub fn is_pending(self) -> bool {
        matches!(self, ActivityStatus::Received | ActivityStatus::Validating)
    }
}

state_enum!(
    /// A payout batch: draft → pending_approval → approved / rejected →
    /// disbursing → disbursed → reconciled (or partially_failed); withdrawn.
    BatchState, "batch state" {
        Draft => "draft",
        PendingApproval => "pending_approval",
        Approved => "approved",
        Rejected => "rejected",
        Disbursing => "disbursing",
        Disbursed => "disbursed",
        Reconciled => "reconciled",
        PartiallyFailed => "partially_failed",
        Withdrawn => "withdrawn",
    }
);

impl BatchState {
    /// Changes without anyone acting on it (the workers move it on).
    pub fn is_moving(self) -> bool {
        matches!(self, BatchState::Disbursing | BatchState::Disbursed)
    }
}

state_enum!(
    /// A chunk (one chain transaction and its same-nonce replacements).
    ChunkState, "chunk state" {
        Planned => "planned",
        Prepared => "prepared",
        Broadcast => "broadcast",
        Mined => "mined",
        Confirmed => "confirmed",
        Reverted => "reverted",
        Reconciled => "reconciled",
    }
);

impl ChunkState {
    /// Signed and not yet final: on its way to the chain or on it.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            ChunkState::Prepared | ChunkState::Broadcast | ChunkState::Mined
        )
    }
}

state_enum!(
    /// A payout item (one activity's reward).
    PayoutItemState, "payout item state" {
        Eligible => "eligible",
        Batched => "batched",
        Approved => "approved",
        Submitted => "submitted",
        Confirmed => "confirmed",
        Reconciled => "reconciled",
        Failed => "failed",
    }
);

state_enum!(
    /// What a reconciliation finding found.
    FindingKind, "finding kind" {
        Missing => "missing",
        Reverted => "reverted",
        WrongAmount => "wrong_amount",
        WrongRecipient => "wrong_recipient",
        PaidTwice => "paid_twice",
        UnknownTransfer => "unknown_transfer",
        Refused => "refused",
        PaidAfterFailure => "paid_after_failure",
    }
);

state_enum!(
    /// A campaign: draft → active ⇄ paused → ended. Only an active one
    /// takes activities and budget alerts.
    CampaignStatus, "campaign status" {
        Draft => "draft",
        Active => "active",
        Paused => "paused",
        Ended => "ended",
    }
);

state_enum!(
    /// A request to grant privileged roles, decided by a second admin.
    RoleRequestState, "role request state" {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Cancelled => "cancelled",
    }
);

state_enum!(
    /// A budget transfer between cost centres, decided by a second person.
    TransferState, "transfer state" {
        Pending => "pending",
        Executed => "executed",
        Rejected => "rejected",
        Refused => "refused",
    }
);

state_enum!(
    /// A machine-token signing key: next (published) → current → retired.
    SigningKeyState, "signing key state" {
        Next => "next",
        Current => "current",
        Retired => "retired",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_text() {
        for s in BatchState::ALL {
            assert_eq!(s.as_str().parse::<BatchState>(), Ok(*s));
        }
        for s in ChunkState::ALL {
            assert_eq!(s.as_str().parse::<ChunkState>(), Ok(*s));
        }
        for s in ActivityStatus::ALL {
            assert_eq!(s.as_str().parse::<ActivityStatus>(), Ok(*s));
        }
        for s in PayoutItemState::ALL {
            assert_eq!(s.as_str().parse::<PayoutItemState>(), Ok(*s));
        }
        for s in FindingKind::ALL {
            assert_eq!(FindingKind::try_from(s.as_str().to_owned()), Ok(*s));
        }
        for s in CampaignStatus::ALL {
            assert_eq!(s.as_str().parse::<CampaignStatus>(), Ok(*s));
        }
        for s in RoleRequestState::ALL {
            assert_eq!(s.as_str().parse::<RoleRequestState>(), Ok(*s));
        }
        for s in TransferState::ALL {
            assert_eq!(s.as_str().parse::<TransferState>(), Ok(*s));
        }
        for s in SigningKeyState::ALL {
            assert_eq!(s.as_str().parse::<SigningKeyState>(), Ok(*s));
        }
        for s in ScheduleAction::ALL {
            assert_eq!(s.as_str().parse::<ScheduleAction>(), Ok(*s));
        }
        for s in ScheduleState::ALL {
            assert_eq!(s.as_str().parse::<ScheduleState>(), Ok(*s));
        }
        for s in WebhookState::ALL {
            assert_eq!(s.as_str().parse::<WebhookState>(), Ok(*s));
        }
        assert!("paid".parse::<BatchState>().is_err());
    }
}

state_enum!(
    /// What a CMS entry is. Banner, header and footer are singletons (one
    /// entry each, slug = the type); the others are collections.
    ContentType, "content type" {
        Banner => "banner",
        Header => "header",
        Footer => "footer",
        KQuest => "k_quest",
        KDrop => "k_drop",
        Leaderboard => "leaderboard",
    }
);

impl ContentType {
    /// One entry per type, whose slug is the type's name.
    pub fn is_singleton(self) -> bool {
        matches!(
            self,
            ContentType::Banner | ContentType::Header | ContentType::Footer
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            ContentType::Banner => "Banner",
            ContentType::Header => "Header",
            ContentType::Footer => "Footer",
            ContentType::KQuest => "K-Quest",
            ContentType::KDrop => "K-Drop",
            ContentType::Leaderboard => "Leaderboard",
        }
    }
}

state_enum!(
    /// A CMS entry: draft (never published, or unpublished) → published;
    /// every save makes a new version, the published one stays until the
    /// next publish or an unpublish.
    ContentState, "content state" {
        Draft => "draft",
        Published => "published",
    }
);

state_enum!(
    /// What a schedule does to its entry when it falls due.
    ScheduleAction, "schedule action" {
        Publish => "publish",
        Unpublish => "unpublish",
    }
);

state_enum!(
    /// A schedule: pending until it falls due, then done or failed (with
    /// the reason, e.g. a K-Drop its campaign cannot cover); cancelled by
    /// an editor before it fell due.
    ScheduleState, "schedule state" {
        Pending => "pending",
        Done => "done",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

state_enum!(
    /// A webhook event: pending (waiting for its next attempt) until a
    /// receiver answers 2xx; failed after the last retry (redeliver sends
    /// it again).
    WebhookState, "webhook state" {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
);
