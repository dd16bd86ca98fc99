//! Campaigns and their quests. A campaign has one owner and one cost centre;
//! its owner sees it, nobody else without a read-all role does (others get
//! "not found", so ids don't reveal what exists). A quest prices a completion
//! and says how to prove it happened (its validator).

use payquest_types::{CampaignId, CostCentreId, QuestId, StaffUserId};
use std::collections::BTreeMap;

use payquest_types::{Amount, CampaignStatus, Role};
use serde::{Deserialize, Serialize};

use crate::audit::AuditRecord;
use crate::auth::{Actor, Permission};
use crate::limits::{
    CAMPAIGN_NAME_MAX_CHARS, PAGE_SIZE_MAX, QUEST_NAME_MAX_CHARS, REWARD_MAX_MINOR,
    VALIDATOR_FIELD_MAX_CHARS, VALIDATOR_HEADERS_MAX, VALIDATOR_URL_MAX_CHARS,
};
use crate::store::{CampaignRecord, DynStore, NewCampaign, NewQuest, QuestRecord};
use crate::{DomainError, DomainResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Ge => ">=",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Lt => "<",
        }
    }
}

/// A test over a JSON response: the value at `pointer` (RFC 6901) compared with `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub pointer: String,
    pub op: CompareOp,
    pub value: serde_json::Value,
}

/// How a quest's completions are proven.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValidatorConfig {
    /// Ask the game's API. `url` may contain `{game_account_id}` and `{wallet}`;
    /// a header value `secret:NAME` is replaced by the configured secret NAME.
    GameApi {
        method: String,
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        condition: Condition,
    },
    /// Membership of a Discord guild. The provider's base URL is configuration
    /// (`PAYQUEST_DISCORD_BASE_URL`); `base_url` must be absent or null and is
    /// kept only so older stored quests still read.
    DiscordMember {
        guild_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_url: Option<String>,
    },
    /// Subscription to a YouTube channel (base URL: `PAYQUEST_YOUTUBE_BASE_URL`).
    YoutubeSubscriber {
        channel_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_url: Option<String>,
    },
    /// The game server's HMAC-signed statement is the proof; `key_name` names the shared key.
    SignedPush { key_name: String },
    /// A person reviews the evidence.
    Manual,
}

fn field(value: &str, what: &str, max: usize) -> DomainResult<()> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be 1 to {max} printable characters"
        )));
    }
    Ok(())
}

fn http_url(url: &str, what: &str) -> DomainResult<()> {
    field(url, what, VALIDATOR_URL_MAX_CHARS)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be an http(s) URL"
        )));
    }
    Ok(())
}

impl ValidatorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ValidatorConfig::GameApi { .. } => "game_api",
            ValidatorConfig::DiscordMember { .. } => "discord_member",
            ValidatorConfig::YoutubeSubscriber { .. } => "youtube_subscriber",
            ValidatorConfig::SignedPush { .. } => "signed_push",
            ValidatorConfig::Manual => "manual",
        }
    }

    pub fn check(&self) -> DomainResult<()> {
        match self {
            ValidatorConfig::GameApi {
                method,
                url,
                headers,
                condition,
            } => {
                if method != "GET" && method != "POST" {
                    return Err(DomainError::InvalidInput(
                        "method must be GET or POST".into(),
                    ));
                }
                http_url(url, "the URL")?;
                if headers.len() > VALIDATOR_HEADERS_MAX {
                    return Err(DomainError::InvalidInput(format!(
                        "at most {VALIDATOR_HEADERS_MAX} headers"
                    )));
                }
                for (k, v) in headers {
                    field(k, "a header name", VALIDATOR_FIELD_MAX_CHARS)?;
                    field(v, "a header value", VALIDATOR_FIELD_MAX_CHARS)?;
                }
                field(
                    &condition.pointer,
                    "the JSON pointer",
                    VALIDATOR_FIELD_MAX_CHARS,
                )?;
                if !condition.pointer.starts_with('/') {
                    return Err(DomainError::InvalidInput(
                        "the JSON pointer must start with /".into(),
                    ));
                }
                Ok(())
            }
            ValidatorConfig::DiscordMember {
                guild_id: id,
                base_url,
            }
            | ValidatorConfig::YoutubeSubscriber {
                channel_id: id,
                base_url,
            } => {
                field(id, "the id", VALIDATOR_FIELD_MAX_CHARS)?;
                if base_url.is_some() {
                    return Err(DomainError::InvalidInput(
                        "a provider's base URL is set by the operator's configuration, not per quest"
                            .into(),
                    ));
                }
                Ok(())
            }
            ValidatorConfig::SignedPush { key_name } => {
                field(key_name, "the key name", VALIDATOR_FIELD_MAX_CHARS)
            }
            ValidatorConfig::Manual => Ok(()),
        }
    }
}

pub struct CampaignInput<'a> {
    pub name: &'a str,
    pub owner_user_id: StaffUserId,
    pub cost_centre_id: CostCentreId,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub alert_threshold_pct: i64,
}

/// A campaign to start together with its own new cost centre.
pub struct CampaignPlan<'a> {
    pub name: &'a str,
    pub owner_email: &'a str,
    pub cost_centre_code: &'a str,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub alert_threshold_pct: i64,
}

pub struct QuestInput<'a> {
    pub campaign_id: CampaignId,
    pub name: &'a str,
    pub reward: Amount,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub validator: ValidatorConfig,
}

fn positive_cap(v: Option<i64>, what: &str) -> DomainResult<Option<i64>> {
    match v {
        Some(n) if n <= 0 => Err(DomainError::InvalidInput(format!(
            "{what} must be positive when set"
        ))),
        other => Ok(other),
    }
}

pub struct Campaigns {
    store: DynStore,
}

impl Campaigns {
    pub fn new(store: DynStore) -> Self {
        Self { store }
    }

    pub async fn create(
        &self,
        actor: &Actor,
        input: CampaignInput<'_>,
    ) -> DomainResult<CampaignRecord> {
        actor.require(Permission::ManageCampaigns)?;
        field(input.name, "the name", CAMPAIGN_NAME_MAX_CHARS)?;
        if input.ends_at_ms <= input.starts_at_ms {
            return Err(DomainError::InvalidInput(
                "the campaign must end after it starts".into(),
            ));
        }
        if !(1..=100).contains(&input.alert_threshold_pct) {
            return Err(DomainError::InvalidInput(
                "the alert threshold is a percentage from 1 to 100".into(),
            ));
        }
        let owner = self
            .store
            .staff_by_id(input.owner_user_id)
            .await?
            .ok_or(DomainError::NotFound("owner"))?;
        if !owner.roles.contains(&Role::CampaignOwner) {
            return Err(DomainError::InvalidInput(
                "the owner must hold the campaign owner role".into(),
            ));
        }
        let audit = AuditRecord::new(&actor.audit_actor(), "campaign.created", "campaign:new")
            .after(&serde_json::json!({
                "name": input.name.trim(),
                "owner_user_id": input.owner_user_id,
                "cost_centre_id": input.cost_centre_id,
            }));
        Ok(self
            .store
            .create_campaign(
                &NewCampaign {
                    name: input.name.trim(),
                    owner_user_id: input.owner_user_id,
                    cost_centre_id: input.cost_centre_id,
                    starts_at_ms: input.starts_at_ms,
                    ends_at_ms: input.ends_at_ms,
                    alert_threshold_pct: input.alert_threshold_pct,
                },
                &audit,
            )
            .await?)
    }

    /// Creates the campaign's own cost centre, then the campaign. If the
    /// campaign is refused (say the owner lacks the role), the new cost centre
    /// stays, unused and audited, and can be funded or given to a campaign later.
    pub async fn create_with_budget(
        &self,
        actor: &Actor,
        plan: CampaignPlan<'_>,
    ) -> DomainResult<CampaignRecord> {
        actor.require(Permission::ManageCampaigns)?;
        let email = crate::auth::Email::parse(plan.owner_email)?;
        let owner = self
            .store
            .staff_by_email(email.as_str())
            .await?
            .ok_or_else(|| DomainError::InvalidInput("no staff member has that email".into()))?;
        let cost_centre = crate::budgets::Budgets::new(self.store.clone())
            .create_cost_centre(actor, plan.cost_centre_code, plan.name)
            .await?;
        self.create(
            actor,
            CampaignInput {
                name: plan.name,
                owner_user_id: owner.staff_user_id,
                cost_centre_id: cost_centre.cost_centre_id,
                starts_at_ms: plan.starts_at_ms,
                ends_at_ms: plan.ends_at_ms,
                alert_threshold_pct: plan.alert_threshold_pct,
            },
        )
        .await
    }

    fn may_read(actor: &Actor, campaign: &CampaignRecord) -> bool {
        actor.can(Permission::ReadAllCampaigns)
            || (actor.roles.contains(&Role::CampaignOwner)
                && campaign.owner_user_id == actor.user_id)
    }

    /// One campaign, if the actor may see it; otherwise "not found".
    pub async fn get(
        &self,
        actor: &Actor,
        campaign_id: CampaignId,
    ) -> DomainResult<CampaignRecord> {
        match self.store.campaign(campaign_id).await? {
            Some(c) if Self::may_read(actor, &c) => Ok(c),
            _ => Err(DomainError::NotFound("campaign")),
        }
    }

    /// All campaigns for read-all roles, the owner's own for campaign owners.
    pub async fn list(
        &self,
        actor: &Actor,
        after_id: CampaignId,
        limit: u32,
    ) -> DomainResult<Vec<CampaignRecord>> {
        if limit == 0 || limit > PAGE_SIZE_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page size must be 1 to {PAGE_SIZE_MAX}"
            )));
        }
        let owner = if actor.can(Permission::ReadAllCampaigns) {
            None
        } else if actor.roles.contains(&Role::CampaignOwner) {
            Some(actor.user_id)
        } else {
            return Err(DomainError::Forbidden);
        };
        Ok(self.store.list_campaigns(owner, after_id, limit).await?)
    }

    pub async fn set_status(
        &self,
        actor: &Actor,
        campaign_id: CampaignId,
        status: &str,
    ) -> DomainResult<()> {
        actor.require(Permission::ManageCampaigns)?;
        let status: CampaignStatus = status.parse().map_err(|_| {
            let all: Vec<&str> = CampaignStatus::ALL.iter().map(|s| s.as_str()).collect();
            DomainError::InvalidInput(format!("status must be one of {all:?}"))
        })?;
        let before = self.get(actor, campaign_id).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "campaign.status_changed",
            format!("campaign:{campaign_id}"),
        )
        .before(&serde_json::json!({ "status": before.status }))
        .after(&serde_json::json!({ "status": status }));
        Ok(self
            .store
            .set_campaign_status(campaign_id, status, &audit)
            .await?)
    }

    pub async fn create_quest(
        &self,
        actor: &Actor,
        input: QuestInput<'_>,
    ) -> DomainResult<QuestRecord> {
        actor.require(Permission::ManageQuests)?;
        self.get(actor, input.campaign_id).await?;
        field(input.name, "the name", QUEST_NAME_MAX_CHARS)?;
        if !input.reward.is_positive() || input.reward.minor() > REWARD_MAX_MINOR {
            return Err(DomainError::InvalidInput(format!(
                "the reward must be positive and at most {}",
                Amount::from_minor(REWARD_MAX_MINOR)
            )));
        }
        let max_completions = positive_cap(input.max_completions, "the completion cap")?;
        let max_per_gamer = positive_cap(input.max_per_gamer, "the per-gamer cap")?;
        let repeat_period_s = positive_cap(input.repeat_period_s, "the repeat period")?;
        input.validator.check()?;
        let config = serde_json::to_string(&input.validator).map_err(DomainError::internal)?;
        let audit = AuditRecord::new(&actor.audit_actor(), "quest.created", "quest:new").after(
            &serde_json::json!({
                "campaign_id": input.campaign_id,
                "name": input.name.trim(),
                "reward_minor": input.reward.minor(),
                "validator": input.validator.kind(),
            }),
        );
        Ok(self
            .store
            .create_quest(
                &NewQuest {
                    campaign_id: input.campaign_id,
                    name: input.name.trim(),
                    reward: input.reward,
                    max_completions,
                    max_per_gamer,
                    repeat_period_s,
                    validator_kind: input.validator.kind(),
                    validator_config_json: &config,
                },
                &audit,
            )
            .await?)
    }

    /// Retires a quest (no new activities) or opens it again.
    pub async fn set_quest_active(
        &self,
        actor: &Actor,
        quest_id: QuestId,
        active: bool,
    ) -> DomainResult<()> {
        actor.require(Permission::ManageQuests)?;
        let quest = self
            .store
            .quest(quest_id)
            .await?
            .ok_or(DomainError::NotFound("quest"))?;
        self.get(actor, quest.campaign_id).await?;
        let action = if active {
            "quest.opened"
        } else {
            "quest.retired"
        };
        let audit = AuditRecord::new(&actor.audit_actor(), action, format!("quest:{quest_id}"))
            .before(&serde_json::json!({ "active": quest.active }))
            .after(&serde_json::json!({ "active": active }));
        Ok(self
            .store
            .set_quest_active(quest_id, active, &audit)
            .await?)
    }

    pub async fn quests(
        &self,
        actor: &Actor,
        campaign_id: CampaignId,
    ) -> DomainResult<Vec<QuestRecord>> {
        self.get(actor, campaign_id).await?;
        Ok(self.store.quests_of(campaign_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_configs_parse_from_their_documented_json() {
        let v: ValidatorConfig = serde_json::from_str(
            r#"{"kind":"game_api","method":"GET","url":"http://127.0.0.1:9/players/{game_account_id}",
                "headers":{"authorization":"secret:GAME_KEY"},
                "condition":{"pointer":"/stats/matches_played","op":">=","value":5}}"#,
        )
        .expect("parse");
        assert_eq!(v.kind(), "game_api");
        assert!(v.check().is_ok());
        let bad = ValidatorConfig::GameApi {
            method: "DELETE".into(),
            url: "ftp://x".into(),
            headers: BTreeMap::new(),
            condition: Condition {
                pointer: "stats".into(),
                op: CompareOp::Ge,
                value: serde_json::json!(1),
            },
        };
        assert!(bad.check().is_err());
        let social: ValidatorConfig =
            serde_json::from_str(r#"{"kind":"discord_member","guild_id":"42","base_url":null}"#)
                .expect("parse");
        assert!(social.check().is_ok());
        // A quest can't aim a provider preset (and its bot token) at another host.
        let aimed: ValidatorConfig = serde_json::from_str(
            r#"{"kind":"discord_member","guild_id":"42","base_url":"http://evil.example"}"#,
        )
        .expect("parse");
        assert!(aimed.check().is_err());
    }
}
