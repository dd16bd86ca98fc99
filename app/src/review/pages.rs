//! The review queue (community): activities a validator could not decide, with
//! their evidence; approve or reject with a reason, one by one or in bulk.

use leptos::prelude::*;
use payquest_types::{ActivityId, EvidenceField, ReviewItem};

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
    // What the last decision did, in words: "5 activities approved".
    let summary = move || {
        decide.value().get().and_then(Result::ok).map(|outcomes| {
            let decided = outcomes.iter().filter(|o| o.status.is_some()).count();
            let skipped = outcomes.len() - decided;
            let verb = match outcomes.iter().find_map(|o| o.status.clone()).as_deref() {
                Some("rejected") => "rejected",
                _ => "approved",
            };
            let mut text = format!(
                "{decided} {} {verb}.",
                if decided == 1 {
                    "activity"
                } else {
                    "activities"
                }
            );
            if skipped > 0 {
                text.push_str(&format!(
                    " {skipped} {} not waiting for review any more (decided by someone else).",
                    if skipped == 1 { "was" } else { "were" }
                ));
            }
            text
        })
    };
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
            {move || summary().map(|m| view! {
                <p class="rounded-md bg-emerald-50 p-3 text-sm text-emerald-800" role="status" data-testid="review-summary">{m}</p>
            })}
            <ErrorBanner error=error />
            <Loaded resource=queue view={move |items: Vec<ReviewItem>| {
                if items.is_empty() {
                    view! { <p class="text-slate-600" data-testid="queue-empty">"Nothing waits for review."</p> }.into_any()
                } else {
                    let all: Vec<ActivityId> = items.iter().map(|i| i.activity_id).collect();
                    let count = all.len();
                    let all_chosen = {
                        let all = all.clone();
                        move || selected.with(|s| all.iter().all(|id| s.contains(id)))
                    };
                    view! {
                        <div class="flex flex-wrap items-center gap-3 rounded-xl bg-white p-4 shadow">
                            <label class="flex items-center gap-2 text-sm font-medium">
                                <input type="checkbox" prop:checked=all_chosen.clone()
                                    on:change=move |ev| selected.set(if event_target_checked(&ev) { all.clone() } else { Vec::new() }) />
                                {format!("Select all {count}")}
                            </label>
                            <span class="text-sm text-slate-600">{move || format!("{} selected", selected.with(Vec::len))}</span>
                        </div>
                        <ul class="space-y-3" data-testid="review-queue">
                            {items.into_iter().map(|item| view! { <ReviewRow item selected /> }).collect_view()}
                        </ul>
                        <div class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-4 shadow" data-testid="review-decision">
                            <label class="block grow text-sm font-medium">"Reason (kept in the audit log)"
                                <input class=INPUT maxlength="500" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) />
                            </label>
                            <button class=BUTTON disabled=move || selected.get().is_empty() on:click=move |_| submit(true)>"Approve selected"</button>
                            <button class=BUTTON_QUIET disabled=move || selected.get().is_empty() on:click=move |_| submit(false)>"Reject selected"</button>
                        </div>
                    }.into_any()
                }
            }} />
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
                <div class="min-w-0 space-y-1 text-sm">
                    <p class="font-medium">{item.quest_name.clone()} " — " <span class="font-mono">{item.external_id.clone()}</span></p>
                    <p class="break-words text-slate-600">"Wallet " <span class="break-all font-mono">{item.wallet.clone()}</span> " · occurred " {item.occurred_at.clone()}</p>
                    <p class="text-slate-600">"Why here: " {item.reason.clone().unwrap_or_default()}</p>
                </div>
            </label>
            <div class="mt-3 grid gap-3 pl-7 sm:grid-cols-2">
                <Evidence title="Evidence" fields=item.evidence.clone() />
                <Evidence title="Last check" fields=item.last_check.clone() />
            </div>
        </li>
    }
}

/// Evidence as a list of fields; URLs are links (opened without our
/// referrer), and images from them are previewed.
#[component]
fn Evidence(title: &'static str, fields: Vec<EvidenceField>) -> impl IntoView {
    view! {
        <div class="min-w-0 text-sm">
            <h3 class="font-medium text-slate-700">{title}</h3>
            {if fields.is_empty() {
                view! { <p class="text-slate-500">"none"</p> }.into_any()
            } else {
                view! {
                    <dl class="mt-1 space-y-1" data-testid="evidence">
                        {fields.into_iter().map(|f| view! {
                            <div class="flex min-w-0 flex-wrap gap-x-2">
                                <dt class="text-slate-500">{f.key}</dt>
                                <dd class="min-w-0 break-all">
                                    {match f.link {
                                        Some(url) => view! {
                                            <a class="text-indigo-700 underline" href=url.clone() target="_blank" rel="noopener noreferrer nofollow">{f.value}</a>
                                            {f.image.then(|| view! {
                                                <img class="mt-1 max-h-32 rounded border" src=url alt="Evidence image" loading="lazy" referrerpolicy="no-referrer" />
                                            })}
                                        }.into_any(),
                                        None => view! { <span>{f.value}</span> }.into_any(),
                                    }}
                                </dd>
                            </div>
                        }).collect_view()}
                    </dl>
                }.into_any()
            }}
        </div>
    }
}
