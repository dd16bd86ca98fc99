//! One module per page.

mod activities;
mod api_clients;
mod audit;
mod campaigns;
mod home;
mod payouts;
mod review;
mod sign_in;
mod users;

pub use activities::ActivitiesPage;
pub use api_clients::ApiClientsPage;
pub use audit::AuditPage;
pub use campaigns::{CampaignPage, CampaignsPage};
pub use home::{HomePage, NotFound, PublicHomePage};
pub use payouts::{ApprovalsPage, BatchPage, FindingsPage, PayoutsPage};
pub use review::ReviewPage;
pub use sign_in::{ChangePasswordPage, EnrolPage, SignInPage, VerifyPage};
pub use users::UsersPage;
