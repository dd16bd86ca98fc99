//! Quests: what a gamer does to earn a reward, what it pays, its caps, and how a
//! completion is proven (its validator). A quest belongs to a campaign and is
//! edited by the campaign's owner or finance.

use crate::audit::AuditRecord;
use crate::campaigns::{field, Campaigns};
use crate::limits::{
    QUEST_NAME_MAX_CHARS, REWARD_MAX_MINOR, VALIDATOR_FIELD_MAX_CHARS, VALIDATOR_HEADERS_MAX,
    VALIDATOR_URL_MAX_CHARS,
};
use crate::session::{Actor, Permission};
use crate::store::{NewQuest, QuestRecord};
use crate::{DomainError, DomainResult, ForField};
use payquest_types::Amount;
use payquest_types::{CampaignId, QuestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn http_url(url: &str, what: &str) -> DomainResult<()> {
    field(url, what, VALIDATOR_URL_MAX_CHARS)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be an http(s) URL"
        )));
    }
    Ok(())
}

fn positive_cap(v: Option<i64>, what: &str) -> DomainResult<Option<i64>> {
    match v {
        Some(n) if n <= 0 => Err(DomainError::InvalidInput(format!(
            "{what} must be positive when set"
        ))),
        other => Ok(other),
    }
}

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

pub struct QuestInput<'a> {
    pub campaign_id: CampaignId,
    pub name: &'a str,
    pub reward: Amount,
    pub max_completions: Option<i64>,
    pub max_per_gamer: Option<i64>,
    pub repeat_period_s: Option<i64>,
    pub validator: ValidatorConfig,
}

impl Campaigns {
    pub async fn create_quest(
        &self,
        actor: &Actor,
        input: QuestInput<'_>,
    ) -> DomainResult<QuestRecord> {
        actor.require(Permission::ManageQuests)?;
        self.get(actor, input.campaign_id).await?;
        field(input.name, "the name", QUEST_NAME_MAX_CHARS).for_field("name")?;
        if !input.reward.is_positive() || input.reward.minor() > REWARD_MAX_MINOR {
            return Err(DomainError::InvalidField {
                field: "reward",
                message: format!(
                    "the reward must be positive and at most {}",
                    Amount::from_minor(REWARD_MAX_MINOR)
                ),
            });
        }
        let max_completions = positive_cap(input.max_completions, "the completion cap")
            .for_field("max_completions")?;
        let max_per_gamer =
            positive_cap(input.max_per_gamer, "the per-gamer cap").for_field("max_per_gamer")?;
        let repeat_period_s = positive_cap(input.repeat_period_s, "the repeat period")
            .for_field("repeat_period_s")?;
        input.validator.check().for_field("validator")?;
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
