//! Activities reported by machines. A request carries one activity or a batch
//! of up to 1,000; each carries the client's own `external_id`, and the pair
//! (client, external_id) is the idempotency key: the same payload again gets
//! the first result, another payload under a used key is refused (409).
//!
//! Batches are per item, not all-or-nothing: every valid item is stored (in
//! one transaction), every invalid one is answered with its error and stores
//! nothing, so a retry of the whole batch is always safe and converges.

use payquest_types::{ActivityId, QuestId};
use std::collections::{BTreeSet, HashMap};

use payquest_types::{ActivityStatus, ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::api_clients::{MachinePrincipal, Scope};
use crate::clock::{format_ms, now_ms};
use crate::gamers::WalletAddress;
use crate::limits::{
    ACCOUNT_REF_MAX_CHARS, ACTIVITY_BATCH_MAX, EVIDENCE_MAX_BYTES, EXTERNAL_ID_MAX_CHARS,
    OCCURRED_AT_FUTURE_SKEW_MS, OCCURRED_AT_MAX_AGE_MS, SIGNATURE_MAX_CHARS,
};
use crate::store::{DynStore, NewActivity};
use crate::{DomainError, DomainResult};

/// One activity as a machine reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityIn {
    pub external_id: String,
    #[serde(deserialize_with = "json_quest_id")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub quest_id: QuestId,
    pub wallet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_handle: Option<String>,
    /// RFC 3339, e.g. `2026-11-27T10:00:00Z`.
    pub occurred_at: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "object_or_null"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub evidence: Option<serde_json::Value>,
    /// Hex HMAC-SHA256 for quests validated by `signed_push`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A JSON integer, which JSON Schema also allows to be written `7.0`.
fn json_quest_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<QuestId, D::Error> {
    json_integer(d).map(QuestId)
}

fn json_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error as _;
    match serde_json::Number::deserialize(d)? {
        n if n.is_i64() => n.as_i64().ok_or_else(|| D::Error::custom("not an integer")),
        n => match n.as_f64() {
            // Only where a float is exact (|f| < 2^53): a larger one is not
            // the integer it was written as.
            Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => Ok(f as i64),
            _ => Err(D::Error::custom("quest_id must be a 64-bit integer")),
        },
    }
}

/// `evidence` is a JSON object (or absent/null), as the schema says: any
/// other JSON type makes the request unreadable, not a stored oddity.
fn object_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    use serde::de::Error as _;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(o @ serde_json::Value::Object(_)) => Ok(Some(o)),
        Some(_) => Err(D::Error::custom("evidence must be a JSON object")),
    }
}

/// What happened to one item of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemOutcome {
    pub external_id: String,
    /// 201 created, 200 already had it (same payload), 409 key reused with
    /// another payload, 422 invalid.
    pub http_status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<ActivityId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ActivityStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

impl ItemOutcome {
    fn error(external_id: &str, status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        ItemOutcome {
            external_id: external_id.chars().take(EXTERNAL_ID_MAX_CHARS).collect(),
            http_status: status,
            activity_id: None,
            status: None,
            error: Some(ApiError::new(code, message)),
        }
    }
}

/// An activity's progress, as its client may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityView {
    pub activity_id: ActivityId,
    pub external_id: String,
    pub quest_id: QuestId,
    pub wallet: String,
    pub status: ActivityStatus,
    pub reason: Option<String>,
    pub occurred_at: String,
    pub received_at: String,
    pub validated_at: Option<String>,
    pub rewarded_at: Option<String>,
}

fn text(value: &str, what: &str, max: usize) -> DomainResult<()> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be 1 to {max} printable characters"
        )));
    }
    Ok(())
}

fn optional_text(value: &Option<String>, what: &str, max: usize) -> DomainResult<Option<String>> {
    match value {
        Some(v) => text(v, what, max).map(|()| Some(v.clone())),
        None => Ok(None),
    }
}

fn payload_hash(item: &ActivityIn) -> String {
    // serde_json keeps object keys sorted, so the same payload hashes the same.
    hex::encode(Sha256::digest(serde_json::to_vec(item).unwrap_or_default()))
}

/// Checks one item against everything that doesn't need the database.
fn parse_item(item: &ActivityIn, now: i64) -> DomainResult<NewActivity> {
    text(&item.external_id, "external_id", EXTERNAL_ID_MAX_CHARS)?;
    let wallet = WalletAddress::parse(&item.wallet)?;
    let occurred = OffsetDateTime::parse(&item.occurred_at, &Rfc3339)
        .map_err(|_| DomainError::InvalidInput("occurred_at must be an RFC 3339 time".into()))?;
    let occurred_at_ms = i64::try_from(occurred.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| DomainError::InvalidInput("occurred_at is out of range".into()))?;
    if occurred_at_ms > now + OCCURRED_AT_FUTURE_SKEW_MS {
        return Err(DomainError::InvalidInput(
            "occurred_at is in the future".into(),
        ));
    }
    if occurred_at_ms < now - OCCURRED_AT_MAX_AGE_MS {
        return Err(DomainError::InvalidInput(
            "occurred_at is too long ago".into(),
        ));
    }
    let evidence_json = match &item.evidence {
        Some(v) => {
            let s = serde_json::to_string(v).map_err(DomainError::internal)?;
            if s.len() > EVIDENCE_MAX_BYTES {
                return Err(DomainError::InvalidInput(format!(
                    "evidence may be at most {EVIDENCE_MAX_BYTES} bytes"
                )));
            }
            Some(s)
        }
        None => None,
    };
    if let Some(sig) = &item.signature {
        if sig.len() > SIGNATURE_MAX_CHARS || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::InvalidInput("signature must be hex".into()));
        }
    }
    Ok(NewActivity {
        external_id: item.external_id.clone(),
        payload_hash: payload_hash(item),
        quest_id: item.quest_id,
        wallet: wallet.as_str().to_owned(),
        game_account_id: optional_text(
            &item.game_account_id,
            "game_account_id",
            ACCOUNT_REF_MAX_CHARS,
        )?,
        social_handle: optional_text(&item.social_handle, "social_handle", ACCOUNT_REF_MAX_CHARS)?,
        evidence_json,
        signature: item.signature.clone(),
        occurred_at_ms,
    })
}

pub struct Activities {
    store: DynStore,
    /// Where lists that tolerate lag are read (a read replica, or `store`).
    reads: DynStore,
}

impl Activities {
    pub fn new(store: DynStore) -> Self {
        Self {
            reads: store.clone(),
            store,
        }
    }

    /// Staff's activity lists read from `reads` (a replica); ingest and the
    /// machine API's reads of its own activity stay on the primary.
    pub fn reading_lists_from(mut self, reads: DynStore) -> Self {
        self.reads = reads;
        self
    }

    /// Accepts a batch; returns one outcome per item, in order.
    pub async fn ingest(
        &self,
        principal: &MachinePrincipal,
        items: &[ActivityIn],
    ) -> DomainResult<Vec<ItemOutcome>> {
        principal.require(Scope::ActivitiesWrite)?;
        if items.is_empty() || items.len() > ACTIVITY_BATCH_MAX {
            return Err(DomainError::InvalidInput(format!(
                "send 1 to {ACTIVITY_BATCH_MAX} activities per request"
            )));
        }
        let now = now_ms();
        let open = self.open_quests(items).await?;
        let mut batch = sort_batch(items, now, &open);
        let stored = self
            .store
            .insert_activities(principal.api_client_id, &batch.to_store, now)
            .await?;
        batch.take_stored(stored);
        Ok(batch.outcomes(items))
    }

    /// Which of the batch's quests exist and belong to an active campaign.
    async fn open_quests(&self, items: &[ActivityIn]) -> DomainResult<HashMap<QuestId, bool>> {
        let mut open_quests = HashMap::new();
        for quest_id in items.iter().map(|i| i.quest_id).collect::<BTreeSet<_>>() {
            let open = match self.store.quest(quest_id).await? {
                Some(q) if q.active => matches!(
                    self.store.campaign(q.campaign_id).await?,
                    Some(c) if c.status == payquest_types::CampaignStatus::Active
                ),
                _ => false,
            };
            open_quests.insert(quest_id, open);
        }
        Ok(open_quests)
    }

    /// Activities for staff: all for read-all roles, their own campaigns' for owners.
    pub async fn list_for_staff(
        &self,
        actor: &crate::session::Actor,
        mut filter: crate::store::ActivityFilter,
        limit: u32,
    ) -> DomainResult<Vec<crate::store::ActivityListRow>> {
        use crate::session::Permission;
        if limit == 0 || limit > crate::limits::PAGE_SIZE_MAX {
            return Err(DomainError::InvalidInput("page size out of range".into()));
        }
        if let Some(s) = &filter.status {
            if s.parse::<ActivityStatus>().is_err() {
                let all: Vec<&str> = ActivityStatus::ALL.iter().map(|s| s.as_str()).collect();
                return Err(DomainError::InvalidInput(format!(
                    "status must be one of {all:?}"
                )));
            }
        }
        if !actor.can(Permission::ReadAllCampaigns) {
            if !actor.roles.contains(&payquest_types::Role::CampaignOwner) {
                return Err(DomainError::Forbidden);
            }
            filter.owner_user_id = Some(actor.user_id);
        }
        Ok(self.reads.list_activities(&filter, limit).await?)
    }

    /// An activity's progress; only the client that reported it may read it.
    pub async fn get(
        &self,
        principal: &MachinePrincipal,
        activity_id: ActivityId,
    ) -> DomainResult<ActivityView> {
        if principal.require(Scope::ActivitiesRead).is_err() {
            principal.require(Scope::ActivitiesWrite)?;
        }
        match self.store.activity(activity_id).await? {
            Some(a) if a.api_client_id == principal.api_client_id => Ok(ActivityView {
                activity_id: a.activity_id,
                external_id: a.external_id,
                quest_id: a.quest_id,
                wallet: a.wallet,
                status: a.status,
                reason: a.reason,
                occurred_at: format_ms(a.occurred_at_ms),
                received_at: format_ms(a.received_at_ms),
                validated_at: a.validated_at_ms.map(format_ms),
                rewarded_at: a.rewarded_at_ms.map(format_ms),
            }),
            _ => Err(DomainError::NotFound("activity")),
        }
    }
}
/// A reported batch on its way to the store: each item's outcome where it is
/// known already (refused, or a repeat within the batch), and the items to
/// store with their places in the batch.
struct SortedBatch {
    outcomes: Vec<Option<ItemOutcome>>,
    to_store: Vec<NewActivity>,
    stored_index: Vec<usize>,
    by_key: HashMap<String, ItemOutcome>,
}

const PAYLOAD_CONFLICT: &str = "this external_id was used with a different payload";

/// Parses and checks every item; the same key twice in one batch is stored
/// once, and with a different payload the second is a conflict.
fn sort_batch(items: &[ActivityIn], now: i64, open: &HashMap<QuestId, bool>) -> SortedBatch {
    let mut batch = SortedBatch {
        outcomes: vec![None; items.len()],
        to_store: Vec::new(),
        stored_index: Vec::new(),
        by_key: HashMap::new(),
    };
    let mut first_seen: HashMap<&str, String> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let parsed = parse_item(item, now).and_then(|p| {
            if open.get(&item.quest_id).copied().unwrap_or(false) {
                Ok(p)
            } else {
                Err(DomainError::InvalidInput(format!(
                    "quest {} does not exist or its campaign is not active",
                    item.quest_id
                )))
            }
        });
        match parsed {
            Err(e) => {
                batch.outcomes[i] = Some(ItemOutcome::error(
                    &item.external_id,
                    422,
                    e.code(),
                    e.to_string(),
                ));
            }
            Ok(p) => match first_seen.get(item.external_id.as_str()) {
                Some(hash) if *hash != p.payload_hash => {
                    batch.outcomes[i] = Some(ItemOutcome::error(
                        &item.external_id,
                        409,
                        ErrorCode::Conflict,
                        PAYLOAD_CONFLICT,
                    ));
                }
                Some(_) => {}
                None => {
                    first_seen.insert(&item.external_id, p.payload_hash.clone());
                    batch.stored_index.push(i);
                    batch.to_store.push(p);
                }
            },
        }
    }
    batch
}

impl SortedBatch {
    /// What the store answered for each stored item: created (201), there
    /// already (200), or there with another payload (409).
    fn take_stored(&mut self, stored: Vec<crate::store::StoredActivity>) {
        for ((i, new), s) in self.stored_index.iter().zip(&self.to_store).zip(stored) {
            let outcome = if s.payload_hash != new.payload_hash {
                ItemOutcome::error(&new.external_id, 409, ErrorCode::Conflict, PAYLOAD_CONFLICT)
            } else {
                ItemOutcome {
                    external_id: new.external_id.clone(),
                    http_status: if s.created { 201 } else { 200 },
                    activity_id: Some(s.activity_id),
                    status: Some(s.status),
                    error: None,
                }
            };
            self.by_key.insert(new.external_id.clone(), outcome.clone());
            self.outcomes[*i] = Some(outcome);
        }
    }

    /// One outcome per item, in input order; an in-batch repeat with the
    /// same payload answers like its first occurrence (200, not 201).
    fn outcomes(self, items: &[ActivityIn]) -> Vec<ItemOutcome> {
        let by_key = self.by_key;
        self.outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.or_else(|| {
                    by_key.get(&items[i].external_id).map(|first| ItemOutcome {
                        http_status: if first.http_status == 201 {
                            200
                        } else {
                            first.http_status
                        },
                        ..first.clone()
                    })
                })
                .unwrap_or_else(|| {
                    ItemOutcome::error(
                        &items[i].external_id,
                        500,
                        ErrorCode::Internal,
                        "not processed",
                    )
                })
            })
            .collect()
    }
}
