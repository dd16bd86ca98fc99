//! One module per page.

mod audit;
mod home;
mod sign_in;
mod users;

pub use audit::AuditPage;
pub use home::{HomePage, NotFound};
pub use sign_in::{ChangePasswordPage, EnrolPage, SignInPage, VerifyPage};
pub use users::UsersPage;
