//! Payouts: the batch list and builder (maker), a batch's page with its
//! contents hash, approvals and chain progress (checker, finance), and the
//! approval inbox (checker).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use payquest_types::{
    BatchId, BatchState, BatchSummary, BatchView, ChunkState, FilterCampaign, PayoutItemId,
};

use crate::components::{
    reload_while, state_badge, Column, Dashboard, DataTable, ErrorBanner, Loaded, BUTTON,
    BUTTON_QUIET, INPUT,
};
use crate::payouts::api::{
    batch_filter_choices, export_batch_csv, list_batches, load_batch, payout_policy, ApproveBatch,
    CancelWithdrawal, ConfirmWithdrawal, CreateBatch, PreviewEligible, RejectBatch,
    RemoveBatchItem, RequestWithdrawal, RetryFailedItems, SetAutoDisburse, StartDisbursement,
    SubmitBatch,
};

const TH: &str = "px-3 py-2";
const TD: &str = "px-3 py-2";

#[component]
fn BatchTable(batches: Vec<BatchSummary>, #[prop(into)] empty: String) -> impl IntoView {
    let columns = vec![
        Column::new("Batch", |b: &BatchSummary| {
            view! { <a class="font-medium text-indigo-700 hover:underline" href=crate::routes::batch(b.batch_id)>{format!("#{}", b.batch_id)}</a> }.into_any()
        }),
        Column::new("State", |b: &BatchSummary| {
            state_badge(b.state.as_str()).into_any()
        }),
        Column::new("Maker", |b: &BatchSummary| b.maker_email.clone().into_any()),
        Column::new("Note", |b: &BatchSummary| b.note.clone().into_any()),
        Column::new("Items", |b: &BatchSummary| {
            view! { <span class="font-mono">{b.item_count}</span> }.into_any()
        }),
        Column::new("Total", |b: &BatchSummary| {
            view! { <span class="font-mono">{b.total.to_string()}</span> }.into_any()
        }),
        Column::new("Approvals", |b: &BatchSummary| {
            format!("{} of {}", b.approvals, b.approvals_needed).into_any()
        }),
    ];
    view! { <DataTable rows=batches columns empty testid="batches-table" /> }
}

#[component]
pub fn PayoutsPage() -> impl IntoView {
    // Both of the page's resources are created here, outside the dashboard's
    // Suspense (see `CampaignPage`), so server and browser agree on their order.
    let create = ServerAction::<CreateBatch>::new();
    let set = ServerAction::<SetAutoDisburse>::new();
    let reload = RwSignal::new(0u32);
    let list = Resource::new(
        move || (create.version().get(), set.version().get(), reload.get()),
        |_| list_batches(payquest_types::BatchList::All),
    );
    // Batches on their way change state by themselves: follow them.
    reload_while(list, reload, |batches: &Vec<BatchSummary>| {
        batches.iter().any(|b| b.state.is_moving())
    });
    // A new setting is read back (and every batch as it now is) in place.
    let policy = Resource::new(move || set.version().get(), |_| payout_policy());
    let choices = Resource::new(|| (), |_| batch_filter_choices());
    view! {
        <Dashboard>
            <Payouts create list set policy choices />
        </Dashboard>
    }
}

type BatchListResource = Resource<Result<Vec<BatchSummary>, crate::error::AppError>>;

type Policy = Resource<Result<(bool, bool), crate::error::AppError>>;

#[component]
fn Payouts(
    create: ServerAction<CreateBatch>,
    list: BatchListResource,
    set: ServerAction<SetAutoDisburse>,
    policy: Policy,
    choices: Resource<Result<Vec<FilterCampaign>, crate::error::AppError>>,
) -> impl IntoView {
    let preview = ServerAction::<PreviewEligible>::new();
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| preview.value().get().and_then(Result::err))
    });
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            crate::components::go_to(&crate::routes::batch(id));
        }
    });
    let (campaign, quest, from, to, min_amount) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let max_items = RwSignal::new("1000".to_string());
    let note = RwSignal::new(String::new());
    let max = move || max_items.get_untracked().trim().parse::<u32>().unwrap_or(0);
    let run_preview = move |_| {
        preview.dispatch(PreviewEligible {
            campaign: campaign.get_untracked(),
            quest: quest.get_untracked(),
            from: from.get_untracked(),
            to: to.get_untracked(),
            min_amount: min_amount.get_untracked(),
            max_items: max().min(200),
        });
    };
    let run_create = move |_| {
        create.dispatch(CreateBatch {
            note: note.get_untracked(),
            campaign: campaign.get_untracked(),
            quest: quest.get_untracked(),
            from: from.get_untracked(),
            to: to.get_untracked(),
            min_amount: min_amount.get_untracked(),
            max_items: max(),
        });
    };
    let field = |label: &'static str,
                 sig: RwSignal<String>,
                 kind: &'static str,
                 name: &'static str| {
        view! {
            <label class="block text-sm font-medium">{label}
                <input class=INPUT type=kind name=name prop:value=sig on:input=move |ev| sig.set(event_target_value(&ev)) />
            </label>
        }
    };
    view! {
        <div class="space-y-8">
            <h1 class="text-2xl font-bold">"Payouts"</h1>
            <AutoDisburse set policy />
            <section class="space-y-4 rounded-xl bg-white p-6 shadow" data-testid="batch-builder">
                <h2 class="text-lg font-semibold">"Build a batch from eligible rewards (maker)"</h2>
                <div class="grid gap-4 sm:grid-cols-3">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = choices.await.unwrap_or_default();
                            view! { <FilterPickers list campaign quest /> }.into_any()
                        })}
                    </Transition>
                    {field("Minimum amount", min_amount, "text", "min_amount")}
                    {field("Earned from", from, "date", "from")}
                    {field("Earned before", to, "date", "to")}
                    {field("At most this many items", max_items, "number", "max_items")}
                </div>
                <label class="block text-sm font-medium">"Note"
                    <input class=INPUT name="note" maxlength="200" prop:value=note on:input=move |ev| note.set(event_target_value(&ev)) />
                </label>
                <div class="flex gap-3">
                    <button class=BUTTON_QUIET on:click=run_preview>"Preview"</button>
                    <button class=BUTTON on:click=run_create>"Create batch"</button>
                </div>
                <ErrorBanner error=error />
                {move || preview.value().get().and_then(Result::ok).map(|items| view! { <Preview items /> }.into_any())}
            </section>
            <Loaded resource=list view={|b| view! { <BatchTable batches=b empty="No batches yet." /> }} />
        </div>
    }
}

/// Campaign and quest by name; the quest list follows the campaign chosen.
/// Their values are the ids the filter takes (blank: all).
#[component]
fn FilterPickers(
    list: Vec<FilterCampaign>,
    campaign: RwSignal<String>,
    quest: RwSignal<String>,
) -> impl IntoView {
    let list = StoredValue::new(list);
    let campaign_options = list.with_value(|l| {
        l.iter()
            .map(|c| view! { <option value=c.campaign_id.to_string()>{c.name.clone()}</option> })
            .collect_view()
    });
    let quest_options = move || {
        let chosen = campaign.get();
        list.with_value(|l| {
            l.iter()
                .filter(|c| chosen.is_empty() || c.campaign_id.to_string() == chosen)
                .flat_map(|c| {
                    c.quests.iter().map(move |(id, name)| {
                        view! { <option value=id.to_string()>{format!("{} — {name}", c.name)}</option> }
                    })
                })
                .collect_view()
        })
    };
    view! {
        <label class="block text-sm font-medium">"Campaign"
            <select class=INPUT name="campaign" prop:value=campaign
                on:change=move |ev| { campaign.set(event_target_value(&ev)); quest.set(String::new()); }>
                <option value="">"All campaigns"</option>
                {campaign_options}
            </select>
        </label>
        <label class="block text-sm font-medium">"Quest"
            <select class=INPUT name="quest" prop:value=quest on:change=move |ev| quest.set(event_target_value(&ev))>
                <option value="">"All quests"</option>
                {quest_options}
            </select>
        </label>
    }
}

/// What a batch would hold: totals per campaign, then the rewards as a table.
#[component]
fn Preview(items: Vec<payquest_types::PayoutItemView>) -> impl IntoView {
    let total: i64 = items.iter().map(|i| i.amount.minor()).sum();
    let mut per: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for i in &items {
        let e = per.entry(i.campaign_name.clone()).or_default();
        e.0 += 1;
        e.1 += i.amount.minor();
    }
    let amount = |m: i64| payquest_types::Amount::from_minor(m).to_string();
    view! {
        <div class="space-y-3 text-sm" data-testid="preview">
            <p class="font-medium">{format!("{} eligible rewards shown, {} in all", items.len(), amount(total))}</p>
            <div class="overflow-x-auto" tabindex="0">
                <table class="min-w-full text-sm" data-testid="preview-totals">
                    <caption class="sr-only">"Totals per campaign"</caption>
                    <thead class="text-left"><tr><th class=TH>"Campaign"</th><th class="px-3 py-2 text-right">"Rewards"</th><th class="px-3 py-2 text-right">"Total"</th></tr></thead>
                    <tbody>
                        {per.into_iter().map(|(name, (n, t))| view! {
                            <tr><td class=TD>{name}</td><td class="px-3 py-2 text-right font-mono">{n}</td><td class="px-3 py-2 text-right font-mono">{amount(t)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="max-h-72 overflow-auto" tabindex="0">
                <table class="min-w-full text-sm" data-testid="preview-items">
                    <caption class="sr-only">"Rewards the batch would pay"</caption>
                    <thead class="text-left"><tr>
                        <th class=TH>"Item"</th><th class=TH>"Campaign"</th><th class=TH>"Quest"</th><th class=TH>"Wallet"</th><th class="px-3 py-2 text-right">"Amount"</th><th class=TH>"Earned"</th>
                    </tr></thead>
                    <tbody>
                        {items.into_iter().map(|i| view! {
                            <tr>
                                <td class=TD>{format!("#{}", i.payout_item_id)}</td>
                                <td class=TD>{i.campaign_name}</td>
                                <td class=TD>{i.quest_name}</td>
                                <td class="px-3 py-2 font-mono text-xs">{i.wallet}</td>
                                <td class="px-3 py-2 text-right font-mono">{i.amount.to_string()}</td>
                                <td class=TD>{i.created_at}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}

/// Whether approved batches start disbursing at once; finance may switch it.
#[component]
fn AutoDisburse(set: ServerAction<SetAutoDisburse>, policy: Policy) -> impl IntoView {
    let error = Signal::derive(move || set.value().get().and_then(Result::err));
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                policy.await.ok().map(|(on, can_change)| view! { <AutoDisburseSwitch on can_change set error /> })
            })}
        </Transition>
    }
}

#[component]
fn AutoDisburseSwitch(
    on: bool,
    can_change: bool,
    set: ServerAction<SetAutoDisburse>,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    view! {
                    <div class="flex flex-wrap items-center gap-3 rounded-xl bg-white p-4 text-sm shadow" data-testid="auto-disburse" data-on=on.to_string()>
                        <span>{if on { "Approved batches start disbursing at once." } else { "Finance starts disbursement of each approved batch." }}</span>
                        {can_change.then(|| view! {
                            <button class=BUTTON_QUIET on:click=move |_| { set.dispatch(SetAutoDisburse { on: !on }); }>
                                {if on { "Turn automatic start off" } else { "Start automatically after approval" }}
                            </button>
                        })}
                        <ErrorBanner error=error />
                    </div>
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_batches(payquest_types::BatchList::Inbox));
    view! {
        <Dashboard>
            <div class="space-y-6">
                <h1 class="text-2xl font-bold">"Approval inbox"</h1>
                <p class="text-sm text-slate-600">"Batches waiting for a checker. You never see your own here, and can't approve them."</p>
                <Loaded resource=list view={|b: Vec<BatchSummary>| {
                    if b.is_empty() {
                        view! { <p class="text-slate-600" data-testid="inbox-empty">"Nothing waits for you."</p> }.into_any()
                    } else {
                        view! { <BatchTable batches=b empty="" /> }.into_any()
                    }
                }} />
            </div>
        </Dashboard>
    }
}

#[component]
pub fn BatchPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Batch />
        </Dashboard>
    }
}

/// Whether the batch changes without anyone acting on the page: it is on
/// its way, no withdrawal is waiting, and it is disbursing or has a chunk
/// not yet reconciled.
fn follows_itself(v: &BatchView) -> bool {
    v.summary.state.is_moving()
        && v.withdrawal.is_none()
        && (v.summary.state == BatchState::Disbursing
            || v.chunks
                .iter()
                .any(|c| c.state.is_in_flight() || c.state == ChunkState::Confirmed))
}

/// The batch page's text fields and the exported CSV, kept across reloads.
#[derive(Clone, Copy)]
struct BatchInputs {
    reason: RwSignal<String>,
    withdraw_reason: RwSignal<String>,
    csv: RwSignal<Option<String>>,
}

#[component]
fn Batch() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|v| v.parse::<BatchId>().ok())
                .unwrap_or_default()
        })
    };
    let submit = ServerAction::<SubmitBatch>::new();
    let remove = ServerAction::<RemoveBatchItem>::new();
    let approve = ServerAction::<ApproveBatch>::new();
    let reject = ServerAction::<RejectBatch>::new();
    let start = ServerAction::<StartDisbursement>::new();
    let retry = ServerAction::<RetryFailedItems>::new();
    let withdraw = ServerAction::<RequestWithdrawal>::new();
    let confirm_withdraw = ServerAction::<ConfirmWithdrawal>::new();
    let cancel_withdraw = ServerAction::<CancelWithdrawal>::new();
    let refresh = RwSignal::new(0u32);
    // The cursors of the item pages opened so far; the last is shown.
    let item_pages = RwSignal::new(Vec::<PayoutItemId>::new());
    let detail = Resource::new(
        move || {
            (
                id(),
                item_pages.get().last().copied(),
                submit.version().get(),
                remove.version().get(),
                approve.version().get(),
                reject.version().get(),
                start.version().get(),
                retry.version().get(),
                withdraw.version().get(),
                confirm_withdraw.version().get(),
                cancel_withdraw.version().get(),
                refresh.get(),
            )
        },
        |(id, after, ..)| load_batch(id, after),
    );
    // While the batch is on its way (chunks signing, confirming, waiting to
    // be reconciled) the page reloads it by itself; not while a withdrawal
    // waits (nothing moves then).
    reload_while(detail, refresh, follows_itself);
    // What the person typed lives here, not in the detail view, so a reload
    // keeps it.
    let inputs = BatchInputs {
        reason: RwSignal::new(String::new()),
        withdraw_reason: RwSignal::new(String::new()),
        csv: RwSignal::new(None),
    };
    let error = Signal::derive(move || {
        [
            submit.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
            approve.value().get().and_then(Result::err),
            reject.value().get().and_then(Result::err),
            start.value().get().and_then(Result::err),
            retry.value().get().and_then(Result::err),
            withdraw.value().get().and_then(Result::err),
            confirm_withdraw.value().get().and_then(Result::err),
            cancel_withdraw.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    let actions = BatchActions {
        submit,
        remove,
        approve,
        reject,
        start,
        retry,
        withdraw,
        confirm_withdraw,
        cancel_withdraw,
    };
    // The latest action's confirmation, whichever it was.
    let done = RwSignal::new(None::<String>);
    for action in [
        withdraw.value(),
        confirm_withdraw.value(),
        cancel_withdraw.value(),
    ] {
        Effect::new(move |_| {
            if let Some(Ok(m)) = action.get() {
                done.set(Some(m));
            }
        });
    }
    Effect::new(move |_| {
        if let Some(Ok(n)) = retry.value().get() {
            done.set(Some(format!(
                "{n} failed items are eligible again, for a new batch."
            )));
        }
    });
    for (action, message) in [
        (
            submit.value(),
            "Submitted for approval: checkers see it in their inbox.",
        ),
        (
            reject.value(),
            "Batch rejected; its items are eligible again.",
        ),
        (
            start.value(),
            "Disbursement started: this page follows it on chain by itself.",
        ),
        (
            remove.value(),
            "Item removed from the batch; it is eligible again.",
        ),
    ] {
        Effect::new(move |_| {
            if let Some(Ok(())) = action.get() {
                done.set(Some(message.to_owned()));
            }
        });
    }
    view! {
        <div class="space-y-6">
            <ErrorBanner error=error />
            {move || done.get().map(|m| view! { <p class="rounded-md bg-emerald-50 p-3 text-sm text-emerald-800" role="status" data-testid="batch-message">{m}</p> })}
            {move || approve.value().get().and_then(Result::ok).map(|m| view! { <p class="rounded-md bg-emerald-50 p-3 text-sm text-emerald-800" data-testid="approve-message">{m}</p> })}
            <Loaded resource=detail view={move |v| view! { <BatchDetail v actions inputs refresh item_pages /> }.into_any()} />
        </div>
    }
}

#[derive(Clone, Copy)]
struct BatchActions {
    submit: ServerAction<SubmitBatch>,
    remove: ServerAction<RemoveBatchItem>,
    approve: ServerAction<ApproveBatch>,
    reject: ServerAction<RejectBatch>,
    start: ServerAction<StartDisbursement>,
    retry: ServerAction<RetryFailedItems>,
    withdraw: ServerAction<RequestWithdrawal>,
    confirm_withdraw: ServerAction<ConfirmWithdrawal>,
    cancel_withdraw: ServerAction<CancelWithdrawal>,
}

#[component]
fn BatchDetail(
    v: BatchView,
    actions: BatchActions,
    inputs: BatchInputs,
    refresh: RwSignal<u32>,
    item_pages: RwSignal<Vec<PayoutItemId>>,
) -> impl IntoView {
    let s = v.summary.clone();
    let batch_id = s.batch_id;
    let hash = s.content_hash.clone();
    let BatchInputs {
        reason,
        withdraw_reason,
        csv,
    } = inputs;
    let download = move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(text) = export_batch_csv(batch_id).await {
                csv.set(Some(text));
            }
        });
    };
    let approve_hash = hash.clone();
    let state = s.state;
    let can_start = v.can_disburse && state == BatchState::Approved;
    let can_retry = v.can_disburse && v.failed_items > 0;
    let on_chain = !v.chunks.is_empty();
    let editable = v.can_edit && state == BatchState::Draft;
    let has_actions =
        editable || v.can_decide || can_start || can_retry || v.can_request_withdrawal;
    let progress = progress_line(&v);
    let depth = v.chain_depth;
    let next_page = v.next_items_after;
    let first_page = item_pages.with_untracked(Vec::is_empty);
    let approvals_empty = v.approvals.is_empty();
    view! {
        <div class="space-y-6" data-testid="batch" data-state=s.state.as_str()>
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h1 class="text-2xl font-bold">{format!("Batch #{batch_id}")} " " {state_badge(s.state.as_str())}</h1>
                <div class="flex gap-2">
                    <button class=BUTTON_QUIET on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
                    <button class=BUTTON_QUIET on:click=download>"Export CSV"</button>
                </div>
            </div>
            {move || csv.get().map(|text| view! {
                <a class="text-sm text-indigo-700 underline" download=format!("batch-{batch_id}.csv")
                    href=crate::components::data_url("text/csv", &text) data-testid="csv-link">"Save the CSV"</a>
            })}
            {progress.map(|(text, done)| view! {
                <p class=if done { "rounded-md bg-emerald-50 p-3 text-sm font-medium text-emerald-800" } else { "rounded-md bg-indigo-50 p-3 text-sm text-indigo-900" }
                    role="status" aria-live="polite" data-testid="batch-progress">{text}</p>
            })}
            <dl class="grid gap-4 rounded-xl bg-white p-6 text-sm shadow sm:grid-cols-3">
                <div><dt class="text-slate-500">"Maker"</dt><dd>{s.maker_email.clone()}</dd></div>
                <div><dt class="text-slate-500">"Items"</dt><dd class="font-mono">{s.item_count}</dd></div>
                <div><dt class="text-slate-500">"Total"</dt><dd class="font-mono" data-testid="batch-total">{s.total.to_string()}</dd></div>
                <div><dt class="text-slate-500">"Approvals"</dt><dd data-testid="approvals">{format!("{} of {}", s.approvals, s.approvals_needed)}</dd></div>
                <div class="sm:col-span-2"><dt class="text-slate-500">"Contents hash (what a checker approves)"</dt>
                    <dd class="break-all font-mono text-xs" data-testid="content-hash">{hash.clone()}</dd></div>
                {v.decision_reason.clone().map(|r| view! { <div class="sm:col-span-3"><dt class="text-slate-500">"Decision"</dt><dd>{r}</dd></div> })}
            </dl>

            {view! {
            <section class="rounded-xl bg-white p-6 shadow">
                <h2 class="mb-2 text-lg font-semibold">"Per campaign"</h2>
                <ul class="text-sm">
                    {v.totals.iter().map(|t| view! { <li>{format!("{}: {} items, {}", t.campaign_name, t.item_count, t.total)}</li> }).collect_view()}
                </ul>
                <h2 class="mb-2 mt-4 text-lg font-semibold">"Approvals"</h2>
                {approvals_empty.then(|| view! { <p class="text-sm text-slate-500">"No approvals yet."</p> })}
                <ul class="text-sm">
                    {v.approvals.iter().map(|a| view! {
                        <li>{format!("{} at {}{}", a.checker_email, a.approved_at, if a.current { "" } else { " (for earlier contents: does not count)" })}</li>
                    }).collect_view()}
                </ul>
            </section>
            }.into_any()}

            {has_actions.then(|| view! {
            <section class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-6 shadow" data-testid="batch-actions">
                {editable.then(|| view! {
                    <button class=BUTTON on:click=move |_| { actions.submit.dispatch(SubmitBatch { batch_id }); }>"Submit for approval"</button>
                })}
                {v.can_decide.then(|| {
                    let h = approve_hash.clone();
                    view! {
                        <button class=BUTTON on:click=move |_| { actions.approve.dispatch(ApproveBatch { batch_id, content_hash: h.clone() }); }>"Approve this hash"</button>
                        <label class="block grow text-sm font-medium">"Reason to reject"
                            <input class=INPUT maxlength="500" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) />
                        </label>
                        <button class=BUTTON_QUIET on:click=move |_| { actions.reject.dispatch(RejectBatch { batch_id, reason: reason.get_untracked() }); }>"Reject"</button>
                    }
                })}
                {can_start.then(|| view! {
                    <button class=BUTTON on:click=move |_| { actions.start.dispatch(StartDisbursement { batch_id }); }>"Start disbursement"</button>
                })}
                {can_retry.then(|| view! {
                    <button class=BUTTON_QUIET on:click=move |_| { actions.retry.dispatch(RetryFailedItems { batch_id }); }>"Make failed items eligible again"</button>
                })}
                {v.can_request_withdrawal.then(|| view! {
                    <label class="block grow text-sm font-medium">"Reason to withdraw"
                        <input class=INPUT maxlength="200" data-testid="withdraw-reason" prop:value=withdraw_reason on:input=move |ev| withdraw_reason.set(event_target_value(&ev)) />
                    </label>
                    <button class=BUTTON_QUIET on:click=move |_| { actions.withdraw.dispatch(RequestWithdrawal { batch_id, reason: withdraw_reason.get_untracked() }); }>"Ask to withdraw"</button>
                })}
            </section>
            }.into_any())}
            {v.withdrawal.clone().map(|w| view! {
                <section class="space-y-3 rounded-xl border border-amber-300 bg-amber-50 p-6 text-sm" data-testid="withdrawal">
                    <p>
                        <strong>"Withdrawal requested"</strong>
                        {format!(" by {} at {}: “{}”. Nothing of this batch is signed while it waits; a checker who did not ask confirms it.", w.requested_by, w.requested_at, w.reason)}
                    </p>
                    <div class="flex flex-wrap gap-2">
                        {v.can_confirm_withdrawal.then(|| view! {
                            <button class=BUTTON on:click=move |_| { actions.confirm_withdraw.dispatch(ConfirmWithdrawal { batch_id }); }>"Confirm withdrawal"</button>
                        })}
                        {v.can_cancel_withdrawal.then(|| view! {
                            <button class=BUTTON_QUIET on:click=move |_| { actions.cancel_withdraw.dispatch(CancelWithdrawal { batch_id }); }>"Cancel the request"</button>
                        })}
                    </div>
                </section>
            }.into_any())}

            {on_chain.then(|| view! {
                <section class="rounded-xl bg-white p-6 shadow">
                    <h2 class="mb-2 text-lg font-semibold">"On chain"</h2>
                    <div class="overflow-x-auto" tabindex="0">
                    <table class="min-w-full text-sm" data-testid="chunks">
                        <thead class="text-left"><tr>
                            <th class=TH>"Chunk"</th><th class=TH>"State"</th><th class="px-3 py-2 text-right">"Items"</th>
                            <th class="px-3 py-2 text-right">"Total"</th><th class=TH>"Nonce"</th><th class=TH>"Transaction"</th><th class=TH>"Block"</th><th class=TH>"Confirmations"</th>
                        </tr></thead>
                        <tbody>
                            {v.chunks.iter().map(|c| {
                                let tx = match (c.tx_url.clone(), c.tx_hash.clone()) {
                                    (Some(url), Some(h)) => view! { <a class="font-mono text-xs text-indigo-700 underline" href=url rel="noopener noreferrer" target="_blank">{h}</a> }.into_any(),
                                    (None, Some(h)) => view! { <span class="font-mono text-xs">{h}</span> }.into_any(),
                                    _ => view! { <span class="text-slate-400">"—"</span> }.into_any(),
                                };
                                view! {
                                    <tr>
                                        <td class=TD>{c.seq + 1}</td>
                                        <td class=TD>{state_badge(c.state.as_str())}</td>
                                        <td class="px-3 py-2 text-right font-mono">{c.item_count}</td>
                                        <td class="px-3 py-2 text-right font-mono">{c.total.to_string()}</td>
                                        <td class=TD>{c.nonce.map(|n| n.to_string()).unwrap_or_default()}</td>
                                        <td class=TD>{tx}</td>
                                        <td class=TD>{c.block.map(|n| n.to_string()).unwrap_or_default()}</td>
                                        <td class=TD data-testid="confirmations">{confirmations(c, depth)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                </section>
            }.into_any())}

            {view! {
            <section class="rounded-xl bg-white p-6 shadow">
                <div class="mb-2 flex flex-wrap items-center justify-between gap-2">
                    <h2 class="text-lg font-semibold">{format!("Items ({})", s.item_count)}</h2>
                    <div class="flex gap-2">
                        {(!first_page).then(|| view! {
                            <button class=BUTTON_QUIET on:click=move |_| item_pages.update(|p| { p.pop(); })>"Previous items"</button>
                        })}
                        {next_page.map(|after| view! {
                            <button class=BUTTON_QUIET on:click=move |_| item_pages.update(|p| p.push(after))>"Next items"</button>
                        })}
                    </div>
                </div>
                <div class="overflow-x-auto" tabindex="0">
                <table class="min-w-full text-sm" data-testid="batch-items">
                    <thead class="text-left"><tr>
                        <th class=TH>"Item"</th><th class=TH>"Campaign"</th><th class=TH>"Quest"</th><th class=TH>"Wallet"</th>
                        <th class="px-3 py-2 text-right">"Amount"</th><th class=TH>"State"</th><th class=TH>"Chunk"</th><th class=TH>"Transaction"</th>
                        {editable.then(|| view! { <th class=TH><span class="sr-only">"Remove"</span></th> })}
                    </tr></thead>
                    <tbody>
                        {v.items.iter().map(|i| {
                            let item_id = i.payout_item_id;
                            let can_remove = editable;
                            let tx = match (i.tx_url.clone(), i.tx_hash.clone()) {
                                (Some(url), Some(h)) => view! { <a class="font-mono text-xs text-indigo-700 underline" href=url rel="noopener noreferrer" target="_blank">{short_hash(&h)}</a> }.into_any(),
                                (None, Some(h)) => view! { <span class="font-mono text-xs" title=h.clone()>{short_hash(&h)}</span> }.into_any(),
                                _ => view! { <span class="text-slate-400">"—"</span> }.into_any(),
                            };
                            view! {
                                <tr>
                                    <td class=TD>{format!("#{item_id}")}</td>
                                    <td class=TD>{i.campaign_name.clone()}</td>
                                    <td class=TD>{i.quest_name.clone()}</td>
                                    <td class="px-3 py-2 font-mono text-xs">{i.wallet.clone()}</td>
                                    <td class="px-3 py-2 text-right font-mono">{i.amount.to_string()}</td>
                                    <td class=TD>{state_badge(i.state.as_str())}</td>
                                    <td class=TD>{i.chunk_seq.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</td>
                                    <td class=TD>{tx}</td>
                                    {can_remove.then(|| view! { <td class=TD>
                                        <button class=BUTTON_QUIET on:click=move |_| { actions.remove.dispatch(RemoveBatchItem { batch_id, payout_item_id: item_id }); }>"Remove"</button>
                                    </td> })}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            </section>
            }.into_any()}
        </div>
    }
}

/// `0x1234…abcd`: enough to tell transactions apart in a table.
fn short_hash(h: &str) -> String {
    if h.len() > 14 {
        format!("{}…{}", &h[..8], &h[h.len() - 4..])
    } else {
        h.to_owned()
    }
}

/// How deep a mined chunk is, as "1 of 2"; "—" before it is mined.
fn confirmations(c: &payquest_types::ChunkView, depth: Option<(i64, i64)>) -> String {
    match (c.state, c.block, depth) {
        (ChunkState::Mined, Some(block), Some((head, needed))) => {
            format!("{} of {needed}", (head - block + 1).clamp(0, needed))
        }
        (ChunkState::Confirmed | ChunkState::Reconciled, Some(_), _) => "enough".to_owned(),
        _ => "—".to_owned(),
    }
}

/// Where the payment stands, in words, once it is on its way; `true` when
/// it has ended well.
fn progress_line(v: &BatchView) -> Option<(String, bool)> {
    let count = |st: ChunkState| v.chunks.iter().filter(|c| c.state == st).count();
    let n = v.chunks.len();
    match v.summary.state {
        BatchState::Approved if v.withdrawal.is_none() => {
            Some(("Approved: waiting for finance to start the disbursement.".into(), false))
        }
        BatchState::Disbursing => {
            let mut parts = Vec::new();
            for (st, word) in [
                (ChunkState::Planned, "waiting to be signed"),
                (ChunkState::Prepared, "signed"),
                (ChunkState::Broadcast, "broadcast"),
                (ChunkState::Mined, "mined"),
                (ChunkState::Confirmed, "confirmed"),
                (ChunkState::Reconciled, "reconciled"),
                (ChunkState::Reverted, "failed"),
            ] {
                let k = count(st);
                if k > 0 {
                    parts.push(format!("{k} {word}"));
                }
            }
            let depth = match (v.chain_depth, v.chunks.iter().find(|c| c.state == ChunkState::Mined)) {
                (Some((head, needed)), Some(c)) => c.block.map_or(String::new(), |b| {
                    format!(" ({} of {needed} confirmations)", (head - b + 1).clamp(0, needed))
                }),
                _ => String::new(),
            };
            Some((
                format!(
                    "Paying on chain: {n} {} — {}{depth}.",
                    if n == 1 { "transaction" } else { "transactions" },
                    if parts.is_empty() { "planning".to_owned() } else { parts.join(", ") }
                ),
                false,
            ))
        }
        BatchState::Disbursed => Some((
            "Paid and confirmed on chain; checking the chain's receipts against the ledger…".into(),
            false,
        )),
        BatchState::Reconciled => Some((
            match v.disbursed_in_ms {
                Some(ms) => format!("Paid and reconciled in {}.", seconds(ms)),
                None => "Paid and reconciled.".to_owned(),
            },
            true,
        )),
        BatchState::PartiallyFailed => Some((
            format!(
                "Partly paid: {} items failed on chain and were not paid; finance may make them eligible again.",
                v.failed_items
            ),
            false,
        )),
        _ => None,
    }
}

fn seconds(ms: i64) -> String {
    if ms < 120_000 {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}
