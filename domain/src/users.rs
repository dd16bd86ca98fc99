//! Staff administration: list, create (with a one-time password), change
//! roles, disable. Every operation checks the actor's permission here, so the
//! same rule holds for pages, server functions, the CLI and any future API.

use payquest_types::{AuditId, RoleRequestId, StaffUserId};
use payquest_types::{
    CreatedUser, Page, Role, RoleChange, RoleRequest, RoleRequestState, UserSummary,
};
use serde::Serialize;

use crate::audit::{AuditActor, AuditRecord};
use crate::clock::{format_ms, now_ms};
use crate::limits::{DISPLAY_NAME_MAX_CHARS, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
use crate::session::{password, Actor, Email, Permission};
use crate::store::{DynStore, NewStaff, RoleRequestRecord, StaffRecord};
use crate::{DomainError, DomainResult};

pub fn summary(u: &StaffRecord) -> UserSummary {
    UserSummary {
        user_id: u.staff_user_id,
        email: u.email.clone(),
        display_name: u.display_name.clone(),
        roles: u.roles.clone(),
        disabled: u.disabled,
        mfa_enrolled: u.totp_confirmed,
        created_at: format_ms(u.created_at_ms),
    }
}

#[derive(Serialize)]
struct RolesSnapshot<'a> {
    roles: &'a [Role],
}

#[derive(Serialize)]
struct DisabledSnapshot {
    disabled: bool,
}

fn parse_display_name(raw: &str) -> DomainResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(DomainError::InvalidInput(format!(
            "the name must be 1 to {DISPLAY_NAME_MAX_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::InvalidInput(
            "the name contains control characters".into(),
        ));
    }
    Ok(name.to_owned())
}

fn normalise_roles(roles: &[Role]) -> Vec<Role> {
    let mut r = roles.to_vec();
    r.sort();
    r.dedup();
    r
}

/// Pending role requests shown at once (the list is for people, not machines).
const ROLE_REQUESTS_SHOWN: u32 = 100;

/// How a wanted role set is applied: `now` at once, and the whole `wanted`
/// set after a second admin's approval when it adds a privileged role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePlan {
    pub now: Vec<Role>,
    pub pending: Option<Vec<Role>>,
}

/// The rules of who may hold what, pure so they are tested on their own:
/// maker and checker never together; a privileged role added to someone
/// (admin, maker, checker, finance) waits for a second admin, while removals
/// and other roles apply at once.
pub fn plan_roles(before: &[Role], wanted: &[Role]) -> DomainResult<RolePlan> {
    let wanted = normalise_roles(wanted);
    if wanted.contains(&Role::Maker) && wanted.contains(&Role::Checker) {
        return Err(DomainError::FourEyes(
            "one person can't be both maker and checker: a checker approves someone else's batch"
                .into(),
        ));
    }
    let adds_privileged = wanted
        .iter()
        .any(|r| r.is_privileged() && !before.contains(r));
    if !adds_privileged {
        return Ok(RolePlan {
            now: wanted,
            pending: None,
        });
    }
    let now = wanted
        .iter()
        .copied()
        .filter(|r| !r.is_privileged() || before.contains(r))
        .collect();
    Ok(RolePlan {
        now,
        pending: Some(wanted),
    })
}

fn role_request_view(r: &RoleRequestRecord, viewer: StaffUserId) -> RoleRequest {
    RoleRequest {
        request_id: r.staff_role_request_id,
        user_id: r.staff_user_id,
        email: r.email.clone(),
        roles: r.roles.clone(),
        requested_by: r.requested_by_email.clone(),
        requested_at: format_ms(r.requested_at_ms),
        can_decide: r.state == RoleRequestState::Pending
            && viewer != r.requested_by
            && viewer != r.staff_user_id,
    }
}

#[derive(Serialize)]
struct RoleRequestSnapshot<'a> {
    request_id: RoleRequestId,
    staff_user_id: StaffUserId,
    roles: &'a [Role],
    state: RoleRequestState,
}

/// Creates an account with a one-time password. Used by admins through the
/// dashboard (`requester`: privileged roles then wait for a second admin) and
/// by the CLI (`None`: an operator with access to the server, e.g. for the
/// first admin and the demo people).
async fn create_account(
    store: &DynStore,
    actor: &AuditActor,
    requester: Option<StaffUserId>,
    email: &str,
    display_name: &str,
    roles: &[Role],
) -> DomainResult<CreatedUser> {
    let email = Email::parse(email)?;
    let display_name = parse_display_name(display_name)?;
    let plan = plan_roles(&[], roles)?;
    let (granted, pending) = match requester {
        Some(by) => (plan.now, plan.pending.map(|p| (by, p))),
        None => (plan.pending.unwrap_or(plan.now), None),
    };
    let one_time = password::generate_one_time_password();
    let hash = password::hash(&one_time).await?;
    let audit = AuditRecord::new(actor, "staff.created", "staff:new").after(&serde_json::json!({
        "email": email.as_str(),
        "display_name": display_name,
        "roles": granted,
        "roles_waiting_for_approval": pending.as_ref().map(|(_, p)| p),
    }));
    let user = store
        .create_staff(
            &NewStaff {
                email: email.as_str(),
                display_name: &display_name,
                password_hash: &hash,
                must_change_password: true,
                roles: &granted,
                now_ms: now_ms(),
                role_request: pending.as_ref().map(|(by, p)| (*by, p.as_slice())),
            },
            &audit,
        )
        .await?;
    let waiting_for_approval = match pending {
        Some((by, _)) => store
            .pending_role_request_of(user.staff_user_id)
            .await?
            .map(|r| role_request_view(&r, by)),
        None => None,
    };
    Ok(CreatedUser {
        user: summary(&user),
        one_time_password: one_time.expose().to_owned(),
        waiting_for_approval,
    })
}

pub struct Users {
    store: DynStore,
}

impl Users {
    pub fn new(store: DynStore) -> Self {
        Self { store }
    }

    pub async fn list(
        &self,
        actor: &Actor,
        after_id: StaffUserId,
        limit: Option<u32>,
    ) -> DomainResult<Page<UserSummary>> {
        actor.require(Permission::ManageStaff)?;
        let limit = limit.unwrap_or(PAGE_SIZE_DEFAULT);
        if limit == 0 || limit > PAGE_SIZE_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page size must be 1 to {PAGE_SIZE_MAX}"
            )));
        }
        let mut rows = self.store.list_staff(after_id, limit + 1).await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok(Page {
            items: rows.iter().map(summary).collect(),
            has_more,
        })
    }

    pub async fn create(
        &self,
        actor: &Actor,
        email: &str,
        display_name: &str,
        roles: &[Role],
    ) -> DomainResult<CreatedUser> {
        actor.require(Permission::ManageStaff)?;
        create_account(
            &self.store,
            &actor.audit_actor(),
            Some(actor.user_id),
            email,
            display_name,
            roles,
        )
        .await
    }

    async fn target(&self, user_id: StaffUserId) -> DomainResult<StaffRecord> {
        self.store
            .staff_by_id(user_id)
            .await?
            .ok_or(DomainError::NotFound("staff user"))
    }

    /// Changes someone's roles. Nobody adds roles to themselves; a privileged
    /// role added to someone else waits for a second admin (`waiting_for_approval`).
    pub async fn set_roles(
        &self,
        actor: &Actor,
        user_id: StaffUserId,
        roles: &[Role],
    ) -> DomainResult<RoleChange> {
        actor.require(Permission::ManageStaff)?;
        let wanted = normalise_roles(roles);
        let before = self.target(user_id).await?;
        if user_id == actor.user_id {
            if !wanted.contains(&Role::Admin) {
                // An admin removing their own admin role could leave nobody able to undo it.
                return Err(DomainError::InvalidInput(
                    "you cannot remove your own admin role".into(),
                ));
            }
            if wanted.iter().any(|r| !before.roles.contains(r)) {
                return Err(DomainError::FourEyes(
                    "you cannot grant roles to yourself: ask another admin".into(),
                ));
            }
        }
        let plan = plan_roles(&before.roles, &wanted)?;
        if plan.pending.is_some() && self.store.pending_role_request_of(user_id).await?.is_some() {
            return Err(DomainError::Conflict(
                "a role change for this person is already waiting for approval".into(),
            ));
        }
        if plan.now != before.roles {
            let audit = AuditRecord::new(
                &actor.audit_actor(),
                "staff.roles_changed",
                format!("staff:{user_id}"),
            )
            .before(&RolesSnapshot {
                roles: &before.roles,
            })
            .after(&RolesSnapshot { roles: &plan.now });
            self.store.set_roles(user_id, &plan.now, &audit).await?;
        }
        let waiting_for_approval = match &plan.pending {
            Some(pending) => {
                let audit = AuditRecord::new(
                    &actor.audit_actor(),
                    "staff.roles_requested",
                    format!("staff:{user_id}"),
                )
                .before(&RolesSnapshot {
                    roles: &before.roles,
                })
                .after(&RolesSnapshot { roles: pending });
                let id = self
                    .store
                    .request_roles(user_id, pending, actor.user_id, &audit)
                    .await?;
                self.store
                    .role_request(id)
                    .await?
                    .map(|r| role_request_view(&r, actor.user_id))
            }
            None => None,
        };
        Ok(RoleChange {
            user: summary(&self.target(user_id).await?),
            waiting_for_approval,
        })
    }

    /// Role sets waiting for a second admin, oldest first.
    pub async fn role_requests(&self, actor: &Actor) -> DomainResult<Vec<RoleRequest>> {
        actor.require(Permission::ManageStaff)?;
        Ok(self
            .store
            .pending_role_requests(ROLE_REQUESTS_SHOWN)
            .await?
            .iter()
            .map(|r| role_request_view(r, actor.user_id))
            .collect())
    }

    /// A second admin approves (the roles apply at once) or rejects a request.
    /// The asker and the person who would get the roles may not decide it.
    pub async fn decide_role_request(
        &self,
        actor: &Actor,
        request_id: RoleRequestId,
        approve: bool,
    ) -> DomainResult<RoleChange> {
        actor.require(Permission::ManageStaff)?;
        let request = self
            .store
            .role_request(request_id)
            .await?
            .ok_or(DomainError::NotFound("role request"))?;
        if request.state != RoleRequestState::Pending {
            return Err(DomainError::Conflict(format!(
                "this request was already {}",
                request.state
            )));
        }
        if request.requested_by == actor.user_id {
            return Err(DomainError::FourEyes(
                "another admin must decide a role change you asked for".into(),
            ));
        }
        if request.staff_user_id == actor.user_id {
            return Err(DomainError::FourEyes(
                "another admin must decide a role change for you".into(),
            ));
        }
        // Re-checked at the decision: the rule holds even for a request stored earlier.
        plan_roles(&[], &request.roles)?;
        let state = if approve {
            RoleRequestState::Approved
        } else {
            RoleRequestState::Rejected
        };
        let action = if approve {
            "staff.roles_approved"
        } else {
            "staff.roles_rejected"
        };
        let before = self.target(request.staff_user_id).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            action,
            format!("staff:{}", request.staff_user_id),
        )
        .before(&RolesSnapshot {
            roles: &before.roles,
        })
        .after(&RoleRequestSnapshot {
            request_id,
            staff_user_id: request.staff_user_id,
            roles: &request.roles,
            state,
        });
        if !self
            .store
            .decide_role_request(request_id, actor.user_id, approve, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "this request was decided by someone else just now".into(),
            ));
        }
        Ok(RoleChange {
            user: summary(&self.target(request.staff_user_id).await?),
            waiting_for_approval: None,
        })
    }

    /// Disabling ends every session of the account at once.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        user_id: StaffUserId,
        disabled: bool,
    ) -> DomainResult<UserSummary> {
        actor.require(Permission::ManageStaff)?;
        if user_id == actor.user_id && disabled {
            return Err(DomainError::InvalidInput(
                "you cannot disable your own account".into(),
            ));
        }
        let before = self.target(user_id).await?;
        let action = if disabled {
            "staff.disabled"
        } else {
            "staff.enabled"
        };
        let audit = AuditRecord::new(&actor.audit_actor(), action, format!("staff:{user_id}"))
            .before(&DisabledSnapshot {
                disabled: before.disabled,
            })
            .after(&DisabledSnapshot { disabled });
        self.store.set_disabled(user_id, disabled, &audit).await?;
        Ok(summary(&self.target(user_id).await?))
    }
}

/// Creates a staff member with one role from the command line (demo data).
pub async fn create_staff_from_cli(
    store: &DynStore,
    email: &str,
    name: &str,
    role: Role,
) -> DomainResult<CreatedUser> {
    create_account(
        store,
        &AuditActor::system("cli"),
        None,
        email,
        name,
        &[role],
    )
    .await
}

/// Creates an admin from the command line. Prints nothing itself.
pub async fn create_admin_from_cli(store: &DynStore, email: &str) -> DomainResult<CreatedUser> {
    create_account(
        store,
        &AuditActor::system("cli"),
        None,
        email,
        "Administrator",
        &[Role::Admin],
    )
    .await
}

/// On a first start with no accounts, creates the first admin and returns its
/// one-time password, to be printed once. Two replicas starting together
/// cannot both create one: the unique email decides.
pub async fn ensure_first_admin(
    store: &DynStore,
    email: &str,
) -> DomainResult<Option<CreatedUser>> {
    if store.count_staff().await? > 0 {
        return Ok(None);
    }
    match create_account(
        store,
        &AuditActor::system("bootstrap"),
        None,
        email,
        "Administrator",
        &[Role::Admin],
    )
    .await
    {
        Ok(created) => Ok(Some(created)),
        Err(DomainError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn list_audit(
    store: &DynStore,
    actor: &Actor,
    before_id: Option<AuditId>,
    limit: Option<u32>,
) -> DomainResult<Page<payquest_types::AuditEntry>> {
    actor.require(Permission::ReadAudit)?;
    let limit = limit.unwrap_or(PAGE_SIZE_DEFAULT);
    if limit == 0 || limit > PAGE_SIZE_MAX {
        return Err(DomainError::InvalidInput(format!(
            "page size must be 1 to {PAGE_SIZE_MAX}"
        )));
    }
    let mut rows = store.list_audit(before_id, limit + 1).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| payquest_types::AuditEntry {
                audit_id: r.audit_event_id,
                at: format_ms(r.at_ms),
                actor: r.actor,
                action: r.action,
                subject: r.subject,
                ip: r.ip,
                before: r.before_json,
                after: r.after_json,
            })
            .collect(),
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileged_roles_wait_for_a_second_admin() {
        let plan = plan_roles(&[Role::Auditor], &[Role::Auditor, Role::Checker]).expect("plan");
        assert_eq!(plan.now, vec![Role::Auditor]);
        assert_eq!(plan.pending, Some(vec![Role::Checker, Role::Auditor]));
        // Removing a privileged role or adding a plain one applies at once.
        let plan = plan_roles(&[Role::Finance], &[Role::Community]).expect("plan");
        assert_eq!(plan.now, vec![Role::Community]);
        assert_eq!(plan.pending, None);
        // Keeping a privileged role while adding another waits for the addition only.
        let plan = plan_roles(&[Role::Finance], &[Role::Finance, Role::Admin]).expect("plan");
        assert_eq!(plan.now, vec![Role::Finance]);
        assert!(plan.pending.is_some());
    }

    #[test]
    fn maker_and_checker_never_together() {
        let err = plan_roles(&[Role::Maker], &[Role::Maker, Role::Checker]).expect_err("refused");
        assert!(matches!(err, DomainError::FourEyes(_)), "{err:?}");
    }
}
