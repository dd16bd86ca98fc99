//! Staff administration: list, create (with a one-time password), change
//! roles, disable. Every operation checks the actor's permission here, so the
//! same rule holds for pages, server functions, the CLI and any future API.

use payquest_types::{CreatedUser, Page, Role, UserSummary};
use serde::Serialize;

use crate::audit::{AuditActor, AuditRecord};
use crate::auth::{password, Actor, Email, Permission};
use crate::clock::{format_ms, now_ms};
use crate::limits::{DISPLAY_NAME_MAX_CHARS, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
use crate::store::{DynStore, NewStaff, StaffRecord};
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

/// Creates an account with a one-time password. Used by admins through the
/// dashboard and by the CLI (`system` actor) for the first admin.
async fn create_account(
    store: &DynStore,
    actor: &AuditActor,
    email: &str,
    display_name: &str,
    roles: &[Role],
) -> DomainResult<CreatedUser> {
    let email = Email::parse(email)?;
    let display_name = parse_display_name(display_name)?;
    let roles = normalise_roles(roles);
    let one_time = password::generate_one_time_password();
    let hash = password::hash(&one_time).await?;
    let audit = AuditRecord::new(actor, "staff.created", "staff:new").after(&serde_json::json!({
        "email": email.as_str(),
        "display_name": display_name,
        "roles": roles,
    }));
    let user = store
        .create_staff(
            &NewStaff {
                email: email.as_str(),
                display_name: &display_name,
                password_hash: &hash,
                must_change_password: true,
                roles: &roles,
                now_ms: now_ms(),
            },
            &audit,
        )
        .await?;
    Ok(CreatedUser {
        user: summary(&user),
        one_time_password: one_time.expose().to_owned(),
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
        after_id: i64,
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
            email,
            display_name,
            roles,
        )
        .await
    }

    async fn target(&self, user_id: i64) -> DomainResult<StaffRecord> {
        self.store
            .staff_by_id(user_id)
            .await?
            .ok_or(DomainError::NotFound("staff user"))
    }

    pub async fn set_roles(
        &self,
        actor: &Actor,
        user_id: i64,
        roles: &[Role],
    ) -> DomainResult<UserSummary> {
        actor.require(Permission::ManageStaff)?;
        let roles = normalise_roles(roles);
        if user_id == actor.user_id && !roles.contains(&Role::Admin) {
            // An admin removing their own admin role could leave nobody able to undo it.
            return Err(DomainError::InvalidInput(
                "you cannot remove your own admin role".into(),
            ));
        }
        let before = self.target(user_id).await?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "staff.roles_changed",
            format!("staff:{user_id}"),
        )
        .before(&RolesSnapshot {
            roles: &before.roles,
        })
        .after(&RolesSnapshot { roles: &roles });
        self.store.set_roles(user_id, &roles, &audit).await?;
        Ok(summary(&self.target(user_id).await?))
    }

    /// Disabling ends every session of the account at once.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        user_id: i64,
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
    create_account(store, &AuditActor::system("cli"), email, name, &[role]).await
}

/// Creates an admin from the command line. Prints nothing itself.
pub async fn create_admin_from_cli(store: &DynStore, email: &str) -> DomainResult<CreatedUser> {
    create_account(
        store,
        &AuditActor::system("cli"),
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
    before_id: Option<i64>,
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
