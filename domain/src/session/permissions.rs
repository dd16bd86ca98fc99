//! What each role may do. The UI asks the server which areas to show, but the
//! check that matters is `Actor::require`, called by every domain operation.

use payquest_types::StaffUserId;
use std::collections::BTreeSet;

use payquest_types::{Area, Role};

use crate::audit::AuditActor;
use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// List staff, create accounts, change roles, disable accounts.
    ManageStaff,
    /// Read the audit trail.
    ReadAudit,
    /// Create cost centres, fund them, request and decide budget transfers.
    ManageBudgets,
    /// See every cost centre's balances.
    ReadBudgets,
    /// Create campaigns and change their status.
    ManageCampaigns,
    /// Create and edit quests.
    ManageQuests,
    /// See every campaign (campaign owners see their own without this).
    ReadAllCampaigns,
    /// Create, rotate and disable machine API clients and signing keys.
    ManageApiClients,
    /// Work the manual review queue of activities.
    ReviewActivities,
    /// Assemble payout batches from eligible rewards and submit them.
    MakeBatches,
    /// Approve or reject payout batches (never one's own).
    ApproveBatches,
    /// See payout batches and their progress.
    ReadPayouts,
    /// Start disbursement, retry failed items, resolve reconciliation findings.
    Disburse,
    /// See reconciliation findings and drift.
    ReadFindings,
    /// Save, publish and unpublish CMS content.
    ManageContent,
    /// Read CMS entries and their drafts and versions.
    ReadContent,
}

pub fn role_grants(role: Role, permission: Permission) -> bool {
    use Permission::*;
    matches!(
        (role, permission),
        (Role::Admin, ManageStaff | ReadAudit | ManageApiClients)
            | (
                Role::Auditor,
                ReadAudit
                    | ReadBudgets
                    | ReadAllCampaigns
                    | ReadPayouts
                    | ReadFindings
                    | ReadContent
            )
            | (
                Role::Finance,
                ManageBudgets
                    | ReadBudgets
                    | ManageCampaigns
                    | ManageQuests
                    | ReadAllCampaigns
                    | ReadPayouts
                    | Disburse
                    | ReadFindings
            )
            | (Role::Maker, MakeBatches | ReadPayouts)
            | (Role::Checker, ApproveBatches | ReadPayouts)
            | (
                Role::Community,
                ManageQuests | ReadAllCampaigns | ReviewActivities | ManageContent | ReadContent
            )
    )
}

/// A fully signed-in staff member acting on the system.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: StaffUserId,
    pub email: String,
    pub roles: BTreeSet<Role>,
    pub ip: Option<String>,
    /// Set when the system acts in this member's name without them (the
    /// demo seeding its people's work): the audit trail then names the
    /// system (`system (demo)`), not the member.
    pub via: Option<&'static str>,
}

impl Actor {
    pub fn can(&self, permission: Permission) -> bool {
        self.roles.iter().any(|r| role_grants(*r, permission))
    }

    pub fn require(&self, permission: Permission) -> Result<(), DomainError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden)
        }
    }

    pub fn audit_actor(&self) -> AuditActor {
        if let Some(what) = self.via {
            return AuditActor {
                user_id: None,
                label: format!("system ({what})"),
                ip: None,
            };
        }
        AuditActor {
            user_id: Some(self.user_id),
            label: self.email.clone(),
            ip: self.ip.clone(),
        }
    }

    /// The dashboard areas to show in navigation.
    pub fn areas(&self) -> Vec<Area> {
        let mut areas = Vec::new();
        if self.can(Permission::ReadAllCampaigns) || self.roles.contains(&Role::CampaignOwner) {
            areas.push(Area::Campaigns);
            areas.push(Area::Activities);
        }
        if self.can(Permission::ReviewActivities) {
            areas.push(Area::Review);
        }
        if self.can(Permission::ReadPayouts) {
            areas.push(Area::Payouts);
        }
        if self.can(Permission::ApproveBatches) {
            areas.push(Area::Approvals);
        }
        if self.can(Permission::ReadFindings) {
            areas.push(Area::Findings);
        }
        if self.can(Permission::ManageStaff) {
            areas.push(Area::Users);
        }
        if self.can(Permission::ManageApiClients) {
            areas.push(Area::ApiClients);
        }
        if self.can(Permission::ReadContent) {
            areas.push(Area::Content);
        }
        if self.can(Permission::ReadAudit) {
            areas.push(Area::Audit);
        }
        areas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: StaffUserId(1),
            email: "a@example.com".into(),
            roles: roles.iter().copied().collect(),
            ip: None,
            via: None,
        }
    }

    #[test]
    fn only_admins_manage_staff() {
        for role in Role::ALL {
            assert_eq!(
                actor(&[role]).can(Permission::ManageStaff),
                role == Role::Admin
            );
        }
        assert!(actor(&[]).require(Permission::ManageStaff).is_err());
    }

    #[test]
    fn auditors_read_audit_but_change_nothing() {
        let a = actor(&[Role::Auditor]);
        assert!(a.can(Permission::ReadAudit));
        assert!(!a.can(Permission::ManageStaff));
        assert_eq!(
            a.areas(),
            vec![
                Area::Campaigns,
                Area::Activities,
                Area::Payouts,
                Area::Findings,
                Area::Content,
                Area::Audit
            ]
        );
    }

    #[test]
    fn the_system_acting_in_a_name_is_audited_as_the_system() {
        let own = actor(&[Role::Finance]).audit_actor();
        assert_eq!(
            (own.user_id, own.label.as_str()),
            (Some(StaffUserId(1)), "a@example.com")
        );
        let demo = Actor {
            via: Some("demo"),
            ..actor(&[Role::Finance])
        }
        .audit_actor();
        assert_eq!((demo.user_id, demo.label.as_str()), (None, "system (demo)"));
    }
}
