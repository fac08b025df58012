//! Security keys and passkeys: registration from "My security credentials" (after the password,
//! as every MFA change), and the MFA step of sign-in with one of them. Each ceremony is two server
//! functions around the browser's `navigator.credentials`; its state waits in the server-side
//! session between them.

use leptos::prelude::*;

use crate::error::ConsoleError;

#[cfg(feature = "ssr")]
fn ceremony_failed(what: &str) -> ConsoleError {
    ConsoleError::new("InvalidSecurityKey", format!("The security key could not be {what}. Try again."))
}

#[cfg(feature = "ssr")]
fn cloned_key() -> ConsoleError {
    ConsoleError::new(
        "SignInFailed",
        "This security key may have been copied: the sign-in is refused. Ask an administrator to check it.",
    )
}

#[cfg(feature = "ssr")]
fn session_error(e: impl std::fmt::Display) -> ConsoleError {
    crate::ssr::internal(&format!("session: {e}"))
}

/// Starts registering a security key (`kind` = `security_key`: U2F or FIDO2, user presence) or a
/// passkey (`kind` = `passkey`: user verification) for the signed-in principal; answers the
/// options for `navigator.credentials.create`, as JSON.
#[server(prefix = "/api", endpoint = "start_key_registration")]
pub async fn start_key_registration(
    name: String,
    kind: String,
    current_password: String,
) -> Result<String, ConsoleError> {
    use crate::webauthn::{PendingRegistration, REGISTRATION_KEY, StoredKey, browser_options, user_uuid};
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    iam.confirm_password(&caller, &iam_core::Password::new(current_password)).await?;
    let name = name.trim().to_owned();
    iam_core::entities::EntityKind::User.parse_name(&name)?;
    let principal_id = caller.principal.user_id().to_owned();
    // Keys already registered to this principal are excluded, so one key is not registered twice.
    let exclude: Vec<_> = iam
        .security_keys(&principal_id)
        .await?
        .into_iter()
        .filter_map(|(_, stored)| serde_json::from_str::<StoredKey>(&stored).ok())
        .map(|key| match key {
            StoredKey::SecurityKey { credential } => credential.cred_id().clone(),
            StoredKey::Passkey { credential } => credential.cred_id().clone(),
        })
        .collect();
    let label = caller.principal.arn().to_string();
    let uuid = user_uuid(&principal_id);
    let webauthn = scope.webauthn()?;
    let passkey = kind == "passkey";
    let (options, state) = if passkey {
        let (options, state) = webauthn
            .start_passkey_registration(uuid, &label, &label, Some(exclude))
            .map_err(|_| ceremony_failed("registered"))?;
        (browser_options(&options, false), serde_json::to_value(state))
    } else {
        let (options, state) = webauthn
            .start_securitykey_registration(uuid, &label, &label, Some(exclude), None, None)
            .map_err(|_| ceremony_failed("registered"))?;
        (browser_options(&options, true), serde_json::to_value(state))
    };
    let state = state.map_err(|e| crate::ssr::internal(&e.to_string()))?;
    let pending = PendingRegistration { name, passkey, state };
    scope.session()?.insert(REGISTRATION_KEY, &pending).await.map_err(session_error)?;
    options.map_err(|e| crate::ssr::internal(&e.to_string()))
}

/// Finishes a registration with the browser's answer (`credential.toJSON()`, as JSON).
#[server(prefix = "/api", endpoint = "finish_key_registration")]
pub async fn finish_key_registration(credential: String) -> Result<(), ConsoleError> {
    use crate::webauthn::{PendingRegistration, REGISTRATION_KEY, StoredKey};
    use webauthn_rs::prelude::RegisterPublicKeyCredential;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let session = scope.session()?;
    let pending: PendingRegistration = session
        .remove(REGISTRATION_KEY)
        .await
        .map_err(session_error)?
        .ok_or_else(|| ConsoleError::new("ValidationError", "Start the registration again."))?;
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| ceremony_failed("registered"))?;
    let webauthn = scope.webauthn()?;
    let stored = if pending.passkey {
        let state = serde_json::from_value(pending.state).map_err(|e| crate::ssr::internal(&e.to_string()))?;
        let key = webauthn.finish_passkey_registration(&answer, &state).map_err(|_| ceremony_failed("registered"))?;
        StoredKey::Passkey { credential: key }
    } else {
        let state = serde_json::from_value(pending.state).map_err(|e| crate::ssr::internal(&e.to_string()))?;
        let key =
            webauthn.finish_securitykey_registration(&answer, &state).map_err(|_| ceremony_failed("registered"))?;
        StoredKey::SecurityKey { credential: key }
    };
    let text = serde_json::to_string(&stored).map_err(|e| crate::ssr::internal(&e.to_string()))?;
    scope.state.iam.register_security_key(&caller, None, &pending.name, &stored.credential_id(), &text).await?;
    scope.redirect_done("/security-credentials", "key");
    Ok(())
}

/// The MFA step with a security key or passkey, first half: the options for
/// `navigator.credentials.get`, for the one key the user chose.
#[server(prefix = "/api", endpoint = "start_key_sign_in")]
pub async fn start_key_sign_in(serial_number: String) -> Result<String, ConsoleError> {
    use crate::ssr::PendingStage;
    use crate::webauthn::{AUTHENTICATION_KEY, PendingAuthentication, StoredKey, browser_options};
    let scope = crate::ssr::RequestScope::capture()?;
    scope.limit_attempts()?;
    let Some(pending) = scope.pending().await?.filter(|p| p.stage == PendingStage::Mfa) else {
        return Err(ConsoleError::new("SignInExpired", "This sign-in has expired or was not started. Sign in again."));
    };
    let iam = &scope.state.iam;
    iam.check_mfa_attempt(&pending.principal).await.map_err(|e| sign_in_error(&scope, e))?;
    let stored = iam
        .security_keys(pending.principal.user_id())
        .await?
        .into_iter()
        .find(|(serial, _)| *serial == serial_number)
        .and_then(|(_, stored)| serde_json::from_str::<StoredKey>(&stored).ok())
        .ok_or_else(|| ConsoleError::new("NoSuchEntity", "This security key is not registered to you."))?;
    let webauthn = scope.webauthn()?;
    let (options, state, passkey) = match stored {
        StoredKey::SecurityKey { credential } => {
            let (options, state) =
                webauthn.start_securitykey_authentication(&[credential]).map_err(|_| ceremony_failed("used"))?;
            (browser_options(&options, true), serde_json::to_value(state), false)
        }
        StoredKey::Passkey { credential } => {
            let (options, state) =
                webauthn.start_passkey_authentication(&[credential]).map_err(|_| ceremony_failed("used"))?;
            (browser_options(&options, false), serde_json::to_value(state), true)
        }
    };
    let state = state.map_err(|e| crate::ssr::internal(&e.to_string()))?;
    let ceremony = PendingAuthentication { serial_number, passkey, state };
    scope.session()?.insert(AUTHENTICATION_KEY, &ceremony).await.map_err(session_error)?;
    options.map_err(|e| crate::ssr::internal(&e.to_string()))
}

#[cfg(feature = "ssr")]
fn sign_in_error(scope: &crate::ssr::RequestScope, e: iam_core::sign_in::SignInError) -> ConsoleError {
    match e {
        iam_core::sign_in::SignInError::Throttled { retry_after_seconds } => {
            scope.throttled(u64::try_from(retry_after_seconds).unwrap_or(1))
        }
        iam_core::sign_in::SignInError::Failed(e) => e.into(),
        other => ConsoleError::new("SignInFailed", other.to_string()),
    }
}

/// The MFA step with a security key or passkey, second half: checks the signature and its
/// counter. A counter that did not move forward says the key may have been cloned: the sign-in is
/// refused and the audit log says why.
#[server(prefix = "/api", endpoint = "finish_key_sign_in")]
pub async fn finish_key_sign_in(credential: String) -> Result<(), ConsoleError> {
    use crate::ssr::PendingStage;
    use crate::webauthn::{AUTHENTICATION_KEY, PendingAuthentication, StoredKey};
    use webauthn_rs::prelude::{PublicKeyCredential, WebauthnError};
    let scope = crate::ssr::RequestScope::capture()?;
    scope.limit_attempts()?;
    let Some(mut pending) = scope.pending().await?.filter(|p| p.stage == PendingStage::Mfa) else {
        return Err(ConsoleError::new("SignInExpired", "This sign-in has expired or was not started. Sign in again."));
    };
    let session = scope.session()?;
    let ceremony: PendingAuthentication = session
        .remove(AUTHENTICATION_KEY)
        .await
        .map_err(session_error)?
        .ok_or_else(|| ConsoleError::new("ValidationError", "Choose your security key again."))?;
    let iam = &scope.state.iam;
    let context = scope.sign_in_context();
    let principal = pending.principal.clone();
    let answer: Option<PublicKeyCredential> = serde_json::from_str(&credential).ok();
    let webauthn = scope.webauthn()?;
    let outcome = answer.ok_or(WebauthnError::InvalidClientDataType).and_then(|answer| {
        if ceremony.passkey {
            let state =
                serde_json::from_value(ceremony.state.clone()).map_err(|_| WebauthnError::InvalidClientDataType)?;
            webauthn.finish_passkey_authentication(&answer, &state)
        } else {
            let state =
                serde_json::from_value(ceremony.state.clone()).map_err(|_| WebauthnError::InvalidClientDataType)?;
            webauthn.finish_securitykey_authentication(&answer, &state)
        }
    });
    let result = match outcome {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            iam.fail_mfa(&principal, &context, "ClonedSecurityKey").await?;
            tracing::warn!(principal = %principal.arn(), device = %ceremony.serial_number, "security key counter went back: possible clone, sign-in refused");
            return Err(cloned_key());
        }
        Err(_) => {
            iam.fail_mfa(&principal, &context, "IncorrectSecurityKey").await?;
            return Err(ConsoleError::new("SignInFailed", iam_core::sign_in::SignInError::Incorrect.to_string()));
        }
    };
    // The key's new signature counter, kept for the next sign-in. The ceremony checked it against
    // the counter stored when it began; another sign-in with this key may have moved it since, so
    // it is checked again against the stored one and saved only over what was read. The sign-in
    // goes on only once that holds: a key removed meanwhile, a credential that does not read, or
    // three lost races refuse it.
    let mut kept = false;
    for _ in 0..3 {
        let Some((_, previous)) = iam
            .security_keys(principal.user_id())
            .await?
            .into_iter()
            .find(|(serial, _)| *serial == ceremony.serial_number)
        else {
            break;
        };
        let Some(mut key) = serde_json::from_str::<StoredKey>(&previous).ok() else { break };
        let Some(stored) = key.counter() else { break };
        if result.counter() > 0 && result.counter() <= stored {
            iam.fail_mfa(&principal, &context, "ClonedSecurityKey").await?;
            tracing::warn!(principal = %principal.arn(), device = %ceremony.serial_number, "security key counter used twice: possible clone, sign-in refused");
            return Err(cloned_key());
        }
        let changed = match &mut key {
            StoredKey::SecurityKey { credential } => credential.update_credential(&result),
            StoredKey::Passkey { credential } => credential.update_credential(&result),
        };
        if changed != Some(true) {
            kept = changed.is_some();
            break;
        }
        let text = serde_json::to_string(&key).map_err(|e| crate::ssr::internal(&e.to_string()))?;
        if iam.update_security_key(&ceremony.serial_number, &previous, &text).await? {
            kept = true;
            break;
        }
    }
    if !kept {
        iam.fail_mfa(&principal, &context, "IncorrectSecurityKey").await?;
        tracing::warn!(principal = %principal.arn(), device = %ceremony.serial_number, "security key removed or unreadable during its sign-in, or its counter contended: sign-in refused");
        return Err(ConsoleError::new("SignInFailed", iam_core::sign_in::SignInError::Incorrect.to_string()));
    }
    iam.complete_sign_in(&principal, &context, Some(&ceremony.serial_number)).await?;
    if pending.must_change_password {
        pending.stage = PendingStage::ChangePassword;
        pending.mfa_device = Some(ceremony.serial_number);
        scope.continue_sign_in(&pending).await?;
        scope.redirect(pending.stage.path());
        return Ok(());
    }
    scope.establish(principal, Some(&ceremony.serial_number), pending.password_expires_at, &pending.return_to).await
}
