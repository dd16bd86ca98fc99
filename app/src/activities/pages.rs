//! Reported activities with their status, filterable (campaign owners see
//! their own campaigns' only).

use leptos::prelude::*;
use payquest_types::{ActivityId, ActivityRow, CampaignId};

use crate::activities::api::list_activities;
use crate::campaigns::api::list_campaigns;
use crate::components::{reload_while, Column, Dashboard, DataTable, Loaded, BUTTON_QUIET, INPUT};

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
    let reload = RwSignal::new(0u32);
    let rows = Resource::new(
        move || (campaign.get(), status.get(), before.get(), reload.get()),
        |(c, s, b, _)| list_activities(c, Some(s), b),
    );
    // Activities being validated change status by themselves: follow them.
    reload_while(rows, reload, |rows: &Vec<ActivityRow>| {
        rows.iter().any(|r| r.status.is_pending())
    });
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
            <Loaded resource=rows view={move |rows: Vec<ActivityRow>| {
                let oldest = rows.last().map(|r| r.activity_id);
                let full = rows.len() == 100;
                view! {
                    <DataTable rows columns=columns() empty="No activities match." testid="activities-table" />
                    <Show when=move || full>
                        <button class=BUTTON_QUIET on:click=move |_| before.set(oldest)>"Older"</button>
                    </Show>
                }
            }} />
        </div>
    }
}

fn columns() -> Vec<Column<ActivityRow>> {
    vec![
        Column::new("Id", |r: &ActivityRow| {
            view! { <span class="font-mono">{r.external_id.clone()}</span> }.into_any()
        }),
        Column::new("Campaign / quest", |r: &ActivityRow| {
            format!("{} / {}", r.campaign_name, r.quest_name).into_any()
        }),
        Column::new("Wallet", |r: &ActivityRow| {
            view! { <span class="font-mono text-xs">{r.wallet.clone()}</span> }.into_any()
        }),
        Column::new("Status", |r: &ActivityRow| {
            view! { <span title=r.reason.clone().unwrap_or_default()>{r.status_in_words()}</span> }
                .into_any()
        }),
        Column::new("Attempts", |r: &ActivityRow| r.attempts.into_any()),
        Column::new("Occurred", |r: &ActivityRow| {
            view! { <span class="whitespace-nowrap">{r.occurred_at.clone()}</span> }.into_any()
        }),
    ]
}
