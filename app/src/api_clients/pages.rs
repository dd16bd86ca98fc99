//! Machine API clients (admins): create (the secret is shown once), rotate
//! the secret, disable. Rotating or disabling ends the client's tokens at once.

use leptos::prelude::*;
use payquest_types::ApiClientSummary;

use crate::api_clients::api::{
    list_api_clients, CreateApiClient, DisableApiClient, RotateApiClient,
};
use crate::components::{
    Column, Dashboard, DataTable, ErrorBanner, Loaded, BUTTON, BUTTON_QUIET, INPUT,
};

#[component]
pub fn ApiClientsPage() -> impl IntoView {
    view! {
        <Dashboard>
            <ApiClients />
        </Dashboard>
    }
}

#[component]
fn ApiClients() -> impl IntoView {
    let create = ServerAction::<CreateApiClient>::new();
    let rotate = ServerAction::<RotateApiClient>::new();
    let disable = ServerAction::<DisableApiClient>::new();
    let clients = Resource::new(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                disable.version().get(),
            )
        },
        |_| list_api_clients(),
    );
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| rotate.value().get().and_then(Result::err))
            .or_else(|| disable.value().get().and_then(Result::err))
    });
    let shown = move || {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| rotate.value().get().and_then(Result::ok))
    };
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">"API clients"</h1>
            <ActionForm action=create attr:class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-6 shadow">
                <label class="block text-sm font-medium">"Name"<input class=INPUT name="name" required maxlength="100" /></label>
                <label class="block text-sm font-medium">"Scopes"
                    <input class=INPUT name="scopes" value="activities:write activities:read" required />
                </label>
                <button class=BUTTON type="submit">"Create client"</button>
            </ActionForm>
            {move || shown().map(|s| view! {
                <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
                    "Client " <code class="font-mono">{s.client_id}</code> " — secret (shown once): "
                    <code class="font-mono font-semibold" data-testid="client-secret">{s.client_secret}</code>
                </p>
            })}
            <ErrorBanner error=error />
            <Loaded resource=clients view={move |list: Vec<ApiClientSummary>| {
                let columns = vec![
                    Column::new("Client", |c: &ApiClientSummary| view! { <span class="font-mono">{c.client_id.clone()}</span> }.into_any()),
                    Column::new("Name", |c: &ApiClientSummary| c.name.clone().into_any()),
                    Column::new("Scopes", |c: &ApiClientSummary| c.scopes.clone().into_any()),
                    Column::new("Status", |c: &ApiClientSummary| (if c.disabled { "disabled" } else { "active" }).into_any()),
                    Column::new("", move |c: &ApiClientSummary| {
                        let id = c.client_id.clone();
                        let id2 = c.client_id.clone();
                        view! {
                            <span class="space-x-2">
                                <button class=BUTTON_QUIET on:click=move |_| { rotate.dispatch(RotateApiClient { client_id: id.clone() }); }>"Rotate secret"</button>
                                <button class=BUTTON_QUIET on:click=move |_| { disable.dispatch(DisableApiClient { client_id: id2.clone() }); }>"Disable"</button>
                            </span>
                        }.into_any()
                    }),
                ];
                view! { <DataTable rows=list columns empty="No API clients yet." testid="api-clients-table" /> }
            }} />
        </div>
    }
}
