//! The dashboard's landing page (the work waiting for the signed-in member)
//! and the not-found page.

use leptos::prelude::*;
use leptos_router::components::A;
use payquest_types::{count_in_words, Me, Waiting};

use crate::components::Dashboard;
use crate::routes;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Dashboard>
            <Welcome />
        </Dashboard>
    }
}

/// What one waiting item says and where it leads.
pub fn waiting_line(w: &Waiting) -> (String, String) {
    let n = |count: i64, one: &str, many: &str| {
        format!(
            "{} {}",
            count_in_words(count),
            if count == 1 { one } else { many }
        )
    };
    match w {
        Waiting::Reviews { count } => (
            n(*count, "activity waits for review", "activities wait for review"),
            routes::REVIEW.to_owned(),
        ),
        Waiting::BatchesToApprove { count } => (
            n(
                *count,
                "batch waits for your approval",
                "batches wait for your approval",
            ),
            routes::APPROVALS.to_owned(),
        ),
        Waiting::BatchesToDisburse { count } => (
            n(
                *count,
                "approved batch waits for disbursement",
                "approved batches wait for disbursement",
            ),
            routes::PAYOUTS.to_owned(),
        ),
        Waiting::FindingsOpen { count } => (
            n(
                *count,
                "reconciliation finding is open",
                "reconciliation findings are open",
            ),
            routes::FINDINGS.to_owned(),
        ),
        Waiting::BudgetNearThreshold {
            campaign_id,
            campaign,
            committed_pct,
            threshold_pct,
        } => (
            format!(
                "{campaign} has committed {committed_pct}% of its budget (alert at {threshold_pct}%)"
            ),
            routes::campaign(*campaign_id),
        ),
        Waiting::RoleRequests { count } => (
            n(
                *count,
                "role request waits for a second admin",
                "role requests wait for a second admin",
            ),
            routes::USERS.to_owned(),
        ),
        Waiting::FailedDeliveries { count } => (
            n(
                *count,
                "content webhook failed for good",
                "content webhooks failed for good",
            ),
            routes::WEBHOOKS.to_owned(),
        ),
    }
}

#[component]
fn Welcome() -> impl IntoView {
    let me = use_context::<Me>();
    let name = me
        .as_ref()
        .map(|m| m.display_name.clone())
        .unwrap_or_default();
    let roles = me
        .as_ref()
        .map(|m| {
            m.roles
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let waiting = me.map(|m| m.waiting).unwrap_or_default();
    let busy = waiting.iter().any(|w| w.count() > 0);
    let items = waiting
        .iter()
        .map(|w| {
            let (text, href) = waiting_line(w);
            let none = w.count() == 0;
            view! {
                <li data-testid="waiting-item" data-count=w.count().to_string()>
                    <A href=href attr:class=if none {
                        "flex items-center justify-between rounded-lg border border-slate-200 px-4 py-3 text-slate-500 hover:bg-slate-50"
                    } else {
                        "flex items-center justify-between rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 font-medium text-slate-900 hover:bg-amber-100"
                    }>
                        <span>{text}</span>
                        <span aria-hidden="true">"→"</span>
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="space-y-6">
            <div class="rounded-xl bg-white p-6 shadow">
                <h1 class="text-2xl font-bold" data-testid="dashboard-title">"Waiting for you"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "Signed in as " {name} " ("
                    {if roles.is_empty() { "no roles yet".to_owned() } else { roles }} ")."
                </p>
                {(!busy).then(|| view! {
                    <p class="mt-4 text-slate-700" data-testid="nothing-waiting">"Nothing waits for you right now."</p>
                })}
                <ul class="mt-4 space-y-2" data-testid="waiting">{items}</ul>
            </div>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="p-8">
            <h1 class="text-xl font-bold">"Page not found"</h1>
            <a class="text-indigo-600 hover:underline" href=crate::routes::PUBLIC_HOME>"Back to the home page"</a>
        </main>
    }
}
