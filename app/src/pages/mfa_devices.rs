//! MFA devices, as the AWS console's "Multi-factor authentication (MFA)" panel: the devices of the
//! signed-in principal (on "My security credentials") or of a user (on the user's page, for an
//! administrator). Assign a virtual device (QR code or secret, then two codes), register a
//! hardware TOTP token (serial number and seed, then two codes), resync, remove; security keys
//! and passkeys are registered by their owner only, since the key must be at hand. iam-core
//! authorizes every step on the user concerned.

use leptos::prelude::*;

use crate::api::{
    CreateVirtualMfa, EnableHardwareMfa, EnableVirtualMfa, HARDWARE, MfaDeviceView, RemoveMfaDevice, ResyncMfa,
    VIRTUAL, finish_key_registration, mfa_devices, start_key_registration,
};
use crate::pages::{ErrorAlert, action_error};

/// The notice for a finished change to MFA devices (`done` of the page's query).
pub fn mfa_notice(done: &str, own: bool) -> Option<&'static str> {
    Some(match (done, own) {
        ("mfa", true) => "The MFA device is assigned. You will be asked for a code at your next sign-in.",
        ("mfa", false) => "The MFA device is assigned. The user will be asked for a code at their next sign-in.",
        ("hardware", true) => "The hardware token is assigned. You will be asked for a code at your next sign-in.",
        ("hardware", false) => {
            "The hardware token is assigned. The user will be asked for a code at their next sign-in."
        }
        ("mfa-removed", _) => "The MFA device has been removed.",
        ("mfa-resynced", _) => "The MFA device is resynchronized.",
        ("key", _) => "The security key is registered. You can use it at your next sign-in.",
        _ => return None,
    })
}

/// The MFA panel of `user` (`None`: the signed-in principal's own devices).
#[component]
pub fn MfaDevicesPanel(user: Option<String>, at: Signal<Option<String>>) -> impl IntoView {
    let devices = {
        let user = user.clone();
        Resource::new(move || at.try_get().flatten(), move |_| mfa_devices(user.clone()))
    };
    let own = user.is_none();
    let help = if own {
        "Use MFA to increase the security of your account: at sign-in you are asked for a code from your device after your password. You can assign up to 8 MFA devices."
    } else {
        "With MFA, this user is asked for a code from a device after their password at sign-in. A user can have up to 8 MFA devices. Security keys and passkeys are registered by the user, from My security credentials."
    };
    let table_user = user.clone();
    view! {
        <section class="panel" aria-labelledby="mfa-heading">
            <h2 id="mfa-heading">"Multi-factor authentication (MFA)"</h2>
            <p class="help">{help}</p>
            <Transition fallback=|| view! { <p class="loading">"Loading MFA devices…"</p> }>
                {move || {
                    let user = table_user.clone();
                    Suspend::new(async move {
                        match devices.await {
                            Ok(list) => view! { <MfaDevicesTable devices=list user /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
            {own.then(|| view! { <RegisterKey /> })}
            <AssignVirtual user=user.clone() />
            <RegisterHardware user />
        </section>
    }
}

/// The owner's name as a hidden field: empty for oneself, which the server reads as no user. Always
/// the same element, never an optional view: the page hydrates the same markup whoever it is for.
pub(crate) fn user_field(user: &Option<String>) -> impl IntoView + use<> {
    let name = user.clone().unwrap_or_default();
    view! { <input type="hidden" name="user_name" value=name /> }
}

/// Two code fields, labelled `label 1` and `label 2`, with ids from `prefix`.
fn code_fields(prefix: &str, label: &str) -> AnyView {
    let (first, second) = (format!("{prefix}-1"), format!("{prefix}-2"));
    view! {
        <div class="field">
            <label for=first.clone()>{format!("{label} 1")}</label>
            <input id=first name="code1" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                autocomplete="one-time-code" required />
        </div>
        <div class="field">
            <label for=second.clone()>{format!("{label} 2")}</label>
            <input id=second name="code2" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                autocomplete="one-time-code" required />
        </div>
    }
    .into_any()
}

/// Assigns a virtual MFA device in two steps: create it (after the caller's password), then enable
/// it with two consecutive codes.
#[component]
fn AssignVirtual(user: Option<String>) -> impl IntoView {
    let create = ServerAction::<CreateVirtualMfa>::new();
    let enable = ServerAction::<EnableVirtualMfa>::new();
    let creating = create.pending();
    // Step 2 until the device is enabled; then step 1 again, for another device.
    let enabled = move || matches!(enable.value().try_get().flatten(), Some(Ok(())));
    let created = move || create.value().try_get().flatten().and_then(Result::ok).filter(|_| !enabled());
    let step1 = if user.is_some() {
        "Step 1: name the device and confirm your own password. The user then scans the QR code."
    } else {
        "Step 1: name the device and confirm your password."
    };
    view! {
        <details class="form-panel">
            <summary class="button">"Assign MFA device"</summary>
            {move || match created() {
                None => view! {
                    <p class="help">{step1}</p>
                    {action_error(create.value())}
                    <ActionForm action=create>
                        <div class="field">
                            <label for="device_name">"Device name"</label>
                            <input id="device_name" name="device_name" type="text" required maxlength="226"
                                pattern="[\\w+=,.@\\-]+" autocomplete="off" />
                        </div>
                        <div class="field">
                            <label for="mfa_current_password">"Your password, to confirm it is you"</label>
                            <input id="mfa_current_password" name="current_password" type="password"
                                autocomplete="current-password" required />
                        </div>
                        // Disabled while pending: a second click would create a second device.
                        <button type="submit" class="button primary" disabled=move || creating.try_get().unwrap_or(false)>"Next"</button>
                    </ActionForm>
                }
                .into_any(),
                Some(device) => {
                    let owner = user_field(&user);
                    view! {
                    <p class="help">"Step 2: scan this QR code with the authenticator app, or enter the secret key by hand. Then enter two consecutive codes from the app."</p>
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
                        {owner}
                        <input type="hidden" name="serial_number" value=device.serial_number.clone() />
                        {code_fields("code", "MFA code")}
                        <button type="submit" class="button primary">"Add MFA"</button>
                    </ActionForm>
                    }
                    .into_any()
                }
            }}
        </details>
    }
}

/// Registers a hardware TOTP token: the serial number on its back, the seed from the vendor's seed
/// file, and two consecutive codes it shows.
#[component]
fn RegisterHardware(user: Option<String>) -> impl IntoView {
    let register = ServerAction::<EnableHardwareMfa>::new();
    let pending = register.pending();
    view! {
        <details class="form-panel">
            <summary class="button">"Register hardware TOTP token"</summary>
            <p class="help">"A hardware token that shows six-digit codes every 30 seconds (TOTP, SHA-1). Its seed is in the seed file from the token's vendor; it is kept sealed and never shown again."</p>
            {action_error(register.value())}
            <ActionForm action=register>
                {user_field(&user)}
                <div class="field">
                    <label for="hw_serial">"Serial number"</label>
                    <input id="hw_serial" name="serial_number" type="text" required minlength="9" maxlength="256"
                        pattern="[\\w+=\\/:,.@\\-]+" autocomplete="off" />
                </div>
                <div class="field">
                    <label for="hw_seed">"Seed, from the vendor's seed file"</label>
                    // Text, not a password field: a password manager would offer to save the seed
                    // as the administrator's password.
                    <input id="hw_seed" name="seed" type="text" required autocomplete="off" spellcheck="false"
                        autocapitalize="off" />
                </div>
                <div class="field">
                    <label for="hw_encoding">"Seed format"</label>
                    <select id="hw_encoding" name="seed_encoding">
                        <option value="base32" selected=true>"Base32 (letters A-Z and digits 2-7)"</option>
                        <option value="hex">"Hexadecimal (digits 0-9 and letters A-F)"</option>
                    </select>
                </div>
                {code_fields("hw-code", "Token code")}
                <div class="field">
                    <label for="hw_password">"Your password, to register the token"</label>
                    <input id="hw_password" name="current_password" type="password" autocomplete="current-password" required />
                </div>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>"Register token"</button>
            </ActionForm>
        </details>
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
                    <input id="key_name" node_ref=name type="text" required maxlength="64" pattern="[\\w+=,.@\\-]+"
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
fn MfaDevicesTable(devices: Vec<MfaDeviceView>, user: Option<String>) -> impl IntoView {
    if devices.is_empty() {
        let empty = if user.is_some() {
            "No MFA devices. Assign one, or ask the user to, to protect their sign-in."
        } else {
            "No MFA devices. Assign one to protect your sign-in."
        };
        return view! { <p>{empty}</p> }.into_any();
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
                    {devices.into_iter().map(|d| view! { <MfaDeviceRow device=d user=user.clone() /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn MfaDeviceRow(device: MfaDeviceView, user: Option<String>) -> impl IntoView {
    let remove = ServerAction::<RemoveMfaDevice>::new();
    let resync = ServerAction::<ResyncMfa>::new();
    let serial = device.serial_number.clone();
    let codes = device.kind == VIRTUAL || device.kind == HARDWARE;
    let resync_user = user.clone();
    let resync_serial = device.serial_number.clone();
    let resync_form = codes.then(move || {
        view! {
            <details>
                <summary class="button">"Resync"</summary>
                {action_error(resync.value())}
                <ActionForm action=resync>
                    {user_field(&resync_user)}
                    <input type="hidden" name="serial_number" value=resync_serial.clone() />
                    {code_fields(&format!("resync-{resync_serial}"), "Resync code")}
                    <button type="submit" class="button primary">"Resync device"</button>
                </ActionForm>
            </details>
        }
        // Type-erased: the row's view type otherwise grows past rustc's query depth in the wasm.
        .into_any()
    });
    let label = format!("Remove {}", device.serial_number);
    let password_id = format!("remove-password-{}", device.serial_number);
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
                        {user_field(&user)}
                        <input type="hidden" name="serial_number" value=serial />
                        <div class="field">
                            <label for=password_id.clone()>"Your password, to remove this device"</label>
                            <input id=password_id name="current_password" type="password"
                                autocomplete="current-password" required />
                        </div>
                        <button type="submit" class="button danger">"Remove device"</button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
    .into_any()
}
