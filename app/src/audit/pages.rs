//! The audit trail (admins and auditors), newest first.

use leptos::prelude::*;
use payquest_types::{AuditEntry, AuditId, Page};

use crate::audit::api::list_audit;
use crate::components::{Column, Dashboard, DataTable, Loaded, BUTTON_QUIET};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Audit />
        </Dashboard>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let before = RwSignal::new(None::<AuditId>);
    let entries = Resource::new(move || before.get(), list_audit);
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">"Audit log"</h1>
            <Loaded resource=entries view={move |page: Page<AuditEntry>| {
                let oldest = page.items.last().map(|e| e.audit_id);
                let has_more = page.has_more;
                view! {
                    <DataTable rows=page.items columns=columns() empty="Nothing is recorded yet." testid="audit-table" />
                    <div class="flex gap-2">
                        <Show when=move || before.get().is_some()>
                            <button class=BUTTON_QUIET on:click=move |_| before.set(None)>"Newest"</button>
                        </Show>
                        <Show when=move || has_more>
                            <button class=BUTTON_QUIET on:click=move |_| before.set(oldest)>"Older"</button>
                        </Show>
                    </div>
                }
            }} />
        </div>
    }
}

fn columns() -> Vec<Column<AuditEntry>> {
    vec![
        Column::new("When (UTC)", |e: &AuditEntry| {
            view! { <span class="whitespace-nowrap">{e.at.clone()}</span> }.into_any()
        }),
        Column::new("Who", |e: &AuditEntry| {
            view! { <span class="block max-w-[12rem] break-all">{e.actor.clone()}</span> }
                .into_any()
        }),
        Column::new("From", |e: &AuditEntry| {
            e.ip.clone().unwrap_or_default().into_any()
        }),
        Column::new("Action", |e: &AuditEntry| {
            view! { <span class="font-mono">{e.action.clone()}</span> }.into_any()
        }),
        Column::new("Subject", |e: &AuditEntry| {
            view! { <span class="block max-w-[14rem] break-all font-mono">{e.subject.clone()}</span> }.into_any()
        }),
        Column::new("Before → after", |e: &AuditEntry| {
            let before = e.before.clone().unwrap_or_default();
            let after = e.after.clone().unwrap_or_default();
            // Long records wrap inside the cell rather than widening the page.
            view! { <span class="block max-w-md break-all font-mono text-xs">{before} " → " {after}</span> }.into_any()
        }),
    ]
}
