//! Staff administration (admins): list, create with a one-time password,
//! change roles, disable, and decide role changes another admin asked for
//! (privileged roles need two admins). The server refuses all of it to anyone else.

use leptos::prelude::*;
use payquest_types::{Page, Role, RoleRequest, StaffUserId, UserSummary};

use crate::components::{Dashboard, ErrorBanner, Loaded, BUTTON, BUTTON_QUIET, INPUT};
use crate::users::api::{
    list_role_requests, list_users, CreateUser, DecideRoleRequest, SetUserDisabled, SetUserRoles,
};

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Dashboard>
            <Users />
        </Dashboard>
    }
}

#[component]
fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_roles = ServerAction::<SetUserRoles>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let decide = ServerAction::<DecideRoleRequest>::new();
    let after_id = RwSignal::new(None::<StaffUserId>);
    let requests = Resource::new(
        move || {
            (
                create.version().get(),
                set_roles.version().get(),
                decide.version().get(),
            )
        },
        |_| list_role_requests(),
    );
    let users = Resource::new(
        move || {
            (
                after_id.get(),
                create.version().get(),
                set_roles.version().get(),
                set_disabled.version().get(),
                decide.version().get(),
            )
        },
        |(after, ..)| list_users(after),
    );
    let row_error = Signal::derive(move || {
        set_roles
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| set_disabled.value().get().and_then(Result::err))
            .or_else(|| decide.value().get().and_then(Result::err))
    });
    let saved = move || {
        set_roles
            .value()
            .get()
            .and_then(Result::ok)
            .map(|c| match c.waiting_for_approval {
                Some(r) => format!(
                    "Saved. {} now holds {}; {} waits for another admin's approval.",
                    c.user.email,
                    role_list(&c.user.roles),
                    role_list(&r.roles)
                ),
                None => format!(
                    "Saved. {} now holds {}.",
                    c.user.email,
                    role_list(&c.user.roles)
                ),
            })
    };
    let decided = move || {
        decide.value().get().and_then(Result::ok).map(|c| {
            format!(
                "Done. {} now holds {}.",
                c.user.email,
                role_list(&c.user.roles)
            )
        })
    };
    view! {
        <div class="space-y-8">
            <h1 class="text-2xl font-bold">"Users"</h1>
            <CreateUserForm create=create />
            <RoleRequests requests decide />
            <ErrorBanner error=row_error />
            {move || saved().or_else(decided).map(|m| view! {
                <p class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" role="status" data-testid="roles-saved">{m}</p>
            })}
            <Loaded resource=users view={move |page: Page<UserSummary>| {
                let last = page.items.last().map(|u| u.user_id);
                let has_more = page.has_more;
                view! {
                    // Scrolls sideways on a phone instead of widening the page.
                    <div class="overflow-x-auto rounded-xl shadow" tabindex="0">
                    <table class="min-w-full divide-y divide-slate-200 bg-white text-sm" data-testid="users-table">
                        <thead class="bg-slate-100 text-left">
                            <tr>
                                <th class="px-4 py-2">"Email"</th>
                                <th class="px-4 py-2">"Name"</th>
                                <th class="px-4 py-2">"Roles"</th>
                                <th class="px-4 py-2">"2-step"</th>
                                <th class="px-4 py-2">"Status"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {page.items.into_iter().map(|u| view! { <UserRow user=u set_roles set_disabled /> }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                    <div class="flex gap-2">
                        <Show when=move || after_id.get().is_some()>
                            <button class=BUTTON_QUIET on:click=move |_| after_id.set(None)>"First page"</button>
                        </Show>
                        <Show when=move || has_more>
                            <button class=BUTTON_QUIET on:click=move |_| after_id.set(last)>"Next page"</button>
                        </Show>
                    </div>
                }
            }} />
        </div>
    }
}

fn role_list(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "no roles".into();
    }
    roles
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Role changes that wait for a second admin. The asker and the person see
/// them but can't decide them.
#[component]
fn RoleRequests(
    requests: Resource<Result<Vec<RoleRequest>, crate::error::AppError>>,
    decide: ServerAction<DecideRoleRequest>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match requests.await {
                    Ok(list) if list.is_empty() => ().into_any(),
                    Ok(list) => view! {
                        <section class="space-y-2 rounded-xl bg-white p-6 shadow" data-testid="role-requests">
                            <h2 class="text-lg font-semibold">"Waiting for a second admin"</h2>
                            <p class="text-sm text-slate-600">"Admin, maker, checker and finance are granted by two admins: one asks, another approves. Nobody decides a change they asked for or one for themselves."</p>
                            <ul class="divide-y divide-slate-100">
                                {list.into_iter().map(|r| {
                                    let id = r.request_id;
                                    view! {
                                        <li class="flex flex-wrap items-center gap-3 py-2 text-sm" data-email=r.email.clone()>
                                            <span><strong>{r.email.clone()}</strong> " to hold " {role_list(&r.roles)}
                                                " (asked by " {r.requested_by.clone()} ", " {r.requested_at.clone()} ")"</span>
                                            {if r.can_decide {
                                                view! {
                                                    <button class=BUTTON_QUIET disabled=move || decide.pending().get()
                                                        on:click=move |_| { decide.dispatch(DecideRoleRequest { request_id: id, approve: true }); }>"Approve"</button>
                                                    <button class=BUTTON_QUIET disabled=move || decide.pending().get()
                                                        on:click=move |_| { decide.dispatch(DecideRoleRequest { request_id: id, approve: false }); }>"Reject"</button>
                                                }.into_any()
                                            } else {
                                                view! { <span class="text-slate-500">"another admin decides"</span> }.into_any()
                                            }}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    // The users list below says why (e.g. forbidden) once.
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
    }
}

/// Checkboxes for a set of roles.
#[component]
fn RolePicker(selected: RwSignal<Vec<Role>>, #[prop(into)] name: String) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|role| {
            let toggle = move |_| {
                selected.update(|s| {
                    if let Some(i) = s.iter().position(|r| *r == role) {
                        s.remove(i);
                    } else {
                        s.push(role);
                    }
                })
            };
            view! {
                <label class="mr-3 inline-flex items-center gap-1 text-sm">
                    <input type="checkbox" name=name.clone() value=role.as_str()
                        prop:checked=move || selected.get().contains(&role) on:change=toggle />
                    {role.label()}
                </label>
            }
        })
        .collect_view()
}

#[component]
fn CreateUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let roles = RwSignal::new(Vec::<Role>::new());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let created = move || create.value().get().and_then(Result::ok);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateUser {
            email: email.get_untracked(),
            display_name: name.get_untracked(),
            roles: roles.get_untracked(),
        });
    };
    view! {
        <form class="space-y-4 rounded-xl bg-white p-6 shadow" on:submit=submit data-testid="create-user">
            <h2 class="text-lg font-semibold">"Add a colleague"</h2>
            <div class="grid gap-4 sm:grid-cols-2">
                <label class="block text-sm font-medium">"Email"
                    <input class=INPUT type="email" name="email" required maxlength="254"
                        prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) />
                </label>
                <label class="block text-sm font-medium">"Name"
                    <input class=INPUT name="display_name" required maxlength="100"
                        prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
            </div>
            <fieldset>
                <legend class="text-sm font-medium">"Roles"</legend>
                <RolePicker selected=roles name="new-role" />
            </fieldset>
            <ErrorBanner error=error />
            <button class=BUTTON type="submit" disabled=move || create.pending().get()>"Create account"</button>
            {move || created().map(|c| view! {
                <p class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" role="status">
                    "Account created for " {c.user.email.clone()} ". Give them this one-time password (shown once): "
                    <code class="font-mono font-semibold" data-testid="one-time-password">{c.one_time_password.clone()}</code>
                    {c.waiting_for_approval.as_ref().map(|r| format!(
                        ". {} waits for another admin's approval.", role_list(&r.roles)
                    ))}
                </p>
            })}
        </form>
    }
}

#[component]
fn UserRow(
    user: UserSummary,
    set_roles: ServerAction<SetUserRoles>,
    set_disabled: ServerAction<SetUserDisabled>,
) -> impl IntoView {
    let roles = RwSignal::new(user.roles.clone());
    let user_id = user.user_id;
    let disabled = user.disabled;
    view! {
        <tr data-email=user.email.clone()>
            <td class="px-4 py-2 font-medium">{user.email.clone()}</td>
            <td class="px-4 py-2">{user.display_name.clone()}</td>
            <td class="px-4 py-2">
                <RolePicker selected=roles name=format!("roles-{user_id}") />
                <button class=BUTTON_QUIET on:click=move |_| {
                    set_roles.dispatch(SetUserRoles { user_id, roles: roles.get_untracked() });
                }>"Save roles"</button>
            </td>
            <td class="px-4 py-2">{if user.mfa_enrolled { "on" } else { "not yet" }}</td>
            <td class="px-4 py-2">
                <span class="mr-2">{if disabled { "disabled" } else { "active" }}</span>
                <button class=BUTTON_QUIET on:click=move |_| {
                    set_disabled.dispatch(SetUserDisabled { user_id, disabled: !disabled });
                }>{if disabled { "Enable" } else { "Disable" }}</button>
            </td>
        </tr>
    }
}
