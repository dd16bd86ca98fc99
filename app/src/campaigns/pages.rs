//! Campaigns: the list (finance sees all, owners their own), the form finance
//! uses to start one, and a campaign's page with its budget figures, the
//! burn-down chart with the run-out forecast, turnaround times and quests.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use payquest_types::{Amount, CampaignDetail, CampaignFigures, CampaignId, CampaignSummary};

use crate::campaigns::api::{
    campaign_figures, list_campaigns, load_campaign, CreateCampaign, DecideTransfer, FundCampaign,
    RequestTransfer, SetCampaignStatus,
};
use crate::components::{
    Column, Dashboard, DataTable, ErrorBanner, Field, Loaded, BUTTON, BUTTON_QUIET, INPUT,
};
use crate::quests::api::{CreateQuest, SetQuestActive};

/// The inputs of the campaign form and of the quest form, whose errors show
/// beside them.
const CAMPAIGN_FIELDS: &[&str] = &[
    "name",
    "owner_email",
    "cost_centre_code",
    "starts_on",
    "ends_on",
];
const QUEST_FIELDS: &[&str] = &[
    "name",
    "reward",
    "max_per_gamer",
    "max_completions",
    "repeat_period_s",
    "validator",
];

#[component]
pub fn CampaignsPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Campaigns />
        </Dashboard>
    }
}

#[component]
fn Campaigns() -> impl IntoView {
    let create = ServerAction::<CreateCampaign>::new();
    let list = Resource::new(move || create.version().get(), |_| list_campaigns());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <div class="space-y-8">
            <h1 class="text-2xl font-bold">"Campaigns"</h1>
            <Loaded resource=list view={|items: Vec<CampaignSummary>| {
                let columns = vec![
                    Column::new("Campaign", |c: &CampaignSummary| {
                        view! { <a class="font-medium text-indigo-700 hover:underline" href=crate::routes::campaign(c.campaign_id)>{c.name.clone()}</a> }.into_any()
                    }),
                    Column::new("Owner", |c: &CampaignSummary| c.owner_email.clone().into_any()),
                    Column::new("Status", |c: &CampaignSummary| c.status.as_str().into_any()),
                    Column::new("Funded", |c: &CampaignSummary| view! { <span class="font-mono">{c.funded.to_string()}</span> }.into_any()),
                    Column::new("Available", |c: &CampaignSummary| view! { <span class="font-mono">{c.available.to_string()}</span> }.into_any()),
                ];
                view! { <DataTable rows=items columns empty="No campaigns yet." testid="campaigns-table" /> }
            }} />
            <ActionForm action=create attr:class="space-y-4 rounded-xl bg-white p-6 shadow" attr:data-testid="create-campaign">
                <h2 class="text-lg font-semibold">"Start a campaign (finance)"</h2>
                <div class="grid gap-4 sm:grid-cols-2">
                    <Field label="Name" name="name" error><input class=INPUT name="name" required maxlength="100" /></Field>
                    <Field label="Owner's email" name="owner_email" error><input class=INPUT type="email" name="owner_email" required /></Field>
                    <Field label="Cost centre code" name="cost_centre_code" error><input class=INPUT name="cost_centre_code" required maxlength="40" /></Field>
                    <div class="grid grid-cols-2 gap-2">
                        <Field label="Starts" name="starts_on" error><input class=INPUT type="date" name="starts_on" required /></Field>
                        <Field label="Ends" name="ends_on" error><input class=INPUT type="date" name="ends_on" required /></Field>
                    </div>
                </div>
                <ErrorBanner error=error fields=CAMPAIGN_FIELDS />
                <button class=BUTTON type="submit">"Create campaign"</button>
            </ActionForm>
        </div>
    }
}

/// The page's actions and its one resource are created here, outside the
/// dashboard's Suspense: the server may run that Suspense's children more than
/// once, and resources are matched to their serialized data by creation order.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|v| v.parse::<CampaignId>().ok())
                .unwrap_or_default()
        })
    };
    let actions = CampaignActions {
        fund: ServerAction::new(),
        status: ServerAction::new(),
        create_quest: ServerAction::new(),
        quest_state: ServerAction::new(),
        request: ServerAction::new(),
        decide: ServerAction::new(),
        fund_amount: RwSignal::new(String::new()),
        fund_repeat: RwSignal::new(false),
    };
    // The form's values live here, outside the view that each reload draws
    // again: a refused funding keeps what was typed, a done one clears it.
    Effect::new(move |_| {
        if let Some(Ok(_)) = actions.fund.value().get() {
            actions.fund_amount.set(String::new());
            actions.fund_repeat.set(false);
        }
    });
    let detail = Resource::new(
        move || {
            (
                id(),
                actions.fund.version().get(),
                actions.status.version().get(),
                actions.create_quest.version().get(),
                actions.quest_state.version().get(),
                actions.request.version().get(),
                actions.decide.version().get(),
            )
        },
        |(id, ..)| load_campaign(id),
    );
    // The figures alone follow a payment on its way (budget reserved) to
    // spent by themselves, without drawing the forms again.
    let follow = RwSignal::new(0u32);
    let figures = Resource::new(
        move || {
            (
                id(),
                follow.get(),
                actions.fund.version().get(),
                actions.decide.version().get(),
            )
        },
        |(id, ..)| campaign_figures(id),
    );
    crate::components::reload_while(figures, follow, |f: &CampaignFigures| {
        f.reserved.is_positive()
    });

    view! {
        <Dashboard>
            <Loaded resource=detail view={move |d| view! { <CampaignView d=d actions=actions figures /> }.into_any()} />
        </Dashboard>
    }
}

/// The five budget figures, from the followed figures once they are in.
#[component]
fn Figures(
    initial: CampaignFigures,
    figures: Resource<Result<CampaignFigures, crate::error::AppError>>,
) -> impl IntoView {
    let now = move || figures.get().and_then(Result::ok).unwrap_or(initial);
    let figure = move |label: &'static str,
                       pick: fn(&CampaignFigures) -> Amount,
                       testid: &'static str| {
        view! {
            <div class="rounded-xl bg-white p-4 shadow">
                <p class="text-sm text-slate-500">{label}</p>
                <p class="mt-1 font-mono text-2xl font-semibold" data-testid=testid>{move || pick(&now()).to_string()}</p>
            </div>
        }
    };
    view! {
        <div class="grid gap-4 sm:grid-cols-5" data-testid="figures">
            {figure("Funded", |f| f.funded, "funded")}
            {figure("Reserved", |f| f.reserved, "reserved")}
            {figure("Spent", |f| f.spent, "spent")}
            {figure("Available", |f| f.available, "available")}
            {figure("Earned, unpaid", |f| f.unpaid, "unpaid")}
        </div>
    }
}

#[derive(Clone, Copy)]
struct CampaignActions {
    fund: ServerAction<FundCampaign>,
    status: ServerAction<SetCampaignStatus>,
    create_quest: ServerAction<CreateQuest>,
    quest_state: ServerAction<SetQuestActive>,
    request: ServerAction<RequestTransfer>,
    decide: ServerAction<DecideTransfer>,
    fund_amount: RwSignal<String>,
    fund_repeat: RwSignal<bool>,
}

/// A stage's percentile, or "—" when no activity has reached it.
fn stage_time(count: usize, ms: i64) -> String {
    if count == 0 {
        "—".to_owned()
    } else {
        duration(ms)
    }
}

/// An amount rounded to whole tokens, with thousands separated: "1,235".
fn whole_tokens(a: Amount) -> String {
    let whole = (a.minor() + 500_000) / 1_000_000;
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        out.insert(0, '-');
    }
    out
}

fn duration(ms: i64) -> String {
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 120_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms if ms < 7_200_000 => format!("{} min", ms / 60_000),
        ms => format!("{:.1} h", ms as f64 / 3_600_000.0),
    }
}

/// Moving budget to another campaign's cost centre: one finance user asks,
/// another approves (the server refuses the same person).
#[component]
fn Transfers(
    campaign_id: CampaignId,
    key: String,
    targets: Vec<payquest_types::CampaignSummary>,
    pending: Vec<payquest_types::TransferView>,
    request: ServerAction<RequestTransfer>,
    decide: ServerAction<DecideTransfer>,
) -> impl IntoView {
    let error = Signal::derive(move || {
        request
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| decide.value().get().and_then(Result::err))
    });
    let outcome = move || decide.value().get().and_then(Result::ok);
    let requested = move || {
        request.value().get().and_then(Result::ok).map(|id| {
            format!(
                "Transfer #{} requested: a second finance user approves or rejects it below.",
                id.get()
            )
        })
    };
    view! {
        <section class="space-y-3 rounded-xl bg-white p-6 shadow" data-testid="transfers">
            <h2 class="text-lg font-semibold">"Move budget (needs a second finance approval)"</h2>
            <ActionForm action=request attr:class="flex flex-wrap items-end gap-3">
                <input type="hidden" name="campaign_id" value=campaign_id.to_string() />
                <input type="hidden" name="idempotency_key" value=key />
                <label class="block text-sm font-medium">"To"
                    <select class=INPUT name="to_cost_centre_id">
                        {targets.into_iter()
                            .map(|c| view! { <option value=c.cost_centre_id.to_string()>{c.name} " (" {c.cost_centre_code} ")"</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="block text-sm font-medium">"Amount (tokens)"<input class=INPUT name="amount" required inputmode="decimal" /></label>
                <button class=BUTTON_QUIET type="submit">"Request transfer"</button>
            </ActionForm>
            <ErrorBanner error=error />
            {move || requested().map(|m| view! { <p role="status" class="text-sm text-emerald-700" data-testid="transfer-message">{m}</p> })}
            {move || outcome().map(|o| view! { <p role="status" class="text-sm">"Transfer " {o} "."</p> })}
            {pending.into_iter().map(|t| {
                let id = t.transfer_id;
                view! {
                    <div class="flex items-center gap-3 text-sm">
                        <span>"#" {id.get()} ": " {t.amount.to_string()} " from cost centre " {t.from_cost_centre_id.get()} " to " {t.to_cost_centre_id.get()}</span>
                        <button class=BUTTON_QUIET disabled=t.requested_by_me
                            on:click=move |_| { decide.dispatch(DecideTransfer { transfer_id: id, approve: true }); }>"Approve"</button>
                        <button class=BUTTON_QUIET disabled=t.requested_by_me
                            on:click=move |_| { decide.dispatch(DecideTransfer { transfer_id: id, approve: false }); }>"Reject"</button>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

#[component]
fn QuestForm(campaign_id: CampaignId, create: ServerAction<CreateQuest>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <ActionForm action=create attr:class="space-y-3 rounded-xl bg-white p-6 shadow" attr:data-testid="quest-form">
            <h2 class="text-lg font-semibold">"Add a quest"</h2>
            <input type="hidden" name="campaign_id" value=campaign_id.to_string() />
            <div class="grid gap-3 sm:grid-cols-4">
                <Field label="Name" name="name" error class="sm:col-span-2"><input class=INPUT name="name" required maxlength="100" /></Field>
                <Field label="Reward (tokens)" name="reward" error><input class=INPUT name="reward" required inputmode="decimal" /></Field>
                <Field label="Per gamer" name="max_per_gamer" error><input class=INPUT name="max_per_gamer" type="number" min="1" value="1" /></Field>
                <Field label="Total completions" name="max_completions" error><input class=INPUT name="max_completions" type="number" min="1" /></Field>
                <Field label="Repeat after (seconds)" name="repeat_period_s" error><input class=INPUT name="repeat_period_s" type="number" min="1" /></Field>
            </div>
            <Field label="Validator (JSON)" name="validator" error>
                <textarea class=INPUT name="validator" rows="3" maxlength="4096">"{\"kind\": \"manual\"}"</textarea>
            </Field>
            <ErrorBanner error=error fields=QUEST_FIELDS />
            <button class=BUTTON type="submit">"Add quest"</button>
        </ActionForm>
    }
}

#[component]
fn CampaignView(
    d: CampaignDetail,
    actions: CampaignActions,
    figures: Resource<Result<CampaignFigures, crate::error::AppError>>,
) -> impl IntoView {
    let CampaignActions {
        fund,
        status,
        create_quest,
        quest_state,
        request,
        decide,
        fund_amount,
        fund_repeat,
    } = actions;
    let s = d.summary.clone();
    let campaign_id = s.campaign_id;
    let fund_error = Signal::derive(move || fund.value().get().and_then(Result::err));
    let status_error = Signal::derive(move || status.value().get().and_then(Result::err));
    let initial = CampaignFigures {
        funded: s.funded,
        reserved: s.reserved,
        spent: s.spent,
        available: s.available,
        unpaid: d.unpaid_rewards,
    };
    let next_status = if s.status == payquest_types::CampaignStatus::Active {
        payquest_types::CampaignStatus::Paused
    } else {
        payquest_types::CampaignStatus::Active
    };
    let campaign_name = s.name.clone();
    let asks_repeat = move || {
        fund_error
            .get()
            .is_some_and(|e| e.code() == payquest_types::ErrorCode::RepeatUnconfirmed)
    };
    let fund_done = move || match fund.value().get() {
        Some(Ok(amount)) => Some(format!("Funded {amount} tokens to {campaign_name}.")),
        _ => None,
    };
    let fund_form = d.can_fund.then(|| view! {
        <ActionForm action=fund attr:class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-6 shadow" attr:data-testid="fund-form">
            <input type="hidden" name="campaign_id" value=campaign_id.to_string() />
            <input type="hidden" name="idempotency_key" value=d.fund_key.clone() />
            <label class="block text-sm font-medium">"Add funds (tokens)"
                <input class=INPUT name="amount" inputmode="decimal" required placeholder="1000"
                    prop:value=fund_amount on:input=move |ev| fund_amount.set(event_target_value(&ev)) />
            </label>
            {move || asks_repeat().then(|| view! {
                <label class="flex items-center gap-2 text-sm font-medium text-amber-800" data-testid="fund-repeat">
                    <input type="checkbox" name="repeat" value="true" prop:checked=fund_repeat
                        on:change=move |ev| fund_repeat.set(event_target_checked(&ev)) />
                    "Yes, fund the same amount again"
                </label>
            })}
            <button class=BUTTON type="submit" disabled=move || fund.pending().get()>"Fund"</button>
            <p class="w-full text-sm text-emerald-700" role="status" data-testid="fund-message">{fund_done}</p>
            <ErrorBanner error=fund_error />
        </ActionForm>
    });
    let can_edit_quests = d.can_edit_quests;
    let transfers = d.can_fund.then(|| {
        view! {
            <Transfers campaign_id=campaign_id key=d.transfer_key.clone() targets=d.transfer_targets.clone()
                pending=d.pending_transfers.clone() request=request decide=decide />
        }
    });
    let quest_form = d
        .can_edit_quests
        .then(|| view! { <QuestForm campaign_id=campaign_id create=create_quest /> });
    let status_form = d.can_manage.then(|| view! {
        <ActionForm action=status attr:class="flex flex-wrap items-center gap-3">
            <input type="hidden" name="campaign_id" value=campaign_id.to_string() />
            <input type="hidden" name="status" value=next_status.as_str() />
            <button class=BUTTON_QUIET type="submit">{if next_status == payquest_types::CampaignStatus::Active { "Activate campaign" } else { "Pause campaign" }}</button>
            <ErrorBanner error=status_error />
        </ActionForm>
    });
    view! {
        <div class="space-y-6">
            <div class="flex flex-wrap items-center gap-x-4 gap-y-1">
                <h1 class="text-2xl font-bold" data-testid="campaign-name">{s.name.clone()}</h1>
                <span class="rounded-full bg-slate-200 px-3 py-1 text-sm" data-testid="campaign-status">{s.status.as_str()}</span>
                <span class="text-sm text-slate-500">"Owner: " {s.owner_email.clone()} " · cost centre " {s.cost_centre_code.clone()}</span>
            </div>
            {d.alert.clone().map(|a| view! {
                <p role="alert" data-testid="budget-alert" class="rounded-md bg-amber-50 px-4 py-2 text-amber-900">{a}</p>
            })}
            <Figures initial figures />
            <section class="rounded-xl bg-white p-6 shadow">
                <h2 class="text-lg font-semibold">"Budget over time"</h2>
                <BurnDown svg=d.budget_chart.clone() />
                <p class="mt-2 text-sm text-slate-600" data-testid="forecast">
                    {match &d.runs_out_at {
                        Some(at) => format!(
                            "At the current pace (about {} tokens a day, over the last 7 days) the budget left after unpaid rewards runs out on {}.",
                            whole_tokens(d.pace_per_day),
                            &at[..10.min(at.len())]
                        ),
                        None => "No rewards earned in the last 7 days: no run-out date to forecast.".to_owned(),
                    }}
                </p>
            </section>
            <section class="rounded-xl bg-white p-6 shadow">
                <h2 class="text-lg font-semibold">"Turnaround"</h2>
                <div class="overflow-x-auto" tabindex="0">
                <table class="mt-2 text-sm" data-testid="turnaround">
                    <thead><tr class="text-left text-slate-500"><th class="pr-6">"Stage"</th><th class="pr-6">"Activities"</th><th class="pr-6">"p50"</th><th>"p90"</th></tr></thead>
                    <tbody>
                        {d.stages.iter().map(|t| view! {
                            <tr><td class="pr-6">{t.stage.clone()}</td><td class="pr-6">{t.count}</td>
                            <td class="whitespace-nowrap pr-6 font-mono">{stage_time(t.count, t.p50_ms)}</td><td class="whitespace-nowrap font-mono">{stage_time(t.count, t.p90_ms)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            </section>
            <section class="rounded-xl bg-white p-6 shadow">
                <h2 class="text-lg font-semibold">"Quests"</h2>
                <ul class="mt-2 space-y-1 text-sm">
                    {d.quests.iter().map(|q| {
                        let (quest_id, active) = (q.quest_id, q.active);
                        let toggle = can_edit_quests.then(|| view! {
                            <button class="ml-2 text-xs text-indigo-700 hover:underline"
                                on:click=move |_| { quest_state.dispatch(SetQuestActive { quest_id, active: !active }); }>
                                {if active { "Retire" } else { "Reopen" }}
                            </button>
                        });
                        view! {
                            <li data-quest=q.name.clone()>
                                {q.name.clone()} " — " <span class="font-mono">{q.reward.to_string()}</span> " · " {q.validator_kind.clone()}
                                {(!active).then_some(" · retired")}
                                {toggle}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            {fund_form}
            {transfers}
            {quest_form}
            {status_form}
        </div>
    }
}

/// The budget chart (SVG the server drew from numbers only) and its legend.
#[component]
fn BurnDown(svg: Option<String>) -> impl IntoView {
    let Some(svg) = svg else {
        return view! { <p class="mt-2 text-sm text-slate-500" data-testid="burn-down-empty">"No movements yet: fund the campaign to start its chart."</p> }.into_any();
    };
    // Names and colours as the server's chart draws them.
    let legend = payquest_types::CHART_SERIES;
    view! {
        <div class="mt-3 overflow-x-auto [&>svg]:min-w-[36rem]" data-testid="burn-down" tabindex="0" inner_html=svg></div>
        <ul class="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-700" data-testid="chart-legend" aria-label="Legend">
            {legend.into_iter().map(|(name, colour, dashed)| view! {
                <li class="flex items-center gap-1">
                    <svg width="22" height="8" aria-hidden="true">
                        <line x1="0" y1="4" x2="22" y2="4" stroke=colour stroke-width="3"
                            stroke-dasharray=if dashed { "5 3" } else { "none" } />
                    </svg>
                    {name}
                </li>
            }).collect_view()}
        </ul>
        <p class="mt-1 text-xs text-slate-500">"Hover a point for its date and value."</p>
    }
    .into_any()
}
