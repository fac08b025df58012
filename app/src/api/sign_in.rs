//! Sign-in in steps, as the AWS console does it: the password; then, when the principal has MFA,
//! a code (or a security key); then, when the password must change (reset required, or expired),
//! a new password. Only after the last step is there a console session. Every step is limited per
//! client, and each failure per principal (iam-core), and answers the same words whatever was wrong.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// The sign-in step in progress, for its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingView {
    /// `mfa` or `change_password`.
    pub stage: String,
    /// Who is signing in: `alice @ example-corp`, or the root user's email.
    pub who: String,
    /// The principal has a virtual (TOTP) MFA device.
    pub has_totp: bool,
    /// The principal's security keys and passkeys: (serial number, name).
    pub security_keys: Vec<(String, String)>,
    /// Why the password must change: `reset` (an administrator asked) or `expired`.
    pub reason: String,
    /// The rules a new password must meet, in plain words.
    pub requirements: Vec<String>,
}

/// A password's strength and the rules it does not meet yet, for the meter beside the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCheck {
    /// 0 to 4 (zxcvbn).
    pub score: u8,
    /// `Very weak` to `Strong`.
    pub label: String,
    pub warning: Option<String>,
    pub unmet: Vec<String>,
}

#[cfg(feature = "ssr")]
fn sign_in_failed() -> ConsoleError {
    ConsoleError::new("SignInFailed", iam_core::sign_in::SignInError::Incorrect.to_string())
}

#[cfg(feature = "ssr")]
fn step_expired() -> ConsoleError {
    ConsoleError::new("SignInExpired", "This sign-in has expired or was not started. Sign in again.")
}

#[cfg(feature = "ssr")]
fn sign_in_error(scope: &crate::ssr::RequestScope, e: iam_core::sign_in::SignInError) -> ConsoleError {
    use iam_core::sign_in::SignInError;
    match e {
        SignInError::Incorrect => sign_in_failed(),
        SignInError::Throttled { retry_after_seconds } => {
            scope.throttled(u64::try_from(retry_after_seconds).unwrap_or(1))
        }
        SignInError::PasswordExpired => ConsoleError::new("PasswordExpired", e.to_string()),
        SignInError::Failed(e) => e.into(),
    }
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(
    #[server(default)] kind: String,
    #[server(default)] email: String,
    #[server(default)] account: String,
    #[server(default)] user_name: String,
    password: String,
    #[server(default)] return_to: String,
) -> Result<(), ConsoleError> {
    use crate::ssr::{self, PendingSignIn, PendingStage};
    use iam_core::sign_in::SignIn;
    let scope = ssr::RequestScope::capture()?;
    scope.limit_attempts()?;
    let state = &scope.state;
    let password = iam_core::Password::new(password);
    let attempt = match kind.as_str() {
        "root" => SignIn::Root { email, password },
        "iam" => SignIn::User { account, user_name, password },
        _ => return Err(ConsoleError::new("ValidationError", "Choose the root user or an IAM user.")),
    };
    let signed_in =
        state.iam.sign_in(&attempt, &scope.sign_in_context()).await.map_err(|e| sign_in_error(&scope, e))?;
    // Whatever this browser was signed in as before ends here (not on a failed attempt).
    scope.sign_out_quietly().await?;
    let expires = signed_in.password_expires_at.map(|t| t.as_millis());
    if signed_in.mfa_devices.is_empty() && !signed_in.must_change_password() {
        return scope.establish(signed_in.principal, None, expires, &return_to).await;
    }
    let pending = PendingSignIn {
        stage: if signed_in.mfa_devices.is_empty() { PendingStage::ChangePassword } else { PendingStage::Mfa },
        must_change_password: signed_in.must_change_password(),
        password_expired: signed_in.password_expired,
        password_expires_at: expires,
        principal: signed_in.principal,
        started_at: ssr::now_millis(state),
        mfa_device: None,
        return_to,
    };
    scope.continue_sign_in(&pending).await?;
    scope.redirect(pending.stage.path());
    Ok(())
}

/// The sign-in step in progress in this browser, if any.
#[server(prefix = "/api", endpoint = "pending_sign_in")]
pub async fn pending_sign_in() -> Result<Option<PendingView>, ConsoleError> {
    use crate::ssr::PendingStage;
    let scope = crate::ssr::RequestScope::capture()?;
    let Some(pending) = scope.pending().await? else { return Ok(None) };
    let state = &scope.state;
    let account = state.iam.account(pending.principal.account_id()).await?;
    let who = match &pending.principal {
        iam_core::Principal::Root { .. } => account.root_email.clone(),
        iam_core::Principal::User { user_name, .. } => {
            format!("{user_name} @ {}", account.alias.clone().unwrap_or_else(|| account.account_id.clone()))
        }
    };
    let devices = state.iam.sign_in_mfa_devices(&pending.principal).await?;
    let requirements = state.iam.password_requirements(pending.principal.account_id(), None, &[]).await?.rules;
    Ok(Some(PendingView {
        stage: match pending.stage {
            PendingStage::Mfa => "mfa".to_owned(),
            PendingStage::ChangePassword => "change_password".to_owned(),
        },
        who,
        has_totp: devices.iter().any(|d| matches!(d.kind.as_str(), "totp" | "hardware")),
        security_keys: devices
            .iter()
            .filter(|d| d.kind == "webauthn")
            .map(|d| {
                let name = d.serial_number.rsplit('/').next().unwrap_or(&d.serial_number).to_owned();
                (d.serial_number.clone(), name)
            })
            .collect(),
        reason: if pending.password_expired { "expired".to_owned() } else { "reset".to_owned() },
        requirements,
    }))
}

/// The MFA step with a code from an authenticator app or a hardware TOTP token.
#[server(prefix = "/api", endpoint = "sign_in_mfa")]
pub async fn sign_in_mfa(code: String) -> Result<(), ConsoleError> {
    use crate::ssr::PendingStage;
    let scope = crate::ssr::RequestScope::capture()?;
    scope.limit_attempts()?;
    let Some(mut pending) = scope.pending().await?.filter(|p| p.stage == PendingStage::Mfa) else {
        return Err(step_expired());
    };
    let serial = scope
        .state
        .iam
        .sign_in_with_totp(&pending.principal, &code, &scope.sign_in_context())
        .await
        .map_err(|e| sign_in_error(&scope, e))?;
    if pending.must_change_password {
        pending.stage = PendingStage::ChangePassword;
        pending.mfa_device = Some(serial);
        scope.continue_sign_in(&pending).await?;
        scope.redirect(pending.stage.path());
        return Ok(());
    }
    scope.establish(pending.principal, Some(&serial), pending.password_expires_at, &pending.return_to).await
}

/// The last step when the password must change: the current one, and a new one twice.
#[server(prefix = "/api", endpoint = "sign_in_new_password")]
pub async fn sign_in_new_password(
    old_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ConsoleError> {
    use crate::ssr::PendingStage;
    let scope = crate::ssr::RequestScope::capture()?;
    scope.limit_attempts()?;
    let Some(pending) = scope.pending().await?.filter(|p| p.stage == PendingStage::ChangePassword) else {
        return Err(step_expired());
    };
    if new_password != confirm_password {
        return Err(ConsoleError::new("ValidationError", "The new passwords do not match."));
    }
    let state = &scope.state;
    let caller = scope.pending_caller(&pending);
    state
        .iam
        .change_password(&caller, &iam_core::Password::new(old_password), &iam_core::Password::new(new_password))
        .await?;
    let expires = state.iam.password_expires_at(&pending.principal).await?.map(|t| t.as_millis());
    scope.establish(pending.principal, pending.mfa_device.as_deref(), expires, &pending.return_to).await
}

/// Abandons a sign-in between its steps.
#[server(prefix = "/api", endpoint = "cancel_sign_in")]
pub async fn cancel_sign_in() -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    scope.sign_out_quietly().await?;
    scope.redirect("/signin");
    Ok(())
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    scope.sign_out_quietly().await?;
    scope.session()?.delete().await.map_err(|e| crate::ssr::internal(&format!("session: {e}")))?;
    scope.redirect("/signin");
    Ok(())
}

/// How strong `password` is, and which of the account's rules it misses: for the meter beside a
/// new-password field. Only for a signed-in principal or one in the middle of signing in.
#[server(prefix = "/api", endpoint = "check_password")]
pub async fn check_password(password: String) -> Result<PasswordCheck, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let principal = match scope.pending().await? {
        Some(pending) => pending.principal,
        None => scope.caller().await?.principal,
    };
    let state = &scope.state;
    let account = state.iam.account(principal.account_id()).await?;
    let mut inputs = vec![account.root_email.clone()];
    inputs.extend(account.alias.clone());
    if let iam_core::Principal::User { user_name, .. } = &principal {
        inputs.push(user_name.clone());
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let password = iam_core::Password::new(password);
    let rated = state.iam.password_requirements(principal.account_id(), Some(&password), &inputs).await?;
    let (unmet, strength) = (rated.unmet, rated.strength);
    let label = match strength.score {
        0 => "Very weak",
        1 => "Weak",
        2 => "Fair",
        3 => "Good",
        _ => "Strong",
    };
    Ok(PasswordCheck { score: strength.score, label: label.to_owned(), warning: strength.warning, unmet })
}
