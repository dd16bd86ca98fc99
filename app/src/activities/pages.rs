//! Reported activities with their status, filterable (campaign owners see
//! their own campaigns' only).

use leptos::prelude::*;
use payquest_types::{ActivityId, CampaignId};

use crate::activities::api::list_activities;
use crate::campaigns::api::list_campaigns;
use crate::components::{load_error, Dashboard, BUTTON_QUIET, INPUT};

#[component]
pub fn ActivitiesPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Activities />
        </Dashboard>
    }
}

#[component]
fn Activities() -> impl IntoView {
    let status = RwSignal::new(String::new());
    let campaign = RwSignal::new(None::<CampaignId>);
    let before = RwSignal::new(None::<ActivityId>);
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    let rows = Resource::new(
        move || (campaign.get(), status.get(), before.get()),
        |(c, s, b)| list_activities(c, Some(s), b),
    );
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">"Activities"</h1>
            <div class="flex gap-4">
            <label class="block w-64 text-sm font-medium">"Campaign"
                <select class=INPUT on:change=move |ev| { before.set(None); campaign.set(event_target_value(&ev).parse().ok()); }>
                    <option value="">"all"</option>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            campaigns.await.unwrap_or_default().into_iter()
                                .map(|c| view! { <option value=c.campaign_id.to_string()>{c.name}</option> })
                                .collect_view()
                        })}
                    </Suspense>
                </select>
            </label>
            <label class="block w-64 text-sm font-medium">"Status"
                <select class=INPUT on:change=move |ev| { before.set(None); status.set(event_target_value(&ev)); }>
                    <option value="">"all"</option>
                    {["received", "validating", "validated", "rejected", "needs_review"].map(|s| view! { <option value=s>{s}</option> }).collect_view()}
                </select>
            </label>
            </div>
            <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Ok(rows) => {
                            let oldest = rows.last().map(|r| r.activity_id);
                            let full = rows.len() == 100;
                            view! {
                                <div class="overflow-x-auto" tabindex="0">
                                <table class="min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow" data-testid="activities-table">
                                    <thead class="bg-slate-100 text-left"><tr>
                                        <th class="px-3 py-2">"Id"</th><th class="px-3 py-2">"Campaign / quest"</th><th class="px-3 py-2">"Wallet"</th>
                                        <th class="px-3 py-2">"Status"</th><th class="px-3 py-2">"Attempts"</th><th class="px-3 py-2">"Occurred"</th>
                                    </tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {rows.into_iter().map(|r| view! {
                                            <tr>
                                                <td class="px-3 py-2 font-mono">{r.external_id}</td>
                                                <td class="px-3 py-2">{r.campaign_name} " / " {r.quest_name}</td>
                                                <td class="px-3 py-2 font-mono text-xs">{r.wallet}</td>
                                                <td class="px-3 py-2" title=r.reason.unwrap_or_default()>{r.status.as_str()}</td>
                                                <td class="px-3 py-2">{r.attempts}</td>
                                                <td class="px-3 py-2 whitespace-nowrap">{r.occurred_at}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                <Show when=move || full>
                                    <button class=BUTTON_QUIET on:click=move |_| before.set(oldest)>"Older"</button>
                                </Show>
                            }.into_any()
                        }
                        Err(e) => load_error(e),
                    }
                })}
            </Transition>
        </div>
    }
}
