//! The review queue (community): activities a validator could not decide, with
//! their evidence; approve or reject with a reason, one by one or in bulk.

use leptos::prelude::*;
use payquest_types::{ActivityId, ReviewItem};

use crate::components::{Dashboard, ErrorBanner, Loaded, BUTTON, BUTTON_QUIET, INPUT};
use crate::review::api::{review_queue, DecideReviews};

#[component]
pub fn ReviewPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Review />
        </Dashboard>
    }
}

#[component]
fn Review() -> impl IntoView {
    let decide = ServerAction::<DecideReviews>::new();
    let queue = Resource::new(move || decide.version().get(), |_| review_queue());
    let selected = RwSignal::new(Vec::<ActivityId>::new());
    let reason = RwSignal::new(String::new());
    let error = Signal::derive(move || decide.value().get().and_then(Result::err));
    let submit = move |approve: bool| {
        decide.dispatch(DecideReviews {
            activity_ids: selected.get_untracked(),
            approve,
            reason: reason.get_untracked(),
        });
        selected.set(Vec::new());
    };
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">"Review queue"</h1>
            <Loaded resource=queue view={move |items: Vec<ReviewItem>| {
                if items.is_empty() {
                    view! { <p class="text-slate-600" data-testid="queue-empty">"Nothing waits for review."</p> }.into_any()
                } else {
                    view! {
                        <ul class="space-y-3" data-testid="review-queue">
                            {items.into_iter().map(|item| view! { <ReviewRow item selected /> }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }} />
            <div class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-4 shadow">
                <label class="block grow text-sm font-medium">"Reason (kept in the audit log)"
                    <input class=INPUT maxlength="500" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) />
                </label>
                <button class=BUTTON disabled=move || selected.get().is_empty() on:click=move |_| submit(true)>"Approve selected"</button>
                <button class=BUTTON_QUIET disabled=move || selected.get().is_empty() on:click=move |_| submit(false)>"Reject selected"</button>
            </div>
            <ErrorBanner error=error />
        </div>
    }
}

#[component]
fn ReviewRow(item: ReviewItem, selected: RwSignal<Vec<ActivityId>>) -> impl IntoView {
    let id = item.activity_id;
    let toggle = move |_| {
        selected.update(|s| {
            if let Some(i) = s.iter().position(|x| *x == id) {
                s.remove(i);
            } else {
                s.push(id);
            }
        })
    };
    view! {
        <li class="rounded-xl bg-white p-4 shadow" data-external-id=item.external_id.clone()>
            <label class="flex items-start gap-3">
                <input type="checkbox" class="mt-1" prop:checked=move || selected.get().contains(&id) on:change=toggle
                    aria-label=format!("Select {}", item.external_id) />
                <div class="space-y-1 text-sm">
                    <p class="font-medium">{item.quest_name.clone()} " — " <span class="font-mono">{item.external_id.clone()}</span></p>
                    <p class="text-slate-600">"Wallet " <span class="font-mono">{item.wallet.clone()}</span> " · occurred " {item.occurred_at.clone()}</p>
                    <p class="text-slate-600">"Why here: " {item.reason.clone().unwrap_or_default()}</p>
                    <p class="font-mono text-xs text-slate-500">"Evidence: " {item.evidence.clone().unwrap_or_else(|| "none".into())}</p>
                    <p class="font-mono text-xs text-slate-500">"Last check: " {item.last_check.clone().unwrap_or_else(|| "none".into())}</p>
                </div>
            </label>
        </li>
    }
}
