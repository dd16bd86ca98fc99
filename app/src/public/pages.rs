//! The public site's pages. They read no staff session.

use leptos::prelude::*;
use payquest_types::{ContentType, PublicHome, PublishedContent};

use crate::public::api::{load_preview, public_entry, public_home, public_list};

/// The public site's front page: the published banner, header and footer,
/// and the live K-Quests, K-Drops and leaderboards; a plain welcome while
/// nothing is published. No session is read; staff sign in from the link
/// at the bottom.
#[component]
pub fn PublicHomePage() -> impl IntoView {
    let locale = use_locale();
    let home = Resource::new(locale, public_home);
    view! {
        <crate::components::PublicFrame>
            <Transition fallback=|| view! { <p class="px-4 py-16 text-center text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let home = home.await.unwrap_or_default();
                    view! { <div lang=locale()><Home home /></div> }
                })}
            </Transition>
        </crate::components::PublicFrame>
    }
}

/// A draft shown through a preview link, marked as such; never cached (all
/// pages answer with `Cache-Control: no-store`).
#[component]
pub fn PreviewPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let home = Resource::new(
        move || params.with(|p| p.get("token").unwrap_or_default()),
        load_preview,
    );
    view! {
        <crate::components::PublicFrame>
            <p class="bg-amber-100 px-4 py-2 text-center text-sm font-medium text-amber-900" role="status" data-testid="preview-marker">
                "Preview: this draft is not published."
            </p>
            <Transition fallback=|| view! { <p class="px-4 py-16 text-center text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match home.await {
                        Ok(home) => view! { <Home home /> }.into_any(),
                        Err(_) => view! {
                            <p class="px-4 py-16 text-center text-slate-700" data-testid="preview-gone">
                                "This preview link has expired or is not valid. Ask for a new one."
                            </p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </crate::components::PublicFrame>
    }
}

/// The locale the visitor chose (`?locale=es`), `en` otherwise.
fn use_locale() -> impl Fn() -> String + Send + Sync + Copy + 'static {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query.with(|q| match q.get("locale").as_deref() {
            Some("es") => "es".to_owned(),
            _ => "en".to_owned(),
        })
    }
}

/// An entry's dates as days: "2026-12-01 – 2026-12-31", "from …", "until …".
fn dates(c: &PublishedContent) -> String {
    let day = |s: &str| s.chars().take(10).collect::<String>();
    match (field(c, "starts_at"), field(c, "ends_at")) {
        ("", "") => String::new(),
        (s, "") => format!("from {}", day(s)),
        ("", e) => format!("until {}", day(e)),
        (s, e) => format!("{} – {}", day(s), day(e)),
    }
}

fn field<'a>(c: &'a PublishedContent, name: &str) -> &'a str {
    c.fields.get(name).map(String::as_str).unwrap_or("")
}

/// "label | URL" lines as links (only our paths and http(s) URLs).
fn links(raw: &str) -> Vec<(String, String)> {
    raw.lines()
        .filter_map(|l| {
            let (label, url) = l.split_once('|')?;
            let (label, url) = (label.trim(), url.trim());
            let ok = (url.starts_with('/') && !url.starts_with("//"))
                || url.starts_with("https://")
                || url.starts_with("http://");
            (ok && !label.is_empty()).then(|| (label.to_owned(), url.to_owned()))
        })
        .collect()
}

#[component]
fn Home(home: PublicHome) -> impl IntoView {
    let tagline = home
        .header
        .as_ref()
        .map(|h| field(h, "tagline").to_owned())
        .filter(|t| !t.is_empty());
    let menu = home
        .header
        .as_ref()
        .map(|h| links(field(h, "links")))
        .unwrap_or_default();
    let title = home
        .banner
        .as_ref()
        .map(|b| field(b, "title").to_owned())
        .unwrap_or_else(|| "Play, complete quests, get paid".to_owned());
    // Rich text was sanitised when saved and again when served.
    let body = home.banner.as_ref().map(|b| field(b, "body").to_owned());
    let cta = home
        .banner
        .as_ref()
        .map(|b| field(b, "link").to_owned())
        .filter(|l| !l.is_empty());
    view! {
        {(tagline.is_some() || !menu.is_empty()).then(|| view! {
            <nav class="bg-slate-800 text-slate-100" aria-label="Site" data-testid="site-header">
                <div class="mx-auto flex max-w-6xl flex-wrap items-center gap-4 px-4 py-2 text-sm">
                    {tagline.map(|t| view! { <span class="font-medium">{t}</span> })}
                    {menu.into_iter().map(|(label, url)| view! { <a class="hover:underline" href=url>{label}</a> }).collect_view()}
                </div>
            </nav>
        })}
        <section class="mx-auto max-w-3xl px-4 py-16 text-center" data-testid="banner">
            <h1 class="text-3xl font-bold sm:text-4xl" data-testid="public-title">{title}</h1>
            {match body {
                Some(html) => view! { <div class="prose mt-4 text-lg text-slate-600" inner_html=html></div> }.into_any(),
                None => view! {
                    <p class="mt-4 text-lg text-slate-600">
                        "PayQuest rewards what you do on the platform: finish a quest in a game or on a social network, and the reward is paid in tokens to your wallet."
                    </p>
                }.into_any(),
            }}
            {cta.map(|url| view! { <a class="mt-6 inline-block rounded-md bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500" href=url>"Take part"</a> })}
        </section>
        <Cards title="K-Quests" testid="k-quests" items=home.quests href=crate::routes::QUESTS />
        <Cards title="K-Drops" testid="k-drops" items=home.drops href=crate::routes::DROPS />
        <Cards title="Leaderboards" testid="leaderboards" items=home.leaderboards href=crate::routes::LEADERBOARDS />
        {home.footer.map(|f| {
            let text = field(&f, "text").to_owned();
            let links = links(field(&f, "links"));
            view! {
                <section class="border-t border-slate-200 bg-white" data-testid="site-footer">
                    <div class="mx-auto max-w-6xl space-y-2 px-4 py-6 text-sm text-slate-600">
                        <div inner_html=text></div>
                        <div class="flex flex-wrap gap-4">
                            {links.into_iter().map(|(label, url)| view! { <a class="text-indigo-700 hover:underline" href=url>{label}</a> }).collect_view()}
                        </div>
                    </div>
                </section>
            }
        })}
    }
}

/// Published entries of one collection as cards (nothing when empty);
/// with `href`, each card's title links to its page (`href/slug`).
#[component]
fn Cards(
    title: &'static str,
    testid: &'static str,
    items: Vec<PublishedContent>,
    #[prop(optional)] href: Option<&'static str>,
) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <section class="mx-auto max-w-6xl px-4 py-8" id=testid data-testid=testid>
                <h2 class="text-2xl font-bold">{title}</h2>
                <ul class="mt-4 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                    {items.into_iter().map(|c| {
                        let dates = dates(&c);
                        let extra = [field(&c, "reward"), field(&c, "period"), field(&c, "total")]
                            .into_iter()
                            .find(|s| !s.is_empty())
                            .map(str::to_owned);
                        view! {
                            <li class="rounded-xl bg-white p-5 shadow">
                                <h3 class="text-lg font-semibold">{match href {
                                    Some(base) => view! { <a class="text-indigo-700 hover:underline" href=format!("{base}/{}", c.slug)>{field(&c, "title").to_owned()}</a> }.into_any(),
                                    None => field(&c, "title").to_owned().into_any(),
                                }}</h3>
                                <div class="mt-2 text-sm text-slate-600" inner_html=field(&c, "summary").to_owned()></div>
                                <p class="mt-2 text-sm text-slate-500">
                                    {extra.map(|x| view! { <span class="font-medium text-slate-700">{x}" "</span> })}
                                    {dates}
                                </p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}

/// All live K-Quests.
#[component]
pub fn QuestsPage() -> impl IntoView {
    view! { <CollectionPage content_type=ContentType::KQuest title="K-Quests" testid="k-quests" href=crate::routes::QUESTS /> }
}

/// All live K-Drops.
#[component]
pub fn DropsPage() -> impl IntoView {
    view! { <CollectionPage content_type=ContentType::KDrop title="K-Drops" testid="k-drops" href=crate::routes::DROPS /> }
}

#[component]
fn CollectionPage(
    content_type: ContentType,
    title: &'static str,
    testid: &'static str,
    href: &'static str,
) -> impl IntoView {
    let locale = use_locale();
    let items = Resource::new(move || (content_type, locale()), |(t, l)| public_list(t, l));
    view! {
        <crate::components::PublicFrame>
            <Transition fallback=|| view! { <p class="px-4 py-16 text-center text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let items = items.await.unwrap_or_default();
                    if items.is_empty() {
                        view! {
                            <section class="mx-auto max-w-3xl px-4 py-16 text-center">
                                <h1 class="text-3xl font-bold">{title}</h1>
                                <p class="mt-4 text-slate-600">"Nothing is live right now. Come back soon."</p>
                            </section>
                        }.into_any()
                    } else {
                        view! {
                            <h1 class="sr-only">{title}</h1>
                            <Cards title testid items href />
                        }.into_any()
                    }
                })}
            </Transition>
        </crate::components::PublicFrame>
    }
}

/// All live leaderboards.
#[component]
pub fn LeaderboardsPage() -> impl IntoView {
    view! { <CollectionPage content_type=ContentType::Leaderboard title="Leaderboards" testid="leaderboards" href=crate::routes::LEADERBOARDS /> }
}

/// One leaderboard's ranking, a page at a time (`?page=`), with the rule,
/// the tie-break and the signed-in gamer's own line highlighted.
#[component]
pub fn LeaderboardPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let locale = use_locale();
    let board = Resource::new(
        move || {
            (
                params.with(|p| p.get("slug").unwrap_or_default()),
                query.with(|q| {
                    q.get("page")
                        .and_then(|p| p.parse::<u32>().ok())
                        .unwrap_or(1)
                }),
                locale(),
            )
        },
        |(slug, page, l)| crate::public::api::leaderboard(slug, page, l),
    );
    view! {
        <crate::components::PublicFrame>
            <Transition fallback=|| view! { <p class="px-4 py-16 text-center text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(Some(b)) => leaderboard_view(b).into_any(),
                        Ok(None) => view! {
                            <section class="mx-auto max-w-3xl px-4 py-16 text-center" data-testid="public-missing">
                                <h1 class="text-3xl font-bold">"Not found"</h1>
                                <p class="mt-4 text-slate-600">"This leaderboard isn't live (any more). "
                                    <a class="text-indigo-700 hover:underline" href=crate::routes::LEADERBOARDS>"All leaderboards"</a></p>
                            </section>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="px-4 py-16 text-center text-red-700">{e.message().to_owned()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </crate::components::PublicFrame>
    }
}

fn leaderboard_view(b: payquest_types::LeaderboardView) -> impl IntoView {
    let by_tokens = b.ranked_by == "tokens";
    let rule = if by_tokens {
        "Ranked by tokens earned."
    } else {
        "Ranked by points: one for each validated activity."
    };
    let when = match (&b.starts_at, &b.ends_at) {
        (Some(s), Some(e)) => format!("{} – {}", &s[..10.min(s.len())], &e[..10.min(e.len())]),
        (None, Some(e)) => format!("until {}", &e[..10.min(e.len())]),
        (Some(s), None) => format!("from {}", &s[..10.min(s.len())]),
        (None, None) => String::new(),
    };
    let status = if b.closed {
        "This period has ended: the ranking is final."
    } else {
        "Live: updated as activities are validated."
    };
    let row = move |l: &payquest_types::LeaderboardLine| {
        let class = if l.me {
            "bg-indigo-50 font-semibold"
        } else {
            "border-t border-slate-100"
        };
        view! {
            <tr class=class data-testid=if l.me { "leaderboard-me" } else { "leaderboard-line" }>
                <td class="px-3 py-2 tabular-nums">{l.rank}</td>
                <td class="px-3 py-2 font-mono">{l.wallet.clone()}{l.me.then(|| view! { <span class="ml-2 rounded bg-indigo-600 px-1.5 py-0.5 font-sans text-xs text-white">"you"</span> })}</td>
                <td class="px-3 py-2 text-right tabular-nums">{l.points}</td>
                <td class="px-3 py-2 text-right tabular-nums">{l.tokens.clone()}</td>
            </tr>
        }
    };
    let me = b.me.clone().filter(|_| !b.lines.iter().any(|l| l.me));
    let own =
        b.me.clone()
            .map(|m| format!("Your rank: {} of {}", m.rank, b.ranked));
    let page_link = |p: u32| format!("{}/{}?page={p}", crate::routes::LEADERBOARDS, b.slug);
    let prev = (b.page > 1).then(|| page_link(b.page - 1));
    let next = (b.page < b.pages).then(|| page_link(b.page + 1));
    view! {
        <section class="mx-auto max-w-3xl space-y-4 px-4 py-8" data-testid="leaderboard">
            <a class="text-sm text-indigo-700 hover:underline" href=crate::routes::LEADERBOARDS>"← All leaderboards"</a>
            <h1 class="text-3xl font-bold">{b.title.clone()}</h1>
            <p class="text-slate-600"><span class="font-medium text-slate-800">{b.period.clone()}</span>" · "{when}</p>
            <p class="text-sm text-slate-700" data-testid="leaderboard-status">{status}" "{rule}</p>
            <p class="text-sm text-slate-700" data-testid="leaderboard-tie-break">{b.tie_break.clone()}</p>
            {own.map(|o| view! { <p class="font-semibold text-indigo-800" data-testid="leaderboard-own-rank">{o}</p> })}
            {if b.lines.is_empty() {
                view! { <p class="text-slate-600">"Nobody has scored yet."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto rounded-xl bg-white shadow">
                        <table class="w-full text-sm">
                            <caption class="sr-only">{format!("{} ranking, page {} of {}", b.title, b.page, b.pages)}</caption>
                            <thead class="text-left text-slate-600">
                                <tr>
                                    <th scope="col" class="px-3 py-2">"Rank"</th>
                                    <th scope="col" class="px-3 py-2">"Wallet"</th>
                                    <th scope="col" class="px-3 py-2 text-right">"Points"</th>
                                    <th scope="col" class="px-3 py-2 text-right">"Tokens"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {b.lines.iter().map(row).collect_view()}
                                {me.as_ref().map(row)}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <nav class="flex items-center justify-between text-sm" aria-label="Ranking pages">
                {prev.map(|h| view! { <a class="text-indigo-700 hover:underline" href=h>"← Higher ranks"</a> })}
                <span class="text-slate-600">{format!("Page {} of {} · {} ranked", b.page, b.pages, b.ranked)}</span>
                {next.map(|h| view! { <a class="text-indigo-700 hover:underline" href=h>"Lower ranks →"</a> })}
            </nav>
        </section>
    }
}

/// One K-Quest.
#[component]
pub fn QuestPage() -> impl IntoView {
    view! { <EntryPage content_type=ContentType::KQuest back=crate::routes::QUESTS back_label="All K-Quests" /> }
}

/// One K-Drop.
#[component]
pub fn DropPage() -> impl IntoView {
    view! { <EntryPage content_type=ContentType::KDrop back=crate::routes::DROPS back_label="All K-Drops" /> }
}

#[component]
fn EntryPage(
    content_type: ContentType,
    back: &'static str,
    back_label: &'static str,
) -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let locale = use_locale();
    let entry = Resource::new(
        move || (params.with(|p| p.get("slug").unwrap_or_default()), locale()),
        move |(slug, l)| public_entry(content_type, slug, l),
    );
    view! {
        <crate::components::PublicFrame>
            <Transition fallback=|| view! { <p class="px-4 py-16 text-center text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entry.await.ok().flatten() {
                        Some(c) => {
                            let dates = dates(&c);
                            let reward = [field(&c, "reward"), field(&c, "total")]
                                .into_iter()
                                .find(|s| !s.is_empty())
                                .map(str::to_owned);
                            view! {
                                <article class="mx-auto max-w-3xl space-y-4 px-4 py-12" data-testid="public-entry">
                                    <a class="text-sm text-indigo-700 hover:underline" href=back>{format!("← {back_label}")}</a>
                                    <h1 class="text-3xl font-bold" data-testid="public-title">{field(&c, "title").to_owned()}</h1>
                                    <p class="text-slate-600">{reward.map(|r| view! { <span class="font-medium text-slate-800">{r}" · "</span> })}{dates}</p>
                                    <div class="text-slate-700" inner_html=field(&c, "summary").to_owned()></div>
                                </article>
                            }.into_any()
                        }
                        None => view! {
                            <section class="mx-auto max-w-3xl px-4 py-16 text-center" data-testid="public-missing">
                                <h1 class="text-3xl font-bold">"Not found"</h1>
                                <p class="mt-4 text-slate-600">"This isn't live (any more). "
                                    <a class="text-indigo-700 hover:underline" href=back>{back_label}</a></p>
                            </section>
                        }.into_any(),
                    }
                })}
            </Transition>
        </crate::components::PublicFrame>
    }
}

/// "My rewards": the signed-in gamer's activities with their validation
/// status and reason, each reward in words and, once paid, its transaction.
#[component]
pub fn MyRewardsPage() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let query = leptos_router::hooks::use_query_map();
    let before = move || {
        query.with(|q| {
            q.get("before")
                .and_then(|b| b.parse::<i64>().ok())
                .map(payquest_types::ActivityId)
        })
    };
    let rows = Resource::new(
        move || (reload.get(), before()),
        |(_, before)| crate::public::api::my_activities(before),
    );
    // A reward being paid moves by itself: the page follows it to "paid".
    crate::components::reload_while(rows, reload, |(items, _)| {
        items
            .iter()
            .any(|a| matches!(a.reward_state.as_deref(), Some("approved" | "paying")))
    });
    view! {
        <crate::components::PublicFrame>
            <section class="mx-auto max-w-6xl space-y-4 px-4 py-8" data-testid="my-rewards">
                <h1 class="text-2xl font-bold">"My rewards"</h1>
                <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match rows.await {
                            Err(e) if e.code() == payquest_types::ErrorCode::Unauthenticated => view! {
                                <p class="text-slate-700" data-testid="my-rewards-signed-out">
                                    "Sign in with your wallet (at the top of the page) to see your activities and rewards."
                                </p>
                            }.into_any(),
                            Err(e) => view! { <p role="alert" class="text-red-700">{e.message().to_owned()}</p> }.into_any(),
                            Ok((items, explorer)) => {
                                // A full page: there may be older ones.
                                let older = (items.len() == MY_ACTIVITIES_PAGE)
                                    .then(|| items.last().map(|a| format!("{}?before={}", crate::routes::MY_REWARDS, a.activity_id)))
                                    .flatten();
                                view! {
                                    {my_rewards_table(items, explorer)}
                                    {older.map(|h| view! { <a class="text-sm text-indigo-700 hover:underline" href=h>"Older activities →"</a> })}
                                    <MyProfile />
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        </crate::components::PublicFrame>
    }
}

/// Activities on one page of My rewards (the domain's `MY_ACTIVITIES_PAGE`).
const MY_ACTIVITIES_PAGE: usize = 100;

/// The gamer's linked accounts (with forms to link or unlink them) and the
/// running quests: completed, open or repeatable.
#[component]
fn MyProfile() -> impl IntoView {
    use crate::components::{Column, DataTable, ErrorBanner, BUTTON, BUTTON_QUIET, INPUT};
    use crate::public::api::{LinkAccount, UnlinkAccount};
    let link = ServerAction::<LinkAccount>::new();
    let unlink = ServerAction::<UnlinkAccount>::new();
    let profile = Resource::new(
        move || (link.version().get(), unlink.version().get()),
        |_| crate::public::api::my_profile(),
    );
    let error = Signal::derive(move || {
        link.value()
            .get()
            .and_then(Result::err)
            .or_else(|| unlink.value().get().and_then(Result::err))
    });
    let done = move || {
        link.value()
            .get()
            .and_then(Result::ok)
            .or_else(|| unlink.value().get().and_then(Result::ok))
    };
    view! {
        <section class="space-y-3" data-testid="my-accounts">
            <h2 class="text-xl font-semibold">"Your accounts"</h2>
            <p class="text-sm text-slate-600">"Accounts seen with your wallet on reports, and those you link here. When a game or social network reports an activity without naming your account, quests check the one you linked last. An account can't be linked to two wallets."</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    use payquest_types::LinkedAccountView as L;
                    let accounts = profile.await.map(|p| p.accounts).unwrap_or_default();
                    let columns = vec![
                        Column::new("Kind", |a: &L| crate::public::api::account_label(&a.kind).into_any()),
                        Column::new("Account", |a: &L| view! { <span class="font-mono">{a.account.clone()}</span> }.into_any()),
                        Column::new("Linked", |a: &L| a.linked_at.clone().into_any()),
                        Column::new("", move |a: &L| {
                            let (kind, account) = (a.kind.clone(), a.account.clone());
                            let label = format!("Unlink {}", a.account);
                            view! {
                                <button class=BUTTON_QUIET type="button" aria-label=label
                                    on:click=move |_| { unlink.dispatch(UnlinkAccount { kind: kind.clone(), account: account.clone() }); }>
                                    "Unlink"
                                </button>
                            }.into_any()
                        }),
                    ];
                    view! { <DataTable rows=accounts columns empty="No accounts linked yet." testid="linked-accounts" /> }
                })}
            </Transition>
            <ActionForm action=link attr:class="flex flex-wrap items-end gap-3 rounded-xl bg-white p-4 shadow">
                <label class="block text-sm font-medium">"Kind"
                    <select class=INPUT name="kind">
                        <option value="game">"Game account (player id)"</option>
                        <option value="social">"Social handle"</option>
                    </select>
                </label>
                <label class="block grow text-sm font-medium">"Account"
                    <input class=INPUT name="account" required maxlength="128" placeholder="player-1234 or @handle" />
                </label>
                <button class=BUTTON type="submit">"Link account"</button>
            </ActionForm>
            {move || done().map(|m| view! { <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="account-message">{m}</p> })}
            <ErrorBanner error=error />
        </section>
        <section class="space-y-3">
            <h2 class="text-xl font-semibold">"Quests"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    use payquest_types::GamerQuestView as Q;
                    let quests = profile.await.map(|p| p.quests).unwrap_or_default();
                    let columns = vec![
                        Column::new("Quest", |q: &Q| view! { <span>{q.quest.clone()}<span class="block text-xs text-slate-500">{q.campaign.clone()}</span></span> }.into_any()),
                        Column::new("Reward", |q: &Q| format!("{} tokens", q.reward).into_any()),
                        Column::new("You", |q: &Q| {
                            let words = match q.state.as_str() {
                                "completed" => "completed".to_owned(),
                                "repeatable" if q.completions == 1 => "done once; can be earned again".to_owned(),
                                "repeatable" => format!("done {} times; can be earned again", q.completions),
                                _ => "open".to_owned(),
                            };
                            view! { <span data-testid="quest-state">{words}</span> }.into_any()
                        }),
                    ];
                    view! { <DataTable rows=quests columns empty="No quests are running right now." testid="my-quests" /> }
                })}
            </Transition>
        </section>
    }
}

fn my_rewards_table(
    items: Vec<payquest_types::GamerActivityView>,
    explorer: Option<String>,
) -> impl IntoView {
    use crate::components::{Column, DataTable};
    use payquest_types::GamerActivityView as A;
    let tx = move |a: &A| match (&a.tx_hash, &explorer) {
        (Some(h), Some(url)) => {
            let short = format!(
                "{}…{}",
                &h[..h.len().min(10)],
                &h[h.len().saturating_sub(6)..]
            );
            view! { <a class="font-mono text-indigo-700 underline" href=url.replace("{hash}", h) rel="noopener">{short}</a> }.into_any()
        }
        (Some(h), None) => {
            view! { <span class="font-mono text-xs break-all">{h.clone()}</span> }.into_any()
        }
        _ => "".into_any(),
    };
    let columns = vec![
        Column::new("Quest", |a: &A| {
            view! { <span>{a.quest.clone()}<span class="block text-xs text-slate-500">{a.campaign.clone()}</span></span> }.into_any()
        }),
        Column::new("Reported", |a: &A| a.reported_at.clone().into_any()),
        Column::new("Check", |a: &A| {
            let reason = a.reason.clone();
            view! { <span>{a.status.replace('_', " ")}{reason.map(|r| view! { <span class="block text-xs text-slate-600">{r}</span> })}</span> }.into_any()
        }),
        Column::new("Reward", |a: &A| {
            a.reward
                .clone()
                .map(|r| format!("{r} tokens"))
                .unwrap_or_default()
                .into_any()
        }),
        Column::new("Payment", |a: &A| {
            let when = a.expected_payment.clone().or_else(|| a.paid_after.clone());
            view! {
                <span>
                    <span data-testid="reward-state">{a.reward_state.clone().unwrap_or_default()}</span>
                    {when.map(|w| view! { <span class="block text-xs text-slate-600" data-testid="payment-time">{w}</span> })}
                </span>
            }
            .into_any()
        }),
        Column::new("Transaction", tx),
    ];
    view! { <DataTable rows=items columns empty="No activities reported for this wallet yet." testid="my-activities" /> }
}
