//! "My security credentials": a principal's own password, MFA devices and console sessions; and an
//! administrator ending a user's sessions. Adding or removing an MFA device asks for the password
//! again (iam-core counts wrong answers as failed sign-ins).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaDeviceView {
    pub serial_number: String,
    /// `Virtual MFA device` or `Security key`.
    pub kind: String,
    pub enabled: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_ref: String,
    pub started: String,
    pub last_active: String,
    pub mfa: bool,
    pub source_ip: String,
    pub user_agent: String,
    pub current: bool,
}

/// A virtual MFA device just created: its secret is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMfaDevice {
    pub serial_number: String,
    /// The seed, base32, for manual entry.
    pub secret: String,
    /// A PNG of the `otpauth://` URI, base64.
    pub qr_png: String,
}

/// The password facts of the signed-in principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordFacts {
    pub requirements: Vec<String>,
    /// When the password expires, if the account's policy makes it expire.
    pub expires: Option<String>,
}

#[cfg(feature = "ssr")]
fn session_view(s: iam_core::console_sessions::SessionInfo) -> SessionView {
    SessionView {
        session_ref: s.session_ref,
        started: s.created_at.to_iso8601(),
        last_active: s.last_seen_at.to_iso8601(),
        mfa: s.mfa_device.is_some(),
        source_ip: s.source_ip.unwrap_or_else(|| "-".to_owned()),
        user_agent: s.user_agent.unwrap_or_else(|| "-".to_owned()),
        current: s.current,
    }
}

#[server(prefix = "/api", endpoint = "my_password")]
pub async fn my_password() -> Result<PasswordFacts, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let (requirements, _) = iam.password_requirements(caller.account_id(), None, &[]).await?;
    let expires = iam.password_expires_at(&caller.principal).await?;
    Ok(PasswordFacts { requirements, expires: expires.map(|t| t.to_iso8601()) })
}

#[server(prefix = "/api", endpoint = "change_my_password")]
pub async fn change_my_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    if new_password != confirm_password {
        return Err(ConsoleError::new("ValidationError", "The new passwords do not match."));
    }
    let (current, new) = (iam_core::Password::new(current_password), iam_core::Password::new(new_password));
    scope.state.iam.change_password(&caller, &current, &new).await?;
    // A new password is a privilege change: a new session id too.
    scope.session()?.cycle_id().await.map_err(|e| crate::ssr::internal(&format!("session: {e}")))?;
    scope.redirect_done("/security-credentials", "password");
    Ok(())
}

#[server(prefix = "/api", endpoint = "my_mfa_devices")]
pub async fn my_mfa_devices() -> Result<Vec<MfaDeviceView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let devices = scope.state.iam.list_mfa_devices(&caller, None).await?;
    Ok(devices
        .into_iter()
        .map(|d| MfaDeviceView {
            kind: if d.kind == "totp" { "Virtual MFA device" } else { "Security key" }.to_owned(),
            serial_number: d.serial_number,
            enabled: d.enable_date.to_iso8601(),
        })
        .collect())
}

/// Creates a virtual MFA device for the signed-in principal, after its password: the first half
/// of "Assign MFA device". The device is the principal's once two codes enable it.
#[server(prefix = "/api", endpoint = "create_my_virtual_mfa")]
pub async fn create_my_virtual_mfa(
    device_name: String,
    current_password: String,
) -> Result<NewMfaDevice, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    iam.confirm_password(&caller, &iam_core::Password::new(current_password)).await?;
    let device = iam.create_virtual_mfa_device(&caller, device_name.trim(), None).await?;
    Ok(NewMfaDevice {
        serial_number: device.serial_number.clone(),
        secret: device.base32_string_seed.clone(),
        qr_png: device.qr_code_png.clone(),
    })
}

/// Enables a virtual device just created, with two consecutive codes from it.
#[server(prefix = "/api", endpoint = "enable_my_virtual_mfa")]
pub async fn enable_my_virtual_mfa(serial_number: String, code1: String, code2: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.enable_mfa_device(&caller, None, &serial_number, code1.trim(), code2.trim()).await?;
    scope.redirect_done("/security-credentials", "mfa");
    Ok(())
}

/// Resynchronizes one of the principal's virtual devices whose clock drifted, with two
/// consecutive codes from it (`ResyncMFADevice`).
#[server(prefix = "/api", endpoint = "resync_my_mfa")]
pub async fn resync_my_mfa(serial_number: String, code1: String, code2: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.resync_mfa_device(&caller, None, &serial_number, code1.trim(), code2.trim()).await?;
    scope.redirect_done("/security-credentials", "mfa-resynced");
    Ok(())
}

/// Removes one of the principal's MFA devices (a virtual one is deleted too), after its password.
#[server(prefix = "/api", endpoint = "remove_my_mfa_device")]
pub async fn remove_my_mfa_device(serial_number: String, current_password: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    iam.confirm_password(&caller, &iam_core::Password::new(current_password)).await?;
    let devices = iam.list_mfa_devices(&caller, None).await?;
    let device = devices
        .iter()
        .find(|d| d.serial_number == serial_number)
        .ok_or_else(|| ConsoleError::new("NoSuchEntity", "This MFA device is not assigned to you."))?;
    iam.deactivate_mfa_device(&caller, None, &serial_number).await?;
    if device.kind == "totp" {
        iam.delete_virtual_mfa_device(&caller, &serial_number).await?;
    }
    scope.redirect_done("/security-credentials", "mfa-removed");
    Ok(())
}

#[server(prefix = "/api", endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let sessions = scope.state.iam.list_own_console_sessions(&caller).await?;
    Ok(sessions.into_iter().map(session_view).collect())
}

/// Ends one of the principal's own sessions (this one signs out).
#[server(prefix = "/api", endpoint = "end_my_session")]
pub async fn end_my_session(session_ref: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.end_own_console_session(&caller, &session_ref).await?;
    let this_one = matches!(&caller.channel, iam_core::Channel::Console { session_ref: own } if *own == session_ref);
    if this_one {
        scope.sign_out_quietly().await?;
        scope.redirect("/signin");
    } else {
        scope.redirect_done("/security-credentials", "session");
    }
    Ok(())
}

/// A user's console sessions, for an administrator.
#[server(prefix = "/api", endpoint = "user_sessions")]
pub async fn user_sessions(user_name: String) -> Result<Vec<SessionView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let sessions = scope.state.iam.list_user_console_sessions(&caller, &user_name).await?;
    Ok(sessions.into_iter().map(session_view).collect())
}

/// Ends every console session of a user, for an administrator.
#[server(prefix = "/api", endpoint = "end_user_sessions")]
pub async fn end_user_sessions(user_name: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.end_user_console_sessions(&caller, &user_name).await?;
    scope.redirect_done(&format!("/users/{user_name}"), "sessions");
    Ok(())
}

/// An administrator sets a user's console password, and whether it must be changed at next
/// sign-in (`UpdateLoginProfile`). The user's sessions end.
#[server(prefix = "/api", endpoint = "reset_user_password")]
pub async fn reset_user_password(
    user_name: String,
    new_password: String,
    confirm_password: String,
    #[server(default)] require_reset: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    if new_password != confirm_password {
        return Err(ConsoleError::new("ValidationError", "The new passwords do not match."));
    }
    let reset = require_reset == "on" || require_reset == "true";
    let password = iam_core::Password::new(new_password);
    scope.state.iam.update_login_profile(&caller, &user_name, Some(&password), Some(reset)).await?;
    scope.redirect_done(&format!("/users/{user_name}"), "password");
    Ok(())
}
