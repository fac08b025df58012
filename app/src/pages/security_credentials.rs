//! "My security credentials", as the AWS console's page of that name: the signed-in principal's
//! console password, its MFA devices, and its console sessions. Each section loads on its own, so
//! that a user allowed only to set up MFA still sees that section.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{
    ChangeMyPassword, CreateMyVirtualMfa, EnableMyVirtualMfa, EndMySession, MfaDeviceView, RemoveMyMfaDevice,
    ResyncMyMfa, SessionView, finish_key_registration, my_mfa_devices, my_password, my_sessions,
    start_key_registration,
};
use crate::pages::layout::Breadcrumbs;
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
        Some("mfa") => Some("The MFA device is assigned. You will be asked for a code at your next sign-in."),
        Some("mfa-removed") => Some("The MFA device has been removed."),
        Some("mfa-resynced") => Some("The MFA device is resynchronized."),
        Some("key") => Some("The security key is registered. You can use it at your next sign-in."),
        Some("session") => Some("The session has ended."),
        _ => None,
    };
    view! {
        <Title text="My security credentials" />
        <Breadcrumbs trail=vec![("My security credentials".to_owned(), None)] />
        <h1>"My security credentials"</h1>
        {move || notice().map(|n| view! { <div class="alert success" role="status">{n}</div> })}
        <PasswordSection at />
        <MfaSection at />
        <SessionsSection at />
    }
}

#[component]
fn PasswordSection(at: Signal<Option<String>>) -> impl IntoView {
    let facts = Resource::new(move || at.get(), |_| my_password());
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
fn MfaSection(at: Signal<Option<String>>) -> impl IntoView {
    let devices = Resource::new(move || at.get(), |_| my_mfa_devices());
    let create = ServerAction::<CreateMyVirtualMfa>::new();
    let enable = ServerAction::<EnableMyVirtualMfa>::new();
    // Step 2 until the device is enabled; then step 1 again, for another device.
    let enabled = move || matches!(enable.value().get(), Some(Ok(())));
    let created = move || create.value().get().and_then(Result::ok).filter(|_| !enabled());
    view! {
        <section class="panel" aria-labelledby="mfa-heading">
            <h2 id="mfa-heading">"Multi-factor authentication (MFA)"</h2>
            <p class="help">"Use MFA to increase the security of your account: at sign-in you are asked for a code from your device after your password. You can assign up to 8 MFA devices."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading MFA devices…"</p> }>
                {move || Suspend::new(async move {
                    match devices.await {
                        Ok(list) => view! { <MfaDevicesTable devices=list /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Transition>
            <RegisterKey />
            <details class="form-panel">
                <summary class="button">"Assign MFA device"</summary>
                {move || match created() {
                    None => view! {
                        <p class="help">"Step 1: name the device and confirm your password."</p>
                        {action_error(create.value())}
                        <ActionForm action=create>
                            <div class="field">
                                <label for="device_name">"Device name"</label>
                                <input id="device_name" name="device_name" type="text" required maxlength="226"
                                    pattern="[\\w+=,.@-]+" autocomplete="off" />
                            </div>
                            <div class="field">
                                <label for="mfa_current_password">"Your password, to confirm it is you"</label>
                                <input id="mfa_current_password" name="current_password" type="password"
                                    autocomplete="current-password" required />
                            </div>
                            <button type="submit" class="button primary">"Next"</button>
                        </ActionForm>
                    }
                    .into_any(),
                    Some(device) => view! {
                        <p class="help">"Step 2: scan this QR code with your authenticator app, or enter the secret key by hand. Then enter two consecutive codes from the app."</p>
                        <img class="qr" src=format!("data:image/png;base64,{}", device.qr_png)
                            alt="QR code of the virtual MFA device" width="200" height="200" />
                        <dl class="facts">
                            <dt>"Secret key"</dt>
                            <dd class="mono" aria-label="Secret key">{device.secret.clone()}</dd>
                            <dt>"Serial number"</dt>
                            <dd class="mono">{device.serial_number.clone()}</dd>
                        </dl>
                        {action_error(enable.value())}
                        <ActionForm action=enable>
                            <input type="hidden" name="serial_number" value=device.serial_number.clone() />
                            <div class="field">
                                <label for="code1">"MFA code 1"</label>
                                <input id="code1" name="code1" type="text" inputmode="numeric" pattern="[0-9]{6}"
                                    maxlength="6" autocomplete="one-time-code" required />
                            </div>
                            <div class="field">
                                <label for="code2">"MFA code 2"</label>
                                <input id="code2" name="code2" type="text" inputmode="numeric" pattern="[0-9]{6}"
                                    maxlength="6" autocomplete="one-time-code" required />
                            </div>
                            <button type="submit" class="button primary">"Add MFA"</button>
                        </ActionForm>
                    }
                    .into_any(),
                }}
            </details>
        </section>
    }
}

/// Registers a security key (U2F or FIDO2) or a passkey: the server's options, the browser's
/// ceremony, the server's check. The name is the user's.
#[component]
fn RegisterKey() -> impl IntoView {
    let name = NodeRef::<leptos::html::Input>::new();
    let passkey = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |input: NodeRef<leptos::html::Input>| input.get().map(|i| i.value()).unwrap_or_default();
        let (key_name, current) = (value(name), value(password));
        let kind = if passkey.get().is_some_and(|i| i.checked()) { "passkey" } else { "security_key" };
        busy.try_set(true);
        error.try_set(None);
        leptos::task::spawn_local(async move {
            let outcome = async {
                let options =
                    start_key_registration(key_name, kind.to_owned(), current).await.map_err(|e| e.message)?;
                let answer = crate::webauthn::ceremony(&options, true).await?;
                finish_key_registration(answer).await.map_err(|e| e.message)
            }
            .await;
            if let Err(message) = outcome {
                error.try_set(Some(message));
            }
            busy.try_set(false);
        });
    };
    view! {
        <details class="form-panel">
            <summary class="button">"Register security key or passkey"</summary>
            {move || error.try_get().flatten().map(|message| view! {
                <div class="alert error" role="alert"><span>{message}</span></div>
            })}
            <form on:submit=submit>
                <div class="field">
                    <label for="key_name">"Key name"</label>
                    <input id="key_name" node_ref=name type="text" required maxlength="64" pattern="[\\w+=,.@-]+"
                        autocomplete="off" />
                </div>
                <fieldset class="choice">
                    <legend>"Kind"</legend>
                    <label><input type="radio" name="key_kind" value="security_key" checked=true />
                        " Security key (U2F or FIDO2): touch it at sign-in"</label>
                    <label><input type="radio" name="key_kind" value="passkey" node_ref=passkey />
                        " Passkey: unlock it with a fingerprint, face or PIN at sign-in"</label>
                </fieldset>
                <div class="field">
                    <label for="key_password">"Your password, to register the key"</label>
                    <input id="key_password" node_ref=password type="password" autocomplete="current-password" required />
                </div>
                <button type="submit" class="button primary" disabled=move || busy.try_get().unwrap_or(false)>"Register key"</button>
            </form>
        </details>
    }
}

#[component]
fn MfaDevicesTable(devices: Vec<MfaDeviceView>) -> impl IntoView {
    if devices.is_empty() {
        return view! { <p>"No MFA devices. Assign one to protect your sign-in."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Identifier"</th>
                        <th scope="col">"Enabled"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {devices.into_iter().map(|d| view! { <MfaDeviceRow device=d /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn MfaDeviceRow(device: MfaDeviceView) -> impl IntoView {
    let remove = ServerAction::<RemoveMyMfaDevice>::new();
    let resync = ServerAction::<ResyncMyMfa>::new();
    let serial = device.serial_number.clone();
    let is_virtual = device.kind == "Virtual MFA device";
    let resync_serial = device.serial_number.clone();
    let resync_form = is_virtual.then(move || {
        let (first, second) = (format!("resync-1-{resync_serial}"), format!("resync-2-{resync_serial}"));
        view! {
            <details>
                <summary class="button">"Resync"</summary>
                {action_error(resync.value())}
                <ActionForm action=resync>
                    <input type="hidden" name="serial_number" value=resync_serial.clone() />
                    <div class="field">
                        <label for=first.clone()>"Resync code 1"</label>
                        <input id=first name="code1" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                            autocomplete="one-time-code" required />
                    </div>
                    <div class="field">
                        <label for=second.clone()>"Resync code 2"</label>
                        <input id=second name="code2" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                            autocomplete="one-time-code" required />
                    </div>
                    <button type="submit" class="button primary">"Resync device"</button>
                </ActionForm>
            </details>
        }
        // Type-erased: the row's view type otherwise grows past rustc's query depth in the wasm.
        .into_any()
    });
    let label = format!("Remove {}", device.serial_number);
    view! {
        <tr>
            <td>{device.kind.clone()}</td>
            <td class="mono">{device.serial_number.clone()}</td>
            <td>{device.enabled.clone()}</td>
            <td>
                {resync_form}
                <details>
                    <summary class="button" aria-label=label.clone()>"Remove"</summary>
                    {action_error(remove.value())}
                    <ActionForm action=remove>
                        <input type="hidden" name="serial_number" value=serial />
                        <div class="field">
                            <label for=format!("remove-password-{}", device.serial_number)>"Your password, to remove this device"</label>
                            <input id=format!("remove-password-{}", device.serial_number) name="current_password"
                                type="password" autocomplete="current-password" required />
                        </div>
                        <button type="submit" class="button danger">"Remove device"</button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
}

#[component]
fn SessionsSection(at: Signal<Option<String>>) -> impl IntoView {
    let sessions = Resource::new(move || at.get(), |_| my_sessions());
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
