//! Small building blocks shared by the pages, and the dashboard frame that
//! guards every signed-in page.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use payquest_types::{ErrorCode, Me, SessionStage};

use crate::error::AppError;
use crate::routes;
use crate::session::api::current_session;

pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 \
    shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
pub const BUTTON: &str = "inline-flex justify-center rounded-md bg-indigo-600 px-4 py-2 \
    text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:opacity-50";
pub const BUTTON_QUIET: &str = "inline-flex justify-center rounded-md border border-slate-300 \
    bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50";

/// A `data:` URL holding `text` (UTF-8), for a download link that needs no
/// script.
pub fn data_url(mime: &str, text: &str) -> String {
    let mut out = format!("data:{mime};charset=utf-8,");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b",.-_@:'".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Full-page navigation: used after sign-in steps so every page renders
/// afresh from the server with the new session.
pub fn go_to(path: &str) {
    let _ = window().location().set_href(path);
}

/// A red banner for a failed action, or nothing. An error about one of
/// `fields` is left to that field's `FieldError`.
#[component]
pub fn ErrorBanner(
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional)] fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| !e.field().is_some_and(|f| fields.contains(&f)))
            .map(|e| {
                view! {
                    <p role="alert" data-code=e.code().as_str()
                        class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
                        {e.message().to_owned()}
                    </p>
                }
            })
    }
}

/// A form field: its label, the input, and the error about it (if the last
/// answer named this field), read out by screen readers when it appears.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    /// The input's `name`, which the server's error names.
    #[prop(into)]
    name: String,
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let shown = name.clone();
    let message = move || error.get().filter(|e| e.field() == Some(shown.as_str()));
    view! {
        <label class=format!("block text-sm font-medium {class}")>
            {label}
            {children()}
            {move || {
                let name = name.clone();
                message().map(|e| view! {
                    <span role="alert" class="mt-1 block text-sm font-normal text-red-700"
                        data-code=e.code().as_str() data-field-error=name>{e.message().to_owned()}</span>
                })
            }}
        </label>
    }
}

/// The centred card of the sign-in pages.
#[component]
pub fn AuthCard(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <main class="flex min-h-full items-center justify-center px-4 py-12">
            <div class="w-full max-w-md space-y-6 rounded-xl bg-white p-8 shadow">
                <div>
                    <p class="text-sm font-semibold text-indigo-600">"PayQuest"</p>
                    <h1 class="mt-1 text-2xl font-bold">{title}</h1>
                </div>
                {children()}
            </div>
        </main>
    }
}

/// Shown when the roles held don't allow a page. Sets 403 on the server render.
#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="rounded-xl bg-white p-8 shadow" data-testid="forbidden">
            <h1 class="text-xl font-bold">"403 — not allowed"</h1>
            <p class="mt-2 text-slate-600">"Your roles do not give access to this page."</p>
        </section>
    }
}

/// A page's data once its server function answers: "Loading…" meanwhile
/// (the previous value stays while a refetch runs), the shared error view
/// (or the 403 page) when it fails, and `view` of the value otherwise. Every
/// page loads through this, so loading and failure look the same everywhere.
#[component]
pub fn Loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    view: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    let view = std::sync::Arc::new(view);
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || {
                let view = view.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => view(value).into_any(),
                        Err(e) => load_error(e),
                    }
                })
            }}
        </Transition>
    }
}

/// How often a page showing a moving state reloads it.
pub const RELOAD_MS: u64 = 1_500;

/// Keeps a page up to date while what it shows is still moving: whenever the
/// resource holds a value for which `moving` is true, `reload` is bumped
/// `RELOAD_MS` later (put `reload.get()` in the resource's source). One
/// timer at a time: a reload for any other reason cancels the pending one.
/// Runs only in the browser (effects don't run on the server).
pub fn reload_while<T>(
    resource: Resource<Result<T, AppError>>,
    reload: RwSignal<u32>,
    moving: impl Fn(&T) -> bool + Send + Sync + 'static,
) where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    Effect::new(move |_| {
        let still = resource
            .get()
            .is_some_and(|r| r.as_ref().is_ok_and(&moving));
        if still {
            if let Ok(timer) = set_timeout_with_handle(
                move || reload.update(|n| *n += 1),
                std::time::Duration::from_millis(RELOAD_MS),
            ) {
                on_cleanup(move || timer.clear());
            }
        }
    });
}

/// One column of a `DataTable`: its heading and how a row's cell looks.
pub struct Column<R> {
    heading: &'static str,
    cell: Box<dyn Fn(&R) -> AnyView>,
}

impl<R> Column<R> {
    pub fn new(heading: &'static str, cell: impl Fn(&R) -> AnyView + 'static) -> Self {
        Self {
            heading,
            cell: Box::new(cell),
        }
    }
}

/// A table of rows with a heading row, scrollable on its own when it is
/// wider than the screen (and reachable by keyboard then), with a line in
/// place of the body when there are no rows.
#[component]
pub fn DataTable<R>(
    rows: Vec<R>,
    columns: Vec<Column<R>>,
    /// What the table says when it has no rows.
    #[prop(into)]
    empty: String,
    /// `data-testid` of the table, for browser tests.
    #[prop(optional)]
    testid: &'static str,
) -> impl IntoView
where
    R: 'static,
{
    if rows.is_empty() {
        return view! { <p class="text-slate-500" data-testid=testid>{empty}</p> }.into_any();
    }
    let head = columns
        .iter()
        .map(|c| view! { <th scope="col" class="px-3 py-2">{c.heading}</th> })
        .collect_view();
    let body = rows
        .iter()
        .map(|r| {
            let cells = columns
                .iter()
                .map(|c| view! { <td class="px-3 py-2">{(c.cell)(r)}</td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto" tabindex="0">
            <table class="min-w-full divide-y divide-slate-200 rounded-xl bg-white text-sm shadow" data-testid=testid>
                <thead class="bg-slate-100 text-left"><tr>{head}</tr></thead>
                <tbody class="divide-y divide-slate-100">{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Renders a failed page load: 403 as Forbidden, others as a message.
pub fn load_error(e: AppError) -> AnyView {
    if e.code() == ErrorCode::Forbidden {
        view! { <Forbidden /> }.into_any()
    } else {
        view! { <ErrorBanner error=Signal::derive(move || Some(e.clone())) /> }.into_any()
    }
}

/// The frame of every signed-in page: it loads the session, sends anyone not
/// fully signed in to the right step, and shows navigation for the areas the
/// user's roles open. The server functions check again on every call.
#[component]
pub fn Dashboard(children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_session());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) if me.stage == SessionStage::Active => {
                        provide_context(me.clone());
                        view! {
                            <Frame me=me>{children.with_value(|c| c())}</Frame>
                        }.into_any()
                    }
                    Ok(Some(me)) => view! { <Redirect path=routes::stage_path(me.stage) /> }.into_any(),
                    Ok(None) => view! { <Redirect path=routes::SIGN_IN /> }.into_any(),
                    Err(e) => load_error(e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Frame(me: Me, children: Children) -> impl IntoView {
    let sign_out = ServerAction::<crate::session::api::SignOut>::new();
    let everywhere = ServerAction::<crate::session::api::SignOutEverywhere>::new();
    Effect::new(move |_| {
        if matches!(sign_out.value().get(), Some(Ok(())))
            || matches!(everywhere.value().get(), Some(Ok(())))
        {
            go_to(routes::SIGN_IN);
        }
    });
    let links = me.areas.iter().map(|a| {
        let (href, label) = routes::nav_link(*a);
        // The work waiting in this area, as on the home page.
        let waiting: i64 = me
            .waiting
            .iter()
            .filter(|w| w.area() == Some(*a))
            .map(payquest_types::Waiting::count)
            .sum();
        let badge = (waiting > 0).then(|| {
            let n = payquest_types::count_in_words(waiting);
            view! {
                <span class="ml-1 rounded-full bg-amber-400 px-2 py-0.5 text-xs font-bold text-slate-900" data-testid="nav-count">
                    {n.clone()}<span class="sr-only">" waiting"</span>
                </span>
            }
        });
        view! { <A href=href attr:class="rounded-md px-3 py-2 text-sm font-medium text-slate-200 hover:bg-slate-700">{label}{badge}</A> }
    }).collect_view();
    view! {
        <div class="min-h-full">
            <nav class="bg-slate-800" aria-label="Main">
                <div class="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-4 py-3">
                    <A href=routes::HOME attr:class="mr-4 font-bold text-white">"PayQuest"</A>
                    {links}
                    <div class="ml-auto flex min-w-0 flex-wrap items-center gap-1">
                        <span class="max-w-[14rem] truncate text-sm text-slate-300" data-testid="whoami">{me.email.clone()}</span>
                        <ActionForm action=sign_out>
                            <button type="submit" class="rounded-md px-3 py-2 text-sm text-slate-200 hover:bg-slate-700">"Sign out"</button>
                        </ActionForm>
                        <ActionForm action=everywhere>
                            <button type="submit" class="rounded-md px-3 py-2 text-sm text-slate-300 hover:bg-slate-700">"Sign out everywhere"</button>
                        </ActionForm>
                    </div>
                </div>
            </nav>
            <main class="mx-auto max-w-6xl px-4 py-8">{children()}</main>
        </div>
    }
}

/// The frame of the public site's pages: no session is read, nothing here
/// depends on who is looking. The CMS will supply the banner, header and
/// footer; until then they are plain.
#[component]
pub fn PublicFrame(children: Children) -> impl IntoView {
    // Who is signed in as a gamer, if anyone; staff sign-in is not read here.
    let gamer = Resource::new(|| (), |_| crate::public::api::current_gamer());
    view! {
        <div class="flex min-h-full flex-col">
            <header class="bg-slate-900">
                <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-4">
                    <a href=routes::PUBLIC_HOME class="text-lg font-bold text-white">"PayQuest"</a>
                    <nav aria-label="Site" class="flex gap-3 text-sm text-slate-100">
                        <a class="hover:underline" href=routes::QUESTS>"K-Quests"</a>
                        <a class="hover:underline" href=routes::DROPS>"K-Drops"</a>
                        <a class="hover:underline" href=routes::LEADERBOARDS>"Leaderboards"</a>
                    </nav>
                    <nav aria-label="Language" class="flex gap-3 text-sm text-slate-200">
                        <a class="hover:underline" href="?locale=en" hreflang="en" lang="en">"English"</a>
                        <a class="hover:underline" href="?locale=es" hreflang="es" lang="es">"Español"</a>
                    </nav>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match gamer.await.ok().flatten() {
                                Some(g) => view! {
                                    <div class="flex items-center gap-2 whitespace-nowrap">
                                        <a class="text-sm text-slate-100 hover:underline" href=routes::MY_REWARDS>"My rewards"</a>
                                        <span class="font-mono text-sm text-slate-200" data-testid="gamer-wallet">{g.wallet_short}</span>
                                        <button type="button" class="text-sm text-slate-300 hover:underline"
                                            on:click=move |_| {
                                                leptos::task::spawn_local(async move {
                                                    let _ = crate::public::api::gamer_sign_out().await;
                                                    gamer.refetch();
                                                });
                                            }>"Sign out"</button>
                                    </div>
                                }.into_any(),
                                None => view! { <WalletSignIn gamer /> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </header>
            <main class="grow">{children()}</main>
            <footer class="border-t border-slate-200 bg-white">
                <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-4 text-sm text-slate-600">
                    <span>"PayQuest"</span>
                    <a class="text-indigo-700 hover:underline" href=routes::SIGN_IN rel="external">"Staff sign-in"</a>
                </div>
            </footer>
        </div>
    }
}

/// "Sign in with wallet": asks the browser's wallet (EIP-1193,
/// `window.ethereum`) for an account, has it sign the server's ERC-4361
/// message (`personal_sign`) and signs in with the signature; a refusal
/// or a missing wallet is said beside the button.
#[component]
fn WalletSignIn(
    gamer: Resource<Result<Option<payquest_types::GamerMe>, AppError>>,
) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let sign_in = move |_| {
        busy.set(true);
        problem.set(None);
        leptos::task::spawn_local(async move {
            match wallet::sign_in().await {
                Ok(()) => gamer.refetch(),
                Err(why) => problem.set(Some(why)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="flex flex-col items-end gap-1">
            <button type="button" class="rounded-md bg-indigo-500 px-3 py-1 text-sm font-semibold text-white hover:bg-indigo-400 disabled:opacity-60"
                disabled=move || busy.get() on:click=sign_in>
                {move || if busy.get() { "Waiting for your wallet…" } else { "Sign in with wallet" }}
            </button>
            {move || problem.get().map(|p| view! { <p role="alert" class="max-w-xs text-right text-xs text-amber-200" data-testid="wallet-problem">{p}</p> })}
        </div>
    }
}

/// The browser side of wallet sign-in.
mod wallet {
    /// Signs in with the browser's wallet; the reason in words otherwise.
    pub async fn sign_in() -> Result<(), String> {
        #[cfg(feature = "hydrate")]
        {
            let ethereum = provider()?;
            let accounts = request(&ethereum, "eth_requestAccounts", js_sys::Array::new()).await?;
            let account = js_sys::Array::from(&accounts)
                .get(0)
                .as_string()
                .ok_or("The wallet shared no account.")?;
            let challenge = crate::public::api::siwe_challenge(account.clone())
                .await
                .map_err(|e| e.message().to_owned())?;
            let hex: String = challenge
                .message
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect();
            let params = js_sys::Array::of2(&format!("0x{hex}").into(), &account.into());
            let signature = request(&ethereum, "personal_sign", params)
                .await?
                .as_string()
                .ok_or("The wallet gave no signature.")?;
            crate::public::api::siwe_sign_in(challenge.message, signature)
                .await
                .map_err(|e| e.message().to_owned())?;
            Ok(())
        }
        #[cfg(not(feature = "hydrate"))]
        Err("Signing in needs the page's script.".into())
    }

    #[cfg(feature = "hydrate")]
    fn provider() -> Result<leptos::wasm_bindgen::JsValue, String> {
        let window = leptos::web_sys::window().ok_or("No browser window.")?;
        let ethereum = js_sys::Reflect::get(&window, &"ethereum".into()).unwrap_or_default();
        if ethereum.is_undefined() || ethereum.is_null() {
            return Err(
                "No wallet found in this browser: install one (such as MetaMask) to sign in."
                    .into(),
            );
        }
        Ok(ethereum)
    }

    /// One EIP-1193 request: `ethereum.request({ method, params })`.
    #[cfg(feature = "hydrate")]
    async fn request(
        ethereum: &leptos::wasm_bindgen::JsValue,
        method: &str,
        params: js_sys::Array,
    ) -> Result<leptos::wasm_bindgen::JsValue, String> {
        use leptos::wasm_bindgen::JsCast;
        let args = js_sys::Object::new();
        let set =
            |k: &str, v: &leptos::wasm_bindgen::JsValue| js_sys::Reflect::set(&args, &k.into(), v);
        set("method", &method.into()).map_err(|_| "The wallet could not be asked.")?;
        set("params", &params).map_err(|_| "The wallet could not be asked.")?;
        let call: js_sys::Function = js_sys::Reflect::get(ethereum, &"request".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or("The wallet does not speak EIP-1193.")?;
        let promise: js_sys::Promise = call
            .call1(ethereum, &args)
            .ok()
            .and_then(|p| p.dyn_into().ok())
            .ok_or("The wallet did not answer.")?;
        wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|e| {
                let said = js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_default();
                let said: String = said.chars().filter(|c| !c.is_control()).take(120).collect();
                format!("The wallet refused: {said}")
            })
    }
}

/// Bounces a signed-in visitor of a sign-in page to where they belong.
#[component]
pub fn RedirectIfStage(expect: Option<SessionStage>, children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_session());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let stage = me.await.ok().flatten().map(|m| m.stage);
                if stage == expect {
                    children.with_value(|c| c()).into_any()
                } else {
                    let to = stage.map(routes::stage_path).unwrap_or(routes::SIGN_IN);
                    view! { <Redirect path=to /> }.into_any()
                }
            })}
        </Suspense>
    }
}

/// A state as a coloured badge (green: done, red: failed, amber: moving).
pub fn state_badge(state: &'static str) -> impl IntoView {
    let colour = match state {
        "reconciled" | "confirmed" | "disbursed" | "approved" => "bg-emerald-100 text-emerald-800",
        "rejected" | "reverted" | "failed" | "partially_failed" => "bg-rose-100 text-rose-800",
        "pending_approval" | "disbursing" | "broadcast" | "mined" | "prepared" => {
            "bg-amber-100 text-amber-800"
        }
        _ => "bg-slate-100 text-slate-700",
    };
    view! { <span class=format!("rounded px-2 py-0.5 text-xs font-medium {colour}") data-state=state>{state.replace('_', " ")}</span> }
}
