//! PayQuest's pages and the server functions they call. The same code renders
//! on the server (feature `ssr`) and hydrates in the browser (`hydrate`).

mod components;
pub mod error;
mod home;
pub mod routes;

// One folder per area, named as in `payquest_types` and `payquest_domain`:
// `api.rs` holds its server functions, `pages.rs` its pages.
pub mod activities;
pub mod api_clients;
pub mod audit;
pub mod campaigns;
pub mod content;
pub mod findings;
pub mod payouts;
pub mod public;
pub mod quests;
pub mod review;
#[cfg(feature = "ssr")]
pub mod server;
pub mod session;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::Router;
use routes::AppRoutes;

/// The file name (in the site's `pkg` folder) of the public site's bundle,
/// which hydrates `PublicApp`; the dashboard's is the site's own output name.
pub const PUBLIC_BUNDLE: &str = "payquest_public";

/// The HTML document around the app. A public page loads the public
/// bundle, a dashboard page the whole app's.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let options = {
        let public = use_context::<axum::http::request::Parts>()
            .is_some_and(|p| routes::is_public_path(p.uri.path()));
        let mut options = options;
        if public {
            options.output_name = std::sync::Arc::from(PUBLIC_BUNDLE);
        }
        options
    };
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full bg-slate-50">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.ico" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// Sets the page's Content-Security-Policy, allowing only our own scripts and
/// the inline hydration scripts that carry this response's nonce.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use axum::http::{header, HeaderValue};
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    let Some(res) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        &*nonce
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        res.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The whole app: what the server renders for every page, and what the
/// dashboard's bundle hydrates.
#[component]
pub fn App() -> impl IntoView {
    frame(AppRoutes)
}

/// The public site alone, hydrated by the public bundle: the same tree as
/// `App` renders for a public page, without the dashboard's routes.
#[component]
pub fn PublicApp() -> impl IntoView {
    frame(routes::PublicRoutes)
}

fn frame<R: IntoView + 'static>(routes: fn() -> R) -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    set_content_security_policy();

    // Lets browser tests wait until the page is interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/payquest.css" />
        <Title text="PayQuest" />
        <Router>
            {routes()}
        </Router>
    }
}
