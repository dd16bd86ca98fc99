//! The CMS pages: every entry with its state, and the editor generated from
//! the content type's schema (a field per locale where it is translated).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use payquest_types::{
    ContentEditor, ContentEntryView, ContentScheduleView, ContentState, ContentType, FieldSpec,
    MediaView, ScheduleAction, ScheduleState, WebhookEventView, WebhookState,
};

use crate::components::{
    go_to, state_badge, Column, Dashboard, DataTable, ErrorBanner, Loaded, BUTTON, BUTTON_QUIET,
    INPUT,
};
use crate::content::api::{
    content_entries, load_content_editor, media_library, webhook_log, CancelContentSchedule,
    ContentDiff, PreviewLink, PublishContent, RedeliverWebhook, RestoreContent, SaveContent,
    ScheduleContent, UnpublishContent,
};
use crate::error::AppError;

#[component]
pub fn ContentPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| content_entries());
    view! {
        <Dashboard>
            <div class="space-y-6">
                <h1 class="text-2xl font-bold">"Content"</h1>
                <section class="rounded-xl bg-white p-6 shadow">
                    <h2 class="text-lg font-semibold">"The site's parts"</h2>
                    <ul class="mt-2 flex flex-wrap gap-2">
                        {[ContentType::Banner, ContentType::Header, ContentType::Footer].map(|t| view! {
                            <li><a class=BUTTON_QUIET href=crate::routes::content_entry(t, t.as_str())>{t.label()}</a></li>
                        }).collect_view()}
                        <li><a class=BUTTON_QUIET href=crate::routes::MEDIA>"Images"</a></li>
                        <li><a class=BUTTON_QUIET href=crate::routes::WEBHOOKS>"Webhook deliveries"</a></li>
                    </ul>
                </section>
                <NewEntry />
                <Loaded resource=entries view={|rows: Vec<ContentEntryView>| {
                    let columns = vec![
                        Column::new("Entry", |e: &ContentEntryView| {
                            let label = if e.title.is_empty() { e.slug.clone() } else { e.title.clone() };
                            view! { <a class="font-medium text-indigo-700 hover:underline" href=crate::routes::content_entry(e.content_type, &e.slug)>{label}</a> }.into_any()
                        }),
                        Column::new("Type", |e: &ContentEntryView| e.content_type.label().into_any()),
                        Column::new("Slug", |e: &ContentEntryView| view! { <span class="font-mono">{e.slug.clone()}</span> }.into_any()),
                        Column::new("State", |e: &ContentEntryView| {
                            let changed = (e.state == ContentState::Published && e.has_unpublished_changes)
                                .then_some(" · unpublished changes");
                            view! { <span>{state_badge(e.state.as_str())}{changed}</span> }.into_any()
                        }),
                        Column::new("Changed", |e: &ContentEntryView| e.updated_at.clone().into_any()),
                    ];
                    view! { <DataTable rows columns empty="No content yet." testid="content-table" /> }
                }} />
            </div>
        </Dashboard>
    }
}

/// Starts a K-Quest, K-Drop or leaderboard entry under a slug.
#[component]
fn NewEntry() -> impl IntoView {
    let kind = RwSignal::new(ContentType::KQuest);
    let slug = RwSignal::new(String::new());
    view! {
        <form class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-6 shadow" data-testid="new-entry"
            on:submit=move |ev| {
                ev.prevent_default();
                go_to(&crate::routes::content_entry(kind.get_untracked(), slug.get_untracked().trim()));
            }>
            <label class="block text-sm font-medium">"New"
                <select class=INPUT on:change=move |ev| {
                    if let Ok(t) = event_target_value(&ev).parse() { kind.set(t); }
                }>
                    {[ContentType::KQuest, ContentType::KDrop, ContentType::Leaderboard].map(|t| view! {
                        <option value=t.as_str()>{t.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="block text-sm font-medium">"Slug (lower-case letters, digits, dashes)"
                <input class=INPUT required maxlength="80" pattern="[a-z0-9]+(-[a-z0-9]+)*"
                    prop:value=slug on:input=move |ev| slug.set(event_target_value(&ev)) />
            </label>
            <button class=BUTTON type="submit">"Start"</button>
        </form>
    }
}

#[component]
pub fn ContentEntryPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        params.with(|p| {
            let t = p
                .get("type")
                .and_then(|t| t.parse::<ContentType>().ok())
                .unwrap_or(ContentType::Banner);
            (t, p.get("slug").unwrap_or_default())
        })
    };
    let save = ServerAction::<SaveContent>::new();
    let publish = ServerAction::<PublishContent>::new();
    let unpublish = ServerAction::<UnpublishContent>::new();
    let restore = ServerAction::<RestoreContent>::new();
    let compare = ServerAction::<ContentDiff>::new();
    let preview = ServerAction::<PreviewLink>::new();
    let schedule = ServerAction::<ScheduleContent>::new();
    let cancel = ServerAction::<CancelContentSchedule>::new();
    // Bumped while a schedule is pending, so its outcome shows by itself.
    let reload = RwSignal::new(0_u32);
    let editor = Resource::new(
        move || {
            (
                key(),
                (
                    save.version().get(),
                    publish.version().get(),
                    unpublish.version().get(),
                    restore.version().get(),
                ),
                (
                    schedule.version().get(),
                    cancel.version().get(),
                    reload.get(),
                ),
            )
        },
        |((t, slug), ..)| load_content_editor(t, slug),
    );
    crate::components::reload_while(editor, reload, |e: &ContentEditor| {
        e.schedules
            .iter()
            .any(|s| s.state == ScheduleState::Pending)
    });
    // What the last action answered (a save, a publish or an unpublish).
    let outcome = RwSignal::new(None::<Result<String, AppError>>);
    for answer in [
        save.value(),
        publish.value(),
        unpublish.value(),
        restore.value(),
        schedule.value(),
        cancel.value(),
    ] {
        Effect::new(move |_| {
            if let Some(r) = answer.get() {
                outcome.set(Some(r));
            }
        });
    }
    let error = Signal::derive(move || outcome.get().and_then(Result::err));
    let done = Signal::derive(move || outcome.get().and_then(Result::ok));
    let actions = Actions {
        save,
        publish,
        unpublish,
        restore,
        compare,
        preview,
        schedule,
        cancel,
        error,
    };
    view! {
        <Dashboard>
            <div class="space-y-6">
                <a class="text-sm text-indigo-700 hover:underline" href=crate::routes::CONTENT>"← All content"</a>
                {move || done.get().map(|m| view! {
                    <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="content-message">{m}</p>
                })}
                <Loaded resource=editor view={move |e: ContentEditor| view! { <Editor e actions /> }} />
            </div>
        </Dashboard>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveContent>,
    publish: ServerAction<PublishContent>,
    unpublish: ServerAction<UnpublishContent>,
    restore: ServerAction<RestoreContent>,
    compare: ServerAction<ContentDiff>,
    preview: ServerAction<PreviewLink>,
    schedule: ServerAction<ScheduleContent>,
    cancel: ServerAction<CancelContentSchedule>,
    error: Signal<Option<AppError>>,
}

#[component]
fn Editor(e: ContentEditor, actions: Actions) -> impl IntoView {
    let values = RwSignal::new(e.values.clone());
    let content_type = e.content_type;
    let slug = e.entry.as_ref().map(|x| x.slug.clone()).unwrap_or_else(|| {
        leptos_router::hooks::use_params_map().with_untracked(|p| p.get("slug").unwrap_or_default())
    });
    let title = format!("{} · {}", content_type.label(), slug);
    let entry_id = e.entry.as_ref().map(|x| x.entry_id);
    let state = e.entry.as_ref().map(|x| x.state);
    let untranslated = e.untranslated.clone();
    let slug_for_save = slug.clone();
    let save = move |_| {
        actions.save.dispatch(SaveContent {
            content_type,
            slug: slug_for_save.clone(),
            fields: values.get_untracked(),
        });
    };
    // An error about one of this type's fields shows beside it; any other
    // (the slug, the budget rule) in the banner.
    let beside: Vec<String> = e.fields.iter().map(|f| f.name.clone()).collect();
    let elsewhere = Signal::derive(move || {
        actions
            .error
            .get()
            .filter(|err| !err.field().is_some_and(|f| beside.iter().any(|b| b == f)))
    });
    let schedules = e.schedules.clone();
    let can_edit = e.can_edit;
    let fields = e
        .fields
        .iter()
        .map(|f| view! { <FieldInputs f=f.clone() locales=e.locales.clone() values untranslated=untranslated.clone() error=actions.error /> })
        .collect_view();
    view! {
        <section class="space-y-4 rounded-xl bg-white p-6 shadow" data-testid="content-editor">
            <div class="flex flex-wrap items-center gap-3">
                <h1 class="text-2xl font-bold">{title}</h1>
                {state.map(|s| state_badge(s.as_str()))}
            </div>
            {fields}
            <ErrorBanner error=elsewhere />
            {move || actions.preview.value().get().map(|r| match r {
                Ok(path) => view! {
                    <p class="text-sm" role="status">"Preview (works for an hour, for anyone with the link): "
                        <a class="font-mono text-indigo-700 underline" href=path.clone() data-testid="preview-link">{path.clone()}</a>
                    </p>
                }.into_any(),
                Err(e) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
            })}
            <div class="flex flex-wrap gap-2">
                <button class=BUTTON type="button" disabled=move || !e.can_edit on:click=save>"Save draft"</button>
                {entry_id.map(|id| view! {
                    <button class=BUTTON_QUIET type="button" disabled=move || !e.can_edit
                        on:click=move |_| { actions.publish.dispatch(PublishContent { entry_id: id }); }>"Publish"</button>
                })}
                {entry_id.map(|id| view! {
                    <button class=BUTTON_QUIET type="button"
                        on:click=move |_| { actions.preview.dispatch(PreviewLink { entry_id: id }); }>"Preview link"</button>
                })}
                {(state == Some(ContentState::Published)).then(|| entry_id.map(|id| view! {
                    <button class=BUTTON_QUIET type="button" disabled=move || !e.can_edit
                        on:click=move |_| { actions.unpublish.dispatch(UnpublishContent { entry_id: id }); }>"Unpublish"</button>
                }))}
            </div>
        </section>
        {entry_id.map(|id| view! { <Schedules entry_id=id schedules=schedules.clone() can_edit actions /> })}
        <section class="rounded-xl bg-white p-6 shadow">
            <h2 class="text-lg font-semibold">"Versions"</h2>
            {if e.versions.is_empty() {
                view! { <p class="text-sm text-slate-600">"Not saved yet."</p> }.into_any()
            } else {
                let draft = e.versions[0].version_id;
                view! {
                    <ol class="mt-2 space-y-2 text-sm" data-testid="content-versions">
                        {e.versions.into_iter().map(|v| {
                            let id = v.version_id;
                            let older = id != draft;
                            view! {
                                <li class="flex flex-wrap items-center gap-2">
                                    <span>{format!("#{} by {} at {}", v.version_id, v.author, v.created_at)}
                                        {v.published.then_some(" · published")}
                                        {(!older).then_some(" · the draft")}</span>
                                    {(older && entry_id.is_some()).then(|| {
                                        let entry = entry_id.unwrap_or_default();
                                        view! {
                                            <button class=BUTTON_QUIET type="button"
                                                on:click=move |_| { actions.compare.dispatch(ContentDiff { entry_id: entry, from: id, to: draft }); }>
                                                {format!("Compare #{id} with the draft")}</button>
                                            <button class=BUTTON_QUIET type="button" disabled=move || !e.can_edit
                                                on:click=move |_| { actions.restore.dispatch(RestoreContent { entry_id: entry, version: id }); }>
                                                {format!("Restore #{id}")}</button>
                                        }
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            <DiffView compare=actions.compare />
        </section>
    }
}

/// A field's inputs: one per locale when it is translated, each labelled
/// with its locale, and "shows the English text" where a translation is
/// missing; the server's error about the field beneath them.
#[component]
fn FieldInputs(
    f: FieldSpec,
    locales: Vec<String>,
    values: RwSignal<BTreeMap<String, String>>,
    untranslated: Vec<String>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let inputs: Vec<(String, String)> = if f.localized {
        locales
            .iter()
            .map(|l| (format!("{}.{l}", f.name), format!("{} ({l})", f.label)))
            .collect()
    } else {
        vec![(f.name.clone(), f.label.clone())]
    };
    let rich = f.kind == "rich_text";
    let max = f.max_chars;
    let name = f.name.clone();
    let message = move || error.get().filter(|e| e.field() == Some(name.as_str()));
    let field_name = f.name.clone();
    view! {
        <fieldset class="space-y-1">
            <legend class="text-sm font-medium">{f.label.clone()}{f.required.then_some(" (required)")}</legend>
            <div class="grid gap-2 sm:grid-cols-2">
                {inputs.into_iter().map(|(key, sub)| {
                    let k = key.clone();
                    let k2 = key.clone();
                    let missing = untranslated.contains(&key).then_some("untranslated: shows the English text");
                    let value = move || values.with(|v| v.get(&k).cloned().unwrap_or_default());
                    let set = move |ev| {
                        let v = event_target_value(&ev);
                        values.update(|m| { m.insert(k2.clone(), v); });
                    };
                    view! {
                        <label class="block text-xs text-slate-600">{sub}
                            {if rich {
                                view! { <textarea class=INPUT rows="3" maxlength=max name=key.clone() prop:value=value on:input=set></textarea> }.into_any()
                            } else {
                                view! { <input class=INPUT maxlength=max name=key.clone() prop:value=value on:input=set /> }.into_any()
                            }}
                            {missing.map(|m| view! { <span class="block text-amber-700">{m}</span> })}
                        </label>
                    }
                }).collect_view()}
            </div>
            {move || {
                let field_name = field_name.clone();
                message().map(|e| view! {
                    <p role="alert" class="text-sm text-red-700" data-code=e.code().as_str() data-field-error=field_name>{e.message().to_owned()}</p>
                })
            }}
        </fieldset>
    }
}

/// The last comparison asked for: each changed input, words removed struck
/// through and words added underlined.
#[component]
fn DiffView(compare: ServerAction<ContentDiff>) -> impl IntoView {
    move || {
        compare.value().get().map(|r| match r {
            Err(e) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
            Ok(fields) if fields.is_empty() => {
                view! { <p class="mt-3 text-sm text-slate-600" data-testid="content-diff">"No differences."</p> }.into_any()
            }
            Ok(fields) => view! {
                <dl class="mt-3 space-y-2 text-sm" data-testid="content-diff">
                    {fields.into_iter().map(|f| view! {
                        <div>
                            <dt class="font-mono text-xs text-slate-600">{f.name}</dt>
                            <dd>{f.parts.into_iter().map(|p| match p.kind.as_str() {
                                "removed" => view! { <del class="bg-rose-100 text-rose-900">{p.text}</del> }.into_any(),
                                "added" => view! { <ins class="bg-emerald-100 text-emerald-900">{p.text}</ins> }.into_any(),
                                _ => view! { <span>{p.text}</span> }.into_any(),
                            }).collect_view()}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            }.into_any(),
        })
    }
}

/// Planned publishes and unpublishes: a form to add one (UTC) and the
/// entry's schedules with their outcome, a late one flagged.
#[component]
fn Schedules(
    entry_id: payquest_types::ContentEntryId,
    schedules: Vec<ContentScheduleView>,
    can_edit: bool,
    actions: Actions,
) -> impl IntoView {
    let action = RwSignal::new(ScheduleAction::Publish);
    let due_at = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        actions.schedule.dispatch(ScheduleContent {
            entry_id,
            action: action.get_untracked(),
            due_at: due_at.get_untracked(),
        });
    };
    let message = move || {
        actions
            .error
            .get()
            .filter(|e| e.field() == Some("due_at"))
            .map(|e| view! { <p role="alert" class="text-sm text-red-700" data-field-error="due_at">{e.message().to_owned()}</p> })
    };
    view! {
        <section class="space-y-3 rounded-xl bg-white p-6 shadow" data-testid="content-schedules">
            <h2 class="text-lg font-semibold">"Schedule"</h2>
            <form class="flex flex-wrap items-end gap-3" on:submit=submit>
                <label class="block text-sm font-medium">"Action"
                    <select class=INPUT name="action" disabled=!can_edit on:change=move |ev| {
                        if let Ok(a) = event_target_value(&ev).parse() { action.set(a); }
                    }>
                        <option value="publish">"Publish the current draft"</option>
                        <option value="unpublish">"Unpublish"</option>
                    </select>
                </label>
                <label class="block text-sm font-medium">"When (UTC)"
                    <input class=INPUT type="datetime-local" step="1" name="due_at" required disabled=!can_edit
                        prop:value=due_at on:input=move |ev| due_at.set(event_target_value(&ev)) />
                </label>
                <button class=BUTTON type="submit" disabled=!can_edit>"Schedule"</button>
            </form>
            {message}
            {if schedules.is_empty() {
                view! { <p class="text-sm text-slate-600">"Nothing scheduled."</p> }.into_any()
            } else {
                view! {
                    <ul class="space-y-2 text-sm" data-testid="schedule-list">
                        {schedules.into_iter().map(|s| {
                            let id = s.schedule_id;
                            let what = match (s.action, s.version_id) {
                                (ScheduleAction::Publish, Some(v)) => format!("Publish version {v}"),
                                _ => "Unpublish".to_owned(),
                            };
                            let pending = s.state == ScheduleState::Pending;
                            view! {
                                <li class="flex flex-wrap items-center gap-2" data-state=s.state.as_str()>
                                    <span>{format!("{what} at {} (by {})", s.due_at, s.created_by)}</span>
                                    {state_badge(s.state.as_str())}
                                    {s.late.then(|| view! { <span class="rounded bg-amber-100 px-2 text-amber-900" data-testid="schedule-late">"late: more than a minute overdue"</span> })}
                                    {s.reason.map(|r| view! { <span class="text-slate-700" data-testid="schedule-reason">{r}</span> })}
                                    {s.finished_at.map(|f| view! { <span class="text-slate-500">{format!("ran at {f}")}</span> })}
                                    {(pending && can_edit).then(|| view! {
                                        <button class=BUTTON_QUIET type="button"
                                            on:click=move |_| { actions.cancel.dispatch(CancelContentSchedule { entry_id, schedule_id: id }); }>"Cancel"</button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The image library: upload (a plain form post, checked from the bytes)
/// and every image with the URL to put in content.
#[component]
pub fn MediaPage() -> impl IntoView {
    let library = Resource::new(|| (), |_| media_library());
    view! {
        <Dashboard>
            <div class="space-y-6">
                <a class="text-sm text-indigo-700 hover:underline" href=crate::routes::CONTENT>"← All content"</a>
                <h1 class="text-2xl font-bold">"Images"</h1>
                <Loaded resource=library view={|(items, flash): (Vec<MediaView>, Option<(bool, String)>)| view! {
                    {flash.map(|(ok, m)| if ok {
                        view! { <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="media-message">{m}</p> }.into_any()
                    } else {
                        view! { <p role="alert" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-900" data-testid="media-message">{m}</p> }.into_any()
                    })}
                    <form class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-6 shadow" method="post"
                        action="/admin/media" enctype="multipart/form-data">
                        <label class="block text-sm font-medium">"Image (PNG, JPEG, GIF or WebP; at most 2 MiB and 4,096 × 4,096 pixels)"
                            <input class=INPUT type="file" name="file" required accept="image/png,image/jpeg,image/gif,image/webp" />
                        </label>
                        <button class=BUTTON type="submit">"Upload"</button>
                    </form>
                    <DataTable rows=items testid="media-table" empty="No images yet." columns=vec![
                        Column::new("Image", |m: &MediaView| view! {
                            <img class="h-12 w-12 rounded object-cover" src=m.url.clone() alt=m.file_name.clone() width="48" height="48" />
                        }.into_any()),
                        Column::new("URL (select to copy)", |m: &MediaView| view! {
                            <input class="w-40 rounded border border-slate-300 px-2 py-1 font-mono text-xs sm:w-80" readonly
                                aria-label=format!("URL of {}", m.file_name) prop:value=m.url.clone()
                                on:focus=|ev| { if let Some(i) = ev.target().and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlInputElement>(t).ok()) { i.select(); } } />
                        }.into_any()),
                        Column::new("File", |m: &MediaView| m.file_name.clone().into_any()),
                        Column::new("Size", |m: &MediaView| format!("{} × {} px, {} KiB", m.width, m.height, m.byte_size.div_ceil(1024)).into_any()),
                        Column::new("Uploaded", |m: &MediaView| m.created_at.clone().into_any()),
                    ] />
                }} />
            </div>
        </Dashboard>
    }
}

/// Every webhook event with its delivery state; a delivered or failed one
/// can be sent again.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let redeliver = ServerAction::<RedeliverWebhook>::new();
    let reload = RwSignal::new(0_u32);
    let log = Resource::new(
        move || (redeliver.version().get(), reload.get()),
        |_| webhook_log(),
    );
    crate::components::reload_while(
        log,
        reload,
        |(_, events): &(bool, Vec<WebhookEventView>)| {
            events.iter().any(|e| e.state == WebhookState::Pending)
        },
    );
    view! {
        <Dashboard>
            <div class="space-y-6">
                <a class="text-sm text-indigo-700 hover:underline" href=crate::routes::CONTENT>"← All content"</a>
                <h1 class="text-2xl font-bold">"Webhook deliveries"</h1>
                {move || redeliver.value().get().map(|r| match r {
                    Ok(m) => view! { <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="webhook-message">{m}</p> }.into_any(),
                    Err(e) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                })}
                <Loaded resource=log view={move |(configured, events): (bool, Vec<WebhookEventView>)| view! {
                    {(!configured).then(|| view! {
                        <p class="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
                            "No webhook endpoint is configured (PAYQUEST_CONTENT_WEBHOOK_URL and PAYQUEST_CONTENT_WEBHOOK_SECRET): publishes are not announced."
                        </p>
                    })}
                    <DataTable rows=events testid="webhook-table" empty="No events yet." columns=vec![
                        Column::new("Event", |e: &WebhookEventView| view! { <span class="font-mono">{format!("evt_{}", e.event_id)}</span> }.into_any()),
                        Column::new("What", |e: &WebhookEventView| format!("{} · {} {}", e.kind, e.content_type.label(), e.slug).into_any()),
                        Column::new("State", |e: &WebhookEventView| state_badge(e.state.as_str()).into_any()),
                        Column::new("Attempts", |e: &WebhookEventView| {
                            let last = e.last_outcome.clone().map(|o| format!(" (last: {o})")).unwrap_or_default();
                            let next = e.next_attempt_at.clone().map(|n| format!("; next at {n}")).unwrap_or_default();
                            format!("{}{last}{next}", e.attempts).into_any()
                        }),
                        Column::new("Created", |e: &WebhookEventView| e.created_at.clone().into_any()),
                        Column::new("Action", move |e: &WebhookEventView| {
                            let id = e.event_id;
                            (e.state != WebhookState::Pending).then(|| view! {
                                <button class=BUTTON_QUIET type="button"
                                    on:click=move |_| { redeliver.dispatch(RedeliverWebhook { event_id: id }); }>"Redeliver"</button>
                            }).into_any()
                        }),
                    ] />
                }} />
            </div>
        </Dashboard>
    }
}
