//! The sign-in steps: password, then (once) a new password, then enrolment of
//! an authenticator, or the code from an enrolled one. Each step's server
//! function answers with the next page's path.

use leptos::prelude::*;
use payquest_types::SessionStage;

use crate::components::{
    data_url, go_to, AuthCard, ErrorBanner, RedirectIfStage, BUTTON, BUTTON_QUIET, INPUT,
};
use crate::error::AppError;
use crate::routes;
use crate::session::api::{begin_enrolment, ChangePassword, ConfirmEnrolment, SignIn, VerifyCode};

/// Follows a step's answer to the next page; exposes its error for the banner.
fn follow<A>(action: ServerAction<A>) -> Signal<Option<AppError>>
where
    A: leptos::server_fn::ServerFn<Output = String, Error = AppError>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Output: Send + Sync,
{
    Effect::new(move |_| {
        if let Some(Ok(path)) = action.value().get() {
            go_to(&path);
        }
    });
    Signal::derive(move || action.value().get().and_then(Result::err))
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = follow(action);
    view! {
        <RedirectIfStage expect=None>
            <AuthCard title="Sign in">
                <ActionForm action=action attr:class="space-y-4">
                    <label class="block text-sm font-medium">"Email"
                        <input class=INPUT type="email" name="email" autocomplete="username" required maxlength="254" />
                    </label>
                    <label class="block text-sm font-medium">"Password"
                        <input class=INPUT type="password" name="password" autocomplete="current-password" required maxlength="128" />
                    </label>
                    <ErrorBanner error=error />
                    <button class=BUTTON type="submit" disabled=move || action.pending().get()>"Sign in"</button>
                </ActionForm>
            </AuthCard>
        </RedirectIfStage>
    }
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let action = ServerAction::<VerifyCode>::new();
    let error = follow(action);
    view! {
        <RedirectIfStage expect=Some(SessionStage::SecondFactor)>
            <AuthCard title="Two-step verification">
                <p class="text-sm text-slate-600">
                    "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
                </p>
                <ActionForm action=action attr:class="space-y-4">
                    <label class="block text-sm font-medium">"Code"
                        <input class=INPUT name="code" autocomplete="one-time-code" required maxlength="32" />
                    </label>
                    <ErrorBanner error=error />
                    <button class=BUTTON type="submit" disabled=move || action.pending().get()>"Verify"</button>
                </ActionForm>
                <a class="block text-sm text-slate-500 hover:underline" href=routes::SIGN_IN>"Use another account"</a>
            </AuthCard>
        </RedirectIfStage>
    }
}

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = follow(action);
    view! {
        <RedirectIfStage expect=Some(SessionStage::ChangePassword)>
            <AuthCard title="Choose your password">
                <p class="text-sm text-slate-600">
                    "You signed in with a one-time password. Choose your own: at least 12 characters."
                </p>
                <ActionForm action=action attr:class="space-y-4">
                    <label class="block text-sm font-medium">"New password"
                        <input class=INPUT type="password" name="password" autocomplete="new-password" required minlength="12" maxlength="128" />
                    </label>
                    <label class="block text-sm font-medium">"Repeat it"
                        <input class=INPUT type="password" name="confirm" autocomplete="new-password" required minlength="12" maxlength="128" />
                    </label>
                    <ErrorBanner error=error />
                    <button class=BUTTON type="submit" disabled=move || action.pending().get()>"Save password"</button>
                </ActionForm>
            </AuthCard>
        </RedirectIfStage>
    }
}

#[component]
pub fn EnrolPage() -> impl IntoView {
    view! {
        <RedirectIfStage expect=Some(SessionStage::EnrolMfa)>
            <AuthCard title="Set up two-step verification">
                <Enrolment />
            </AuthCard>
        </RedirectIfStage>
    }
}

#[component]
fn Enrolment() -> impl IntoView {
    let enrolment = Resource::new(|| (), |_| begin_enrolment());
    let confirm = ServerAction::<ConfirmEnrolment>::new();
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    let codes = move || confirm.value().get().and_then(Result::ok);
    view! {
        <Show when=move || codes().is_none() fallback=move || view! { <RecoveryCodes codes=codes().unwrap_or_default() /> }>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Preparing…"</p> }>
                {move || Suspend::new(async move {
                    match enrolment.await {
                        Ok(e) => view! {
                            <div class="space-y-4">
                                <p class="text-sm text-slate-600">
                                    "Scan this code with an authenticator app (Google Authenticator, 1Password, Aegis…), then enter the 6-digit code it shows."
                                </p>
                                <div class="mx-auto w-52" inner_html=e.qr_svg.clone() role="img" aria-label="QR code for the authenticator app"></div>
                                <p class="text-sm">"Or type this key: "
                                    <code class="break-all rounded bg-slate-100 px-1 font-mono" data-testid="totp-secret">{e.secret_base32.clone()}</code>
                                </p>
                                <ActionForm action=confirm attr:class="space-y-4">
                                    <label class="block text-sm font-medium">"Code"
                                        <input class=INPUT name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="32" />
                                    </label>
                                    <ErrorBanner error=error />
                                    <button class=BUTTON type="submit" disabled=move || confirm.pending().get()>"Confirm"</button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Err(e) => crate::components::load_error(e),
                    }
                })}
            </Suspense>
        </Show>
    }
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let text = format!(
        "PayQuest recovery codes (each works once)\n{}\n",
        codes.join("\n")
    );
    view! {
        <div class="space-y-4" data-testid="recovery-codes">
            <p class="text-sm text-slate-600">
                "Two-step verification is on. Keep these recovery codes somewhere safe: each one signs you in once if you lose your phone. They are not shown again."
            </p>
            <ul class="grid grid-cols-2 gap-2 font-mono text-sm">
                {codes.iter().map(|c| view! { <li class="rounded bg-slate-100 px-2 py-1">{c.clone()}</li> }).collect_view()}
            </ul>
            <label class="block text-sm font-medium">"All codes, to copy"
                <textarea class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-sm" readonly rows="3" data-testid="recovery-text">{text.clone()}</textarea>
            </label>
            <div class="flex flex-wrap gap-3">
                <a class=BUTTON_QUIET download="payquest-recovery-codes.txt" data-testid="recovery-download"
                    href=data_url("text/plain", &text)>"Download the codes"</a>
                <a class=BUTTON href=routes::HOME>"Continue to the dashboard"</a>
            </div>
        </div>
    }
}
