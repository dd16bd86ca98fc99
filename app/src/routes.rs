//! The pages: their paths (shared by links, redirects and server
//! functions), the routes and the dashboard's navigation, from one table.
//! The staff dashboard lives under `/admin` (sign-in at `/admin/login`);
//! `/` belongs to the public site, and the gamer portal will have its own
//! prefix.

use leptos::prelude::*;
use leptos_router::components::{Route, Routes};
use leptos_router::{path, SsrMode};
use payquest_types::{Area, BatchId, CampaignId, ContentType, SessionStage};

use crate::activities::ActivitiesPage;
use crate::api_clients::ApiClientsPage;
use crate::audit::AuditPage;
use crate::campaigns::{CampaignPage, CampaignsPage};
use crate::content::{ContentEntryPage, ContentPage, MediaPage, WebhooksPage};
use crate::findings::FindingsPage;
use crate::home::{HomePage, NotFound};
use crate::payouts::{ApprovalsPage, BatchPage, PayoutsPage};
use crate::public::{
    DropPage, DropsPage, LeaderboardPage, LeaderboardsPage, MyRewardsPage, PreviewPage,
    PublicHomePage, QuestPage, QuestsPage,
};
use crate::review::ReviewPage;
use crate::session::{ChangePasswordPage, EnrolPage, SignInPage, VerifyPage};
use crate::users::UsersPage;

/// The one table of pages: each line gives a page's path (a constant of
/// this module), the component that renders it and, for the dashboard's
/// navigation, the area it belongs to and the link's label. `AppRoutes`,
/// the navigation (`nav_link`) and every link are made from it, so a new
/// page is one line here.
macro_rules! pages {
    (
        public { $(
            $(#[$pdoc:meta])*
            $pname:ident = $ppath:tt => $ppage:ident;
        )+ }
        staff { $(
            $(#[$doc:meta])*
            $name:ident = $path:tt => $page:ident $(, nav $area:ident $label:literal)?;
        )+ }
    ) => {
        $(
            $(#[$pdoc])*
            pub const $pname: &str = $ppath;
        )+
        $(
            $(#[$doc])*
            pub const $name: &str = $path;
        )+

        /// The router's routes, one per page (what the server renders, and
        /// what the dashboard's bundle hydrates).
        #[component]
        pub fn AppRoutes() -> impl IntoView {
            view! {
                <Routes fallback=NotFound>
                    $(<Route path=path!($ppath) view=$ppage ssr=SsrMode::Async />)+
                    $(<Route path=path!($path) view=$page ssr=SsrMode::Async />)+
                </Routes>
            }
        }

        /// The public site's routes only: the public bundle hydrates these,
        /// so it carries no dashboard code. Links from the public site to
        /// the dashboard are `rel="external"` (a full page load, which
        /// brings the dashboard's bundle).
        #[component]
        pub fn PublicRoutes() -> impl IntoView {
            view! {
                <Routes fallback=NotFound>
                    $(<Route path=path!($ppath) view=$ppage ssr=SsrMode::Async />)+
                </Routes>
            }
        }

        /// Whether a path is the public site's (served with the public
        /// bundle) rather than the dashboard's.
        pub fn is_public_path(path: &str) -> bool {
            !(path == "/admin" || path.starts_with("/admin/"))
        }

        /// A dashboard area's link: where it goes and what it says.
        pub fn nav_link(area: Area) -> (&'static str, &'static str) {
            match area {
                $($(Area::$area => ($path, $label),)?)+
            }
        }
    };
}

pages! {
    public {
        /// The public site's landing page.
        PUBLIC_HOME = "/" => PublicHomePage;
        /// A draft through a signed preview link.
        PREVIEW = "/preview/:token" => PreviewPage;
        QUESTS = "/quests" => QuestsPage;
        QUEST = "/quests/:slug" => QuestPage;
        DROPS = "/drops" => DropsPage;
        DROP = "/drops/:slug" => DropPage;
        LEADERBOARDS = "/leaderboards" => LeaderboardsPage;
        LEADERBOARD = "/leaderboards/:slug" => LeaderboardPage;
        /// A signed-in gamer's activities, rewards and payouts.
        MY_REWARDS = "/me" => MyRewardsPage;
    }
    staff {
    SIGN_IN = "/admin/login" => SignInPage;
    VERIFY = "/admin/login/verify" => VerifyPage;
    CHANGE_PASSWORD = "/admin/login/password" => ChangePasswordPage;
    ENROL = "/admin/login/enrol" => EnrolPage;
    /// The staff dashboard.
    HOME = "/admin" => HomePage;
    CAMPAIGNS = "/admin/campaigns" => CampaignsPage, nav Campaigns "Campaigns";
    CAMPAIGN = "/admin/campaigns/:id" => CampaignPage;
    ACTIVITIES = "/admin/activities" => ActivitiesPage, nav Activities "Activities";
    REVIEW = "/admin/review" => ReviewPage, nav Review "Review queue";
    PAYOUTS = "/admin/payouts" => PayoutsPage, nav Payouts "Payouts";
    BATCH = "/admin/payouts/:id" => BatchPage;
    APPROVALS = "/admin/approvals" => ApprovalsPage, nav Approvals "Approvals";
    FINDINGS = "/admin/findings" => FindingsPage, nav Findings "Findings";
    API_CLIENTS = "/admin/api-clients" => ApiClientsPage, nav ApiClients "API clients";
    USERS = "/admin/users" => UsersPage, nav Users "Users";
    CONTENT = "/admin/content" => ContentPage, nav Content "Content";
    CONTENT_ENTRY = "/admin/content/:type/:slug" => ContentEntryPage;
    MEDIA = "/admin/content/media" => MediaPage;
    WEBHOOKS = "/admin/content/webhooks" => WebhooksPage;
    AUDIT = "/admin/audit" => AuditPage, nav Audit "Audit log";
    }
}

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

/// A CMS entry's editor on the dashboard.
pub fn content_entry(content_type: ContentType, slug: &str) -> String {
    format!("{CONTENT}/{}/{slug}", content_type.as_str())
}

/// A preview link's page.
pub fn preview(token: &str) -> String {
    format!("/preview/{token}")
}
