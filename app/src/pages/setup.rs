//! First-run setup: the one-time link printed by the server creates the first account, as AWS
//! sign-up does (an account alias, the root user's email and password).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{CompleteSetup, SetupLink, setup_state};
use crate::pages::{ErrorAlert, action_error};

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("token").unwrap_or_default());
    let state = Resource::new(move || token.clone(), setup_state);
    view! {
        <Title text="Set up Portcullis" />
        <main class="standalone">
            <div class="card narrow">
                <h1>"Set up Portcullis"</h1>
                <Suspense fallback=|| view! { <p>"Checking the setup link…"</p> }>
                    {move || Suspend::new(async move {
                        match state.await {
                            Ok(SetupLink::Open) => view! { <SetupForm token=query.with_untracked(|q| q.get("token").unwrap_or_default()) /> }.into_any(),
                            Ok(SetupLink::InvalidLink) | Ok(SetupLink::AlreadySetUp) => view! {
                                <div class="alert error" role="alert" data-code="InvalidSetupLink">
                                    <strong>"Link not valid"</strong>
                                    <span>"This setup link is no longer valid."</span>
                                </div>
                                <p><a href="/signin">"Go to sign-in"</a></p>
                            }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}

#[component]
fn SetupForm(token: String) -> impl IntoView {
    let action = ServerAction::<CompleteSetup>::new();
    let pending = action.pending();
    view! {
        <p>"Create the first account. Its root user has unrestricted access; use it to create IAM users for daily work."</p>
        {action_error(action.value())}
        <ActionForm action=action>
            <input type="hidden" name="token" value=token />
            <div class="field">
                <label for="account_alias">"Account alias"</label>
                <input id="account_alias" name="account_alias" type="text" required minlength="3" maxlength="63" />
                <small>"3-63 lower-case letters, digits and hyphens. IAM users sign in with it."</small>
            </div>
            <div class="field">
                <label for="email">"Root user email address"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
            </div>
            <div class="field">
                <label for="password">"Root user password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="128" />
                <small>"8-128 characters, with at least three of: upper-case letters, lower-case letters, numbers, symbols."</small>
            </div>
            <div class="field">
                <label for="confirm_password">"Confirm password"</label>
                <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required />
            </div>
            <button type="submit" class="button primary wide" disabled=move || pending.get()>"Create account"</button>
        </ActionForm>
    }
}
