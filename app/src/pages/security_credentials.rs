//! "My security credentials", as the AWS console's page of that name: the signed-in principal's
//! console password, its MFA devices, and its console sessions. Each section loads on its own, so
//! that a user allowed only to set up MFA still sees that section.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{ChangeMyPassword, EndMySession, SessionView, my_password, my_sessions};
use crate::pages::access_keys::{AccessKeysPanel, access_key_notice};
use crate::pages::layout::Breadcrumbs;
use crate::pages::mfa_devices::{MfaDevicesPanel, mfa_notice};
use crate::pages::password::NewPasswordFields;
use crate::pages::{ErrorAlert, action_error};

#[component]
pub fn SecurityCredentialsPage() -> impl IntoView {
    let query = use_query_map();
    // After a change the server sends the page here again with `done` and a fresh `at`: reload.
    let done = move || query.try_with(|q| q.get("done")).flatten();
    let at = Signal::derive(move || query.try_with(|q| q.get("at")).flatten());
    let notice = move || match done().as_deref() {
        Some("password") => Some("Your password has been changed. Your other console sessions have ended."),
        Some("session") => Some("The session has ended."),
        Some(other) => mfa_notice(other, true).or_else(|| access_key_notice(other)),
        None => None,
    };
    view! {
        <Title text="My security credentials" />
        <Breadcrumbs trail=vec![("My security credentials".to_owned(), None)] />
        <h1>"My security credentials"</h1>
        {move || notice().map(|n| view! { <div class="alert success" role="status">{n}</div> })}
        <PasswordSection at />
        <MfaDevicesPanel user=None at />
        <AccessKeysPanel user=None at />
        <SessionsSection at />
    }
}

#[component]
fn PasswordSection(at: Signal<Option<String>>) -> impl IntoView {
    let facts = Resource::new(move || at.try_get().flatten(), |_| my_password());
    let change = ServerAction::<ChangeMyPassword>::new();
    // Taken here, not in the suspended view: that may be resolved after the action is gone.
    let outcome = change.value();
    view! {
        <section class="panel" aria-labelledby="password-heading">
            <h2 id="password-heading">"Console password"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match facts.await {
                        Ok(f) => view! {
                            {f.expires.clone().map(|at| view! { <p>"Your password expires at " <time>{at}</time> "."</p> })}
                            <details class="form-panel">
                                <summary class="button">"Change password"</summary>
                                {action_error(outcome)}
                                <ActionForm action=change>
                                    <div class="field">
                                        <label for="current_password">"Current password"</label>
                                        <input id="current_password" name="current_password" type="password"
                                            autocomplete="current-password" required />
                                    </div>
                                    <NewPasswordFields requirements=f.requirements.clone() />
                                    <button type="submit" class="button primary">"Change password"</button>
                                </ActionForm>
                            </details>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SessionsSection(at: Signal<Option<String>>) -> impl IntoView {
    let sessions = Resource::new(move || at.try_get().flatten(), |_| my_sessions());
    view! {
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Console sessions"</h2>
            <p class="help">"Where you are signed in to the console. End a session you do not recognize, then change your password."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! { <SessionsTable sessions=list /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SessionsTable(sessions: Vec<SessionView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Signed in"</th>
                        <th scope="col">"Last active"</th>
                        <th scope="col">"MFA"</th>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Browser"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {sessions.into_iter().map(|s| view! { <SessionRow session=s /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn SessionRow(session: SessionView) -> impl IntoView {
    let end = ServerAction::<EndMySession>::new();
    let label = if session.current { "Sign out of this session" } else { "End session" };
    view! {
        <tr>
            <td>{session.started.clone()}{session.current.then(|| view! { <strong>" (this session)"</strong> })}</td>
            <td>{session.last_active.clone()}</td>
            <td>{if session.mfa { "Yes" } else { "No" }}</td>
            <td class="mono">{session.source_ip.clone()}</td>
            <td class="ua">{session.user_agent.clone()}</td>
            <td>
                {action_error(end.value())}
                <ActionForm action=end>
                    <input type="hidden" name="session_ref" value=session.session_ref.clone() />
                    <button type="submit" class="button">{label}</button>
                </ActionForm>
            </td>
        </tr>
    }
}
