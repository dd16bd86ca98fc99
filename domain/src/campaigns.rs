//! Campaigns. A campaign has one owner and one cost centre; its owner sees
//! it, nobody else without a read-all role does (others get "not found", so
//! ids don't reveal what exists). Its quests are in `quests`.

use crate::audit::AuditRecord;
use crate::limits::{CAMPAIGN_NAME_MAX_CHARS, PAGE_SIZE_MAX};
use crate::session::{Actor, Permission};
use crate::store::{CampaignRecord, DynStore, NewCampaign, StaffRecord};
use crate::{DomainError, DomainResult, ForField};
use payquest_types::{CampaignId, CostCentreId, StaffUserId};
use payquest_types::{CampaignStatus, Role};

pub(crate) fn field(value: &str, what: &str, max: usize) -> DomainResult<()> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(DomainError::InvalidInput(format!(
            "{what} must be 1 to {max} printable characters"
        )));
    }
    Ok(())
}

/// The campaign form's own rules (each error names its field).
fn check_input(name: &str, starts_at_ms: i64, ends_at_ms: i64, alert_pct: i64) -> DomainResult<()> {
    field(name, "the name", CAMPAIGN_NAME_MAX_CHARS).for_field("name")?;
    if ends_at_ms <= starts_at_ms {
        return Err(DomainError::InvalidField {
            field: "ends_on",
            message: "the campaign must end after it starts".into(),
        });
    }
    if !(1..=100).contains(&alert_pct) {
        return Err(DomainError::InvalidInput(
            "the alert threshold is a percentage from 1 to 100".into(),
        ));
    }
    Ok(())
}

fn check_owner(owner: &StaffRecord) -> DomainResult<()> {
    if !owner.roles.contains(&Role::CampaignOwner) {
        return Err(DomainError::InvalidField {
            field: "owner_email",
            message: "the owner must hold the campaign owner role".into(),
        });
    }
    Ok(())
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

pub struct Campaigns {
    pub(crate) store: DynStore,
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
        check_input(
            input.name,
            input.starts_at_ms,
            input.ends_at_ms,
            input.alert_threshold_pct,
        )?;
        let owner = self
            .store
            .staff_by_id(input.owner_user_id)
            .await?
            .ok_or(DomainError::NotFound("owner"))?;
        check_owner(&owner)?;
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

    /// Creates the campaign's own cost centre, then the campaign. The input
    /// and the owner are checked first; should the campaign still be refused
    /// (a race), the new cost centre stays, unused and audited, and can be
    /// funded or given to a campaign later.
    pub async fn create_with_budget(
        &self,
        actor: &Actor,
        plan: CampaignPlan<'_>,
    ) -> DomainResult<CampaignRecord> {
        actor.require(Permission::ManageCampaigns)?;
        let email = crate::session::Email::parse(plan.owner_email).for_field("owner_email")?;
        let owner = self
            .store
            .staff_by_email(email.as_str())
            .await?
            .ok_or_else(|| DomainError::InvalidField {
                field: "owner_email",
                message: "no staff member has that email".into(),
            })?;
        // Everything the campaign needs is checked before its cost centre
        // is made, so a refused form leaves nothing behind.
        check_input(
            plan.name,
            plan.starts_at_ms,
            plan.ends_at_ms,
            plan.alert_threshold_pct,
        )?;
        check_owner(&owner)?;
        let cost_centre = crate::budgets::Budgets::new(self.store.clone())
            .create_cost_centre(actor, plan.cost_centre_code, plan.name)
            .await
            .for_field("cost_centre_code")?;
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
}
