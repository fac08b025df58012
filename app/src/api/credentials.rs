//! "My security credentials": a principal's own password, MFA devices and console sessions; and an
//! administrator's view of a user's: MFA devices assigned and removed, sessions ended. Adding or
//! removing an MFA device asks for the caller's password again (iam-core counts wrong answers as
//! failed sign-ins).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// How the console names the kinds of MFA device.
pub const VIRTUAL: &str = "Virtual MFA device";
pub const HARDWARE: &str = "Hardware TOTP token";
pub const SECURITY_KEY: &str = "Security key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaDeviceView {
    pub serial_number: String,
    /// [`VIRTUAL`], [`HARDWARE`] or [`SECURITY_KEY`].
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
    let requirements = iam.password_requirements(caller.account_id(), None, &[]).await?.rules;
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

/// Whose MFA devices a request is about: a named user (an administrator's request, authorized by
/// iam-core on that user) or, with no name, the signed-in principal.
#[cfg(feature = "ssr")]
fn owner(user_name: &Option<String>) -> Option<&str> {
    user_name.as_deref().map(str::trim).filter(|n| !n.is_empty())
}

/// Where a change to `user`'s MFA devices goes back to: the user's page, or one's own credentials.
#[cfg(feature = "ssr")]
fn devices_page(user: Option<&str>) -> String {
    user.map_or_else(|| "/security-credentials".to_owned(), crate::paths::user_href)
}

/// The MFA devices of a user, or of the signed-in principal (`ListMFADevices`).
#[server(prefix = "/api", endpoint = "mfa_devices")]
pub async fn mfa_devices(user_name: Option<String>) -> Result<Vec<MfaDeviceView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let devices = scope.state.iam.list_mfa_devices(&caller, owner(&user_name)).await?;
    Ok(devices
        .into_iter()
        .map(|d| MfaDeviceView {
            kind: match d.kind.as_str() {
                "totp" => VIRTUAL,
                "hardware" => HARDWARE,
                _ => SECURITY_KEY,
            }
            .to_owned(),
            serial_number: d.serial_number,
            enabled: d.enable_date.to_iso8601(),
        })
        .collect())
}

/// Creates a virtual MFA device, after the caller's password: the first half of "Assign MFA
/// device". It is a user's (or the caller's own) once two codes enable it for them.
#[server(prefix = "/api", endpoint = "create_virtual_mfa")]
pub async fn create_virtual_mfa(device_name: String, current_password: String) -> Result<NewMfaDevice, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    // The seed is shown in this answer only: a plain form post would make a device never seen.
    if scope.plain_form_post() {
        return Err(ConsoleError::new(
            "ValidationError",
            "Assigning an MFA device needs the page to be fully loaded: its secret is shown on it, once.",
        ));
    }
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
#[server(prefix = "/api", endpoint = "enable_virtual_mfa")]
pub async fn enable_virtual_mfa(
    user_name: Option<String>,
    serial_number: String,
    code1: String,
    code2: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let user = owner(&user_name);
    scope.state.iam.enable_mfa_device(&caller, user, &serial_number, code1.trim(), code2.trim()).await?;
    scope.redirect_done(&devices_page(user), "mfa");
    Ok(())
}

/// Registers a hardware TOTP token by the serial number printed on it and the seed from its
/// vendor's seed file, with two consecutive codes from it, after the caller's password.
#[server(prefix = "/api", endpoint = "enable_hardware_mfa")]
pub async fn enable_hardware_mfa(
    user_name: Option<String>,
    serial_number: String,
    seed: String,
    seed_encoding: String,
    code1: String,
    code2: String,
    current_password: String,
) -> Result<(), ConsoleError> {
    use iam_core::mfa::{SeedEncoding, parse_seed};
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    iam.confirm_password(&caller, &iam_core::Password::new(current_password)).await?;
    let encoding = match seed_encoding.as_str() {
        "base32" => SeedEncoding::Base32,
        "hex" => SeedEncoding::Hex,
        _ => return Err(ConsoleError::new("ValidationError", "The seed format is base32 or hex.")),
    };
    let seed = parse_seed(&seed, encoding)?;
    let user = owner(&user_name);
    iam.enable_hardware_mfa_device(&caller, user, serial_number.trim(), &seed, code1.trim(), code2.trim()).await?;
    scope.redirect_done(&devices_page(user), "hardware");
    Ok(())
}

/// Resynchronizes a virtual device or hardware token whose clock drifted, with two consecutive
/// codes from it (`ResyncMFADevice`).
#[server(prefix = "/api", endpoint = "resync_mfa")]
pub async fn resync_mfa(
    user_name: Option<String>,
    serial_number: String,
    code1: String,
    code2: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let user = owner(&user_name);
    scope.state.iam.resync_mfa_device(&caller, user, &serial_number, code1.trim(), code2.trim()).await?;
    scope.redirect_done(&devices_page(user), "mfa-resynced");
    Ok(())
}

/// Removes an MFA device (a virtual one is deleted too, in the same change), after the caller's
/// password.
#[server(prefix = "/api", endpoint = "remove_mfa_device")]
pub async fn remove_mfa_device(
    user_name: Option<String>,
    serial_number: String,
    current_password: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    iam.confirm_password(&caller, &iam_core::Password::new(current_password)).await?;
    let user = owner(&user_name);
    iam.remove_mfa_device(&caller, user, &serial_number).await?;
    scope.redirect_done(&devices_page(user), "mfa-removed");
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
    scope.redirect_done(&crate::paths::user_href(&user_name), "sessions");
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
    scope.redirect_done(&crate::paths::user_href(&user_name), "password");
    Ok(())
}

/// An access key as the console lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyView {
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    pub created: String,
    pub age_days: i64,
    /// The description, kept as AWS's console keeps it: a tag of the user named by the key id.
    pub description: Option<String>,
    /// When, with which service and in which region it was last used; `None`: never.
    pub last_used: Option<(String, String, String)>,
    /// The caller may not see when it was used (`GetAccessKeyLastUsed` refused).
    pub last_used_hidden: bool,
}

/// A key just created: its secret is shown this once, and is in no other answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccessKeyView {
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Why the description could not be kept (`TagUser` refused, say); the key exists anyway.
    pub description_error: Option<String>,
}

impl std::fmt::Debug for NewAccessKeyView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccessKeyView")
            .field("user_name", &self.user_name)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// The IAM user whose tags hold the descriptions of the keys a request is about: the named user,
/// or the signed-in user (the root user has no tags).
#[cfg(feature = "ssr")]
fn keys_user<'a>(user: Option<&'a str>, caller: &'a iam_core::Caller) -> Option<&'a str> {
    match (user, &caller.principal) {
        (Some(name), _) => Some(name),
        (None, iam_core::Principal::User { user_name, .. }) => Some(user_name),
        (None, iam_core::Principal::Root { .. }) => None,
    }
}

/// The access keys of a user, or of the signed-in principal (`ListAccessKeys`, then
/// `GetAccessKeyLastUsed` for each, and the user's tags for descriptions when they may be read).
#[server(prefix = "/api", endpoint = "access_keys")]
pub async fn access_keys(user_name: Option<String>) -> Result<Vec<AccessKeyView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let user = owner(&user_name);
    let keys = iam.list_access_keys(&caller, user).await?;
    // Descriptions are shown when the caller may read the user's tags (`ListUserTags`).
    let tags = match keys_user(user, &caller) {
        // A refusal hides the descriptions only; any other failure is one.
        Some(name) => match iam.list_tags(&caller, iam_core::tagging::Taggable::User(name)).await {
            Ok(tags) => tags,
            Err(iam_core::IamError::AccessDenied(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        None => Vec::new(),
    };
    let now = iam.now().as_millis();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        // A refusal of this one read hides the date, not the key (which may still be deactivated).
        let (used, last_used_hidden) = match iam.get_access_key_last_used(&caller, &key.access_key_id).await {
            Ok(used) => (Some(used), false),
            Err(iam_core::IamError::AccessDenied(_)) => (None, true),
            // Deleted since it was listed (another session, another server): left out.
            Err(iam_core::IamError::NoSuchEntity(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        out.push(AccessKeyView {
            last_used_hidden,
            status: key.status.as_str().to_owned(),
            created: key.create_date.to_iso8601(),
            age_days: (now - key.create_date.as_millis()).max(0) / 86_400_000,
            description: tags.iter().find(|t| t.key == key.access_key_id).map(|t| t.value.clone()),
            last_used: used.and_then(|u| u.last_used_date.map(|t| (t.to_iso8601(), u.service_name, u.region))),
            access_key_id: key.access_key_id,
        });
    }
    Ok(out)
}

/// `CreateAccessKey` (at most two), with an optional description kept as AWS's console keeps it:
/// a tag of the user (`TagUser`), key = the access key id. Answers the secret, this once.
#[server(prefix = "/api", endpoint = "create_access_key")]
pub async fn create_access_key(
    user_name: Option<String>,
    #[server(default)] description: String,
) -> Result<NewAccessKeyView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let user = owner(&user_name);
    // The secret is in this answer only: a plain form post (the page not yet interactive) would
    // make a key whose secret the browser never shows.
    if scope.plain_form_post() {
        return Err(ConsoleError::new(
            "ValidationError",
            "Creating an access key needs the page to be fully loaded: its secret is shown on it, once.",
        ));
    }
    let description = description.trim();
    let tagged = keys_user(user, &caller);
    if !description.is_empty() {
        if tagged.is_none() {
            return Err(ConsoleError::new(
                "ValidationError",
                "The root user has no tags, so its access keys have no description. Leave it empty.",
            ));
        }
        // Checked before the key exists, with the rules of a tag value (the key is checked after).
        iam_core::names::Tag::parse("description", description)?;
    }
    let key = iam.create_access_key(&caller, user).await?;
    // The key exists and its secret is shown only now: a refused description is said, not fatal.
    let description_error = match tagged {
        Some(name) if !description.is_empty() => {
            let tag = [(key.access_key_id.clone(), description.to_owned())];
            iam.tag(&caller, iam_core::tagging::Taggable::User(name), &tag).await.err().map(|e| e.to_string())
        }
        _ => None,
    };
    Ok(NewAccessKeyView {
        user_name: key.user_name,
        access_key_id: key.access_key_id,
        secret_access_key: key.secret_access_key.expose().to_owned(),
        description_error,
    })
}

/// `UpdateAccessKey`: activates or deactivates a key.
#[server(prefix = "/api", endpoint = "set_access_key_status")]
pub async fn set_access_key_status(
    user_name: Option<String>,
    access_key_id: String,
    status: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let user = owner(&user_name);
    let status = iam_core::access_keys::KeyStatus::parse(&status)?;
    scope.state.iam.update_access_key(&caller, user, &access_key_id, status).await?;
    let done = if status == iam_core::access_keys::KeyStatus::Active { "key-activated" } else { "key-deactivated" };
    scope.redirect_done(&devices_page(user), done);
    Ok(())
}

/// `DeleteAccessKey`, after the key id is typed, as AWS's console asks; its description tag goes too.
#[server(prefix = "/api", endpoint = "delete_access_key")]
pub async fn delete_access_key(
    user_name: Option<String>,
    access_key_id: String,
    confirmation: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    if confirmation.trim() != access_key_id {
        return Err(ConsoleError::new(
            "ValidationError",
            format!("To confirm, enter the access key ID `{access_key_id}`."),
        ));
    }
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let user = owner(&user_name);
    iam.delete_access_key(&caller, user, &access_key_id).await?;
    // Its description tag goes too, when there is one (a leftover would count against the user's 50).
    let mut done = "key-deleted";
    if let Some(name) = keys_user(user, &caller) {
        let target = || iam_core::tagging::Taggable::User(name);
        let described =
            iam.list_tags(&caller, target()).await.is_ok_and(|tags| tags.iter().any(|t| t.key == access_key_id));
        if described && iam.untag(&caller, target(), std::slice::from_ref(&access_key_id)).await.is_err() {
            done = "key-deleted-description-kept";
        }
    }
    scope.redirect_done(&devices_page(user), done);
    Ok(())
}
