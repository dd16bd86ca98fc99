//! One newtype per kind of row id. They travel as plain numbers (serde and
//! sqlx are transparent), but a `BatchId` cannot be passed where a
//! `ChunkId` is expected, so swapping two ids no longer compiles.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
        #[cfg_attr(feature = "sqlx", sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw number, for a URL, a log line or arithmetic on cursors.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Tests read better against plain numbers.
        impl PartialEq<i64> for $name {
            fn eq(&self, other: &i64) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;
            fn from_str(s: &str) -> Result<Self, ParseIntError> {
                s.parse().map($name)
            }
        }
    )+};
}

id_type!(
    /// A staff member's account.
    StaffUserId,
    /// A gamer, known by their wallet.
    GamerId,
    CampaignId,
    QuestId,
    /// A cost centre: the ledger accounts a campaign's budget lives in.
    CostCentreId,
    /// A reported activity.
    ActivityId,
    /// The one reward an activity can earn.
    PayoutItemId,
    BatchId,
    /// One chain transaction's worth of a batch.
    ChunkId,
    /// One signed transaction (a chunk's original or a same-nonce replacement).
    ChainTxId,
    /// A reconciliation finding.
    FindingId,
    /// A budget transfer between cost centres.
    TransferId,
    /// A budget reservation made by an approval.
    ReservationId,
    JournalId,
    AuditId,
    /// A request for a privileged role set, waiting for a second admin.
    RoleRequestId,
    /// A machine client's row (its public `client_id` is a string).
    ApiClientId,
    /// A transfer seen on chain.
    ChainTransferId,
    /// A CMS entry (a banner, a K-Quest, …).
    ContentEntryId,
    /// One immutable saved version of a CMS entry.
    ContentVersionId,
    /// A publish or unpublish planned for a date and time.
    ContentScheduleId,
    /// One webhook event in the outbox and its deliveries.
    WebhookEventId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_travel_as_plain_numbers() {
        let id = BatchId(42);
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("42"));
        assert_eq!("42".parse::<BatchId>(), Ok(id));
        assert_eq!(id.to_string(), "42");
    }
}
