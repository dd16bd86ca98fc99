//! Page paths, shared by links, redirects and server functions.

use payquest_types::SessionStage;

pub const SIGN_IN: &str = "/login";
pub const VERIFY: &str = "/login/verify";
pub const CHANGE_PASSWORD: &str = "/login/password";
pub const ENROL: &str = "/login/enrol";
pub const HOME: &str = "/";
pub const CAMPAIGNS: &str = "/campaigns";
pub const REVIEW: &str = "/review";
pub const ACTIVITIES: &str = "/activities";
pub const PAYOUTS: &str = "/payouts";
pub const APPROVALS: &str = "/approvals";
pub const FINDINGS: &str = "/findings";
pub const API_CLIENTS: &str = "/admin/api-clients";
pub const USERS: &str = "/admin/users";
pub const AUDIT: &str = "/admin/audit";

pub fn stage_path(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::SecondFactor => VERIFY,
        SessionStage::ChangePassword => CHANGE_PASSWORD,
        SessionStage::EnrolMfa => ENROL,
        SessionStage::Active => HOME,
    }
}
