//! The findings page: what reconciliation found, the drift panel, and resolving.

use leptos::prelude::*;
use payquest_types::{DriftView, FindingView, FindingsReport};

use crate::components::{Column, Dashboard, DataTable, ErrorBanner, Loaded, BUTTON_QUIET, INPUT};
use crate::findings::api::{load_findings, ResolveFinding};

#[component]
pub fn FindingsPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Findings />
        </Dashboard>
    }
}

#[component]
fn Findings() -> impl IntoView {
    let resolve = ServerAction::<ResolveFinding>::new();
    let open_only = RwSignal::new(true);
    let report = Resource::new(
        move || (open_only.get(), resolve.version().get()),
        |(open, _)| load_findings(open),
    );
    let error = Signal::derive(move || resolve.value().get().and_then(Result::err));
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">"Reconciliation"</h1>
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" prop:checked=open_only on:change=move |ev| open_only.set(event_target_checked(&ev)) />
                "Open findings only"
            </label>
            <ErrorBanner error=error />
            <Loaded resource=report view={move |r: FindingsReport| view! {
                <section class="space-y-3">
                    <h2 class="text-lg font-semibold">"Findings"</h2>
                    {if r.findings.is_empty() {
                        view! { <p class="text-slate-600" data-testid="no-findings">"No findings: every confirmed payment matches the chain."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="space-y-3" data-testid="findings">
                                {r.findings.into_iter().map(|f| view! { <FindingRow f can_resolve=r.can_resolve resolve /> }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
                <section class="space-y-3">
                    <h2 class="text-lg font-semibold">"Drift between ledger and chain"</h2>
                    {if r.drift.is_empty() {
                        view! { <p class="text-slate-600" data-testid="no-drift">"None: the ledger and the chain agree."</p> }.into_any()
                    } else {
                        view! { <DataTable rows=r.drift columns=drift_columns() empty="" testid="drift" /> }.into_any()
                    }}
                </section>
            }} />
        </div>
    }
}

#[component]
fn FindingRow(
    f: FindingView,
    can_resolve: bool,
    resolve: ServerAction<ResolveFinding>,
) -> impl IntoView {
    let note = RwSignal::new(String::new());
    let id = f.finding_id;
    let open = f.resolved_at.is_none();
    view! {
        <li class="space-y-2 rounded-xl bg-white p-4 text-sm shadow" data-kind=f.kind.as_str()>
            <p class="font-medium">{f.kind.as_str().replace('_', " ")} " · " {f.created_at.clone()}</p>
            <p>{f.detail.clone()}</p>
            {f.tx_hash.clone().map(|h| view! { <p class="break-all font-mono text-xs text-slate-500">{h}</p> })}
            {f.resolved_at.clone().map(|at| view! {
                <p class="text-emerald-700">{format!("Resolved by {} at {at}: {}", f.resolved_by.clone().unwrap_or_default(), f.resolution_note.clone().unwrap_or_default())}</p>
            })}
            {(open && can_resolve).then(|| view! {
                <div class="flex items-end gap-2">
                    <label class="block grow text-sm font-medium">"Resolution note"
                        <input class=INPUT maxlength="500" prop:value=note on:input=move |ev| note.set(event_target_value(&ev)) />
                    </label>
                    <button class=BUTTON_QUIET on:click=move |_| { resolve.dispatch(ResolveFinding { finding_id: id, note: note.get_untracked() }); }>"Resolve"</button>
                </div>
            })}
        </li>
    }
}

fn drift_columns() -> Vec<Column<DriftView>> {
    vec![
        Column::new("Campaign", |d: &DriftView| {
            d.campaign_name.clone().into_any()
        }),
        Column::new("Direction", |d: &DriftView| {
            match d.direction.as_str() {
                "ledger_ahead" => "paid in the ledger, not yet proven on chain",
                "treasury_ahead" => "left the treasury, not paid in the ledger",
                _ => "on chain, not yet confirmed in the ledger",
            }
            .into_any()
        }),
        Column::new("Age", |d: &DriftView| d.age.clone().into_any()),
        Column::new("Items", |d: &DriftView| {
            view! { <span class="font-mono">{d.item_count}</span> }.into_any()
        }),
        Column::new("Total", |d: &DriftView| {
            view! { <span class="font-mono">{d.total.to_string()}</span> }.into_any()
        }),
    ]
}
