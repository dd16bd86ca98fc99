//! The public site's pages. They read no staff session.

use leptos::prelude::*;

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
