//! The audit trail (admins and auditors), newest first.

use leptos::prelude::*;
use payquest_types::AuditId;

use crate::audit::api::list_audit;
use crate::components::{load_error, Dashboard, BUTTON_QUIET};

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
            <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(page) => {
                            let oldest = page.items.last().map(|e| e.audit_id);
                            let has_more = page.has_more;
                            view! {
                                <div class="overflow-x-auto" tabindex="0">
                                <table class="min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow" data-testid="audit-table">
                                    <thead class="bg-slate-100 text-left">
                                        <tr>
                                            <th class="px-4 py-2">"When (UTC)"</th>
                                            <th class="px-4 py-2">"Who"</th>
                                            <th class="px-4 py-2">"From"</th>
                                            <th class="px-4 py-2">"Action"</th>
                                            <th class="px-4 py-2">"Subject"</th>
                                            <th class="px-4 py-2">"Before → after"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.items.into_iter().map(|e| view! {
                                            <tr>
                                                <td class="whitespace-nowrap px-4 py-2">{e.at}</td>
                                                <td class="px-4 py-2">{e.actor}</td>
                                                <td class="px-4 py-2">{e.ip.unwrap_or_default()}</td>
                                                <td class="px-4 py-2 font-mono">{e.action}</td>
                                                <td class="px-4 py-2 font-mono">{e.subject}</td>
                                                <td class="px-4 py-2 font-mono text-xs">
                                                    {e.before.unwrap_or_default()} " → " {e.after.unwrap_or_default()}
                                                </td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                <div class="flex gap-2">
                                    <Show when=move || before.get().is_some()>
                                        <button class=BUTTON_QUIET on:click=move |_| before.set(None)>"Newest"</button>
                                    </Show>
                                    <Show when=move || has_more>
                                        <button class=BUTTON_QUIET on:click=move |_| before.set(oldest)>"Older"</button>
                                    </Show>
                                </div>
                            }.into_any()
                        }
                        Err(e) => load_error(e),
                    }
                })}
            </Transition>
        </div>
    }
}
