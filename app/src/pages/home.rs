//! The dashboard's landing page, the public site's landing page and the
//! not-found page.

use leptos::prelude::*;
use payquest_types::Me;

use crate::components::Dashboard;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Dashboard>
            <Welcome />
        </Dashboard>
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
        .map(|m| {
            m.roles
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    view! {
        <section class="rounded-xl bg-white p-8 shadow">
            <h1 class="text-2xl font-bold" data-testid="dashboard-title">"Dashboard"</h1>
            <p class="mt-2 text-slate-600">"Signed in as " {name} "."</p>
            <p class="mt-1 text-sm text-slate-500">"Roles: " {if roles.is_empty() { "none yet".to_owned() } else { roles }}</p>
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

/// The public site's front page: a plain landing page until the CMS fills
/// it. No session is read; staff sign in from the link at the bottom.
#[component]
pub fn PublicHomePage() -> impl IntoView {
    view! {
        <crate::components::PublicFrame>
            <section class="mx-auto max-w-3xl px-4 py-16 text-center">
                <h1 class="text-3xl font-bold sm:text-4xl" data-testid="public-title">"Play, complete quests, get paid"</h1>
                <p class="mt-4 text-lg text-slate-600">
                    "PayQuest rewards what you do on the platform: finish a quest in a game or on a social network, and the reward is paid in tokens to your wallet."
                </p>
            </section>
        </crate::components::PublicFrame>
    }
}
