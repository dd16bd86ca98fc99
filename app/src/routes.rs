//! Page paths, shared by links, redirects and server functions. The staff
//! dashboard lives under `/admin` (sign-in at `/admin/login`); `/` belongs
//! to the public site, and the gamer portal will have its own prefix.

use payquest_types::{BatchId, CampaignId, SessionStage};
pub const SIGN_IN: &str = "/admin/login";
pub const VERIFY: &str = "/admin/login/verify";
pub const CHANGE_PASSWORD: &str = "/admin/login/password";
pub const ENROL: &str = "/admin/login/enrol";
/// The public site's landing page.
pub const PUBLIC_HOME: &str = "/";
/// The staff dashboard.
pub const HOME: &str = "/admin";
pub const CAMPAIGNS: &str = "/admin/campaigns";
pub const REVIEW: &str = "/admin/review";
pub const ACTIVITIES: &str = "/admin/activities";
pub const PAYOUTS: &str = "/admin/payouts";
pub const APPROVALS: &str = "/admin/approvals";
pub const FINDINGS: &str = "/admin/findings";
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

/// A campaign's page on the dashboard.
pub fn campaign(campaign_id: CampaignId) -> String {
    format!("{CAMPAIGNS}/{campaign_id}")
}

/// A payout batch's page on the dashboard.
pub fn batch(batch_id: BatchId) -> String {
    format!("{PAYOUTS}/{batch_id}")
}
