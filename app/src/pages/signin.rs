//! Sign-in, as the AWS console offers it: the root user by email, or an IAM user by account (id
//! or alias) and user name. Every failure says the same thing.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{
    CancelSignIn, SignIn, SignInMfa, SignInNewPassword, finish_key_sign_in, pending_sign_in, start_key_sign_in,
};
use crate::pages::password::NewPasswordFields;
use crate::pages::{ErrorAlert, action_error};

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let action = ServerAction::<SignIn>::new();
    let initial_account = query.with_untracked(|q| q.get("account").unwrap_or_default());
    let initial_kind = if initial_account.is_empty() { "root" } else { "iam" };
    let kind = RwSignal::new(initial_kind);
    let just_set_up = query.with_untracked(|q| q.get("setup").is_some_and(|v| v == "done"));
    let return_to = query.with_untracked(|q| q.get("return_to").unwrap_or_default());
    let pending = action.pending();

    view! {
        <Title text="Sign in" />
        <main class="standalone">
            <div class="card narrow signin">
                <h1>"Sign in"</h1>
                {just_set_up.then(|| view! {
                    <div class="alert success" role="status">"Your account is ready. Sign in as the root user."</div>
                })}
                {action_error(action.value())}
                <ActionForm action=action>
                    <fieldset class="choice">
                        <legend>"Sign in as"</legend>
                        <label>
                            <input type="radio" name="kind" value="root"
                                checked=initial_kind == "root"
                                on:change=move |_| kind.set("root") />
                            " Root user"
                            <small>"Account owner that performs tasks requiring unrestricted access."</small>
                        </label>
                        <label>
                            <input type="radio" name="kind" value="iam"
                                checked=initial_kind == "iam"
                                on:change=move |_| kind.set("iam") />
                            " IAM user"
                            <small>"User within an account that performs daily tasks."</small>
                        </label>
                    </fieldset>
                    <div class="field" class:hidden=move || kind.get() != "root">
                        <label for="email">"Root user email address"</label>
                        <input id="email" name="email" type="email" autocomplete="username" />
                    </div>
                    <div class="field" class:hidden=move || kind.get() != "iam">
                        <label for="account">"Account ID (12 digits) or account alias"</label>
                        <input id="account" name="account" type="text" autocomplete="organization" value=initial_account />
                    </div>
                    <div class="field" class:hidden=move || kind.get() != "iam">
                        <label for="user_name">"IAM user name"</label>
                        <input id="user_name" name="user_name" type="text" autocomplete="username" />
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" required />
                    </div>
                    <input type="hidden" name="return_to" value=return_to />
                    <button type="submit" class="button primary wide" disabled=move || pending.get()>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}

/// Where a sign-in stands when its step page cannot go on: expired, or at another step.
fn elsewhere(stage: Option<String>) -> AnyView {
    match stage.as_deref() {
        Some("mfa") => view! { <p><a href="/signin/mfa">"Continue to multi-factor authentication"</a></p> }.into_any(),
        Some("change_password") => {
            view! { <p><a href="/signin/change-password">"Continue to set a new password"</a></p> }.into_any()
        }
        _ => view! {
            <div class="alert error" role="alert">"This sign-in has expired or was not started."</div>
            <a class="button primary wide" href="/signin">"Sign in again"</a>
        }
        .into_any(),
    }
}

/// The second step when the principal has MFA: a code from its authenticator.
#[component]
pub fn MfaStepPage() -> impl IntoView {
    let pending = Resource::new(|| (), |_| pending_sign_in());
    let action = ServerAction::<SignInMfa>::new();
    let cancel = ServerAction::<CancelSignIn>::new();
    let pending_submit = action.pending();
    // Taken here, not in the suspended view: that may be resolved after the action is gone.
    let outcome = action.value();
    view! {
        <Title text="Multi-factor authentication" />
        <main class="standalone">
            <div class="card narrow signin">
                <h1>"Multi-factor authentication"</h1>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match pending.await {
                            Ok(Some(p)) if p.stage == "mfa" => view! {
                                <p>"Signing in as " <strong>{p.who.clone()}</strong></p>
                                {p.has_totp.then(|| view! {
                                    <p class="help">"Enter the code shown by your authenticator app or MFA device."</p>
                                    {action_error(outcome)}
                                    <ActionForm action=action>
                                        <div class="field">
                                            <label for="code">"MFA code"</label>
                                            <input id="code" name="code" type="text" inputmode="numeric"
                                                autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required />
                                        </div>
                                        <button type="submit" class="button primary wide" disabled=move || pending_submit.try_get().unwrap_or(false)>
                                            "Submit"
                                        </button>
                                    </ActionForm>
                                })}
                                {(!p.security_keys.is_empty()).then(|| view! { <SecurityKeyChoice keys=p.security_keys.clone() /> })}
                                <ActionForm action=cancel>
                                    <button type="submit" class="button link">"Cancel and sign in again"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            Ok(other) => elsewhere(other.map(|p| p.stage)),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </main>
    }
}

/// The principal's security keys and passkeys, one button each: the chosen one is asked to sign.
#[component]
fn SecurityKeyChoice(keys: Vec<(String, String)>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let use_key = move |serial: String| {
        busy.try_set(true);
        error.try_set(None);
        leptos::task::spawn_local(async move {
            let outcome = async {
                let options = start_key_sign_in(serial).await.map_err(|e| e.message)?;
                let answer = crate::webauthn::ceremony(&options, false).await?;
                finish_key_sign_in(answer).await.map_err(|e| e.message)
            }
            .await;
            if let Err(message) = outcome {
                error.try_set(Some(message));
            }
            busy.try_set(false);
        });
    };
    view! {
        <p class="help">"Or use one of your security keys or passkeys:"</p>
        {move || error.try_get().flatten().map(|message| view! {
            <div class="alert error" role="alert"><span>{message}</span></div>
        })}
        <ul class="links">
            {keys.into_iter().map(|(serial, name)| {
                view! {
                    <li>
                        <button type="button" class="button wide" disabled=move || busy.try_get().unwrap_or(false)
                            on:click=move |_| use_key(serial.clone())>
                            {format!("Use {name}")}
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The last step when the password must change: after an administrator's reset, or on expiry.
#[component]
pub fn NewPasswordStepPage() -> impl IntoView {
    let pending = Resource::new(|| (), |_| pending_sign_in());
    let action = ServerAction::<SignInNewPassword>::new();
    let cancel = ServerAction::<CancelSignIn>::new();
    // Taken here, not in the suspended view: that may be resolved after the action is gone.
    let outcome = action.value();
    view! {
        <Title text="Set a new password" />
        <main class="standalone">
            <div class="card narrow signin">
                <h1>"Set a new password"</h1>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match pending.await {
                            Ok(Some(p)) if p.stage == "change_password" => view! {
                                <p>"Signing in as " <strong>{p.who.clone()}</strong></p>
                                <div class="alert warning" role="status">
                                    {if p.reason == "expired" {
                                        "Your password has expired. Choose a new one to continue."
                                    } else {
                                        "An administrator requires you to set a new password before you continue."
                                    }}
                                </div>
                                {action_error(outcome)}
                                <ActionForm action=action>
                                    <div class="field">
                                        <label for="old_password">"Old password"</label>
                                        <input id="old_password" name="old_password" type="password"
                                            autocomplete="current-password" required />
                                    </div>
                                    <NewPasswordFields requirements=p.requirements.clone() />
                                    <button type="submit" class="button primary wide">"Set new password"</button>
                                </ActionForm>
                                <ActionForm action=cancel>
                                    <button type="submit" class="button link">"Cancel and sign in again"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            Ok(other) => elsewhere(other.map(|p| p.stage)),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </main>
    }
}
