//! The dashboard's landing page and the not-found page.

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
