//! Sign-in, as the AWS console offers it: the root user by email, or an IAM user by account (id
//! or alias) and user name. Every failure says the same thing.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::SignIn;
use crate::pages::action_error;

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
