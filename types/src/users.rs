//! Staff accounts and the role changes a second admin approves.

use crate::{Role, RoleRequestId, StaffUserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub user_id: StaffUserId,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub mfa_enrolled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: UserSummary,
    /// Shown once to the admin who created the account; never stored in clear.
    pub one_time_password: String,
    /// Privileged roles asked for but not granted yet: a second admin approves them.
    pub waiting_for_approval: Option<RoleRequest>,
}

/// The outcome of a change of someone's roles: what holds now, and what waits
/// for a second admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChange {
    pub user: UserSummary,
    pub waiting_for_approval: Option<RoleRequest>,
}

/// A request to give someone a privileged role set (admin, maker, checker or
/// finance), waiting for an admin who is neither the asker nor the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRequest {
    pub request_id: RoleRequestId,
    pub user_id: StaffUserId,
    pub email: String,
    /// The whole role set the person will hold once approved.
    pub roles: Vec<Role>,
    pub requested_by: String,
    pub requested_at: String,
    /// The viewer may approve or reject it (an admin other than the asker and the person).
    pub can_decide: bool,
}
