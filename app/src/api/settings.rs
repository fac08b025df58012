//! Account settings: the account alias (and the sign-in URL it makes), and the password policy
//! (every AWS field, within AWS's ranges).

// The policy form posts one field per AWS setting; the server macro's browser-side stub takes
// them as they are, so the allowance is for the module (the macro does not pass it on).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// The password policy as the settings page shows it. `custom` is false when the account has
/// none: AWS's default rules apply then, and the form starts from AWS's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicyView {
    pub custom: bool,
    pub minimum_password_length: i64,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub allow_users_to_change_password: bool,
    pub max_password_age: Option<i64>,
    pub password_reuse_prevention: Option<i64>,
    pub hard_expiry: bool,
}

#[server(prefix = "/api", endpoint = "password_policy")]
pub async fn password_policy() -> Result<PasswordPolicyView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    match scope.state.iam.get_account_password_policy(&caller).await {
        Ok(p) => Ok(PasswordPolicyView {
            custom: true,
            minimum_password_length: p.minimum_password_length,
            require_uppercase: p.require_uppercase_characters,
            require_lowercase: p.require_lowercase_characters,
            require_numbers: p.require_numbers,
            require_symbols: p.require_symbols,
            allow_users_to_change_password: p.allow_users_to_change_password,
            max_password_age: p.max_password_age,
            password_reuse_prevention: p.password_reuse_prevention,
            hard_expiry: p.hard_expiry,
        }),
        Err(iam_core::IamError::NoSuchEntity(_)) => Ok(PasswordPolicyView {
            custom: false,
            minimum_password_length: 8,
            require_uppercase: false,
            require_lowercase: false,
            require_numbers: false,
            require_symbols: false,
            allow_users_to_change_password: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: false,
        }),
        Err(e) => Err(e.into()),
    }
}

/// A number field of the form: empty means not set; anything else must be a whole number.
#[cfg(feature = "ssr")]
fn number(label: &str, text: &str) -> Result<Option<i64>, ConsoleError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| ConsoleError::new("ValidationError", format!("{label} must be a whole number.")))
}

#[cfg(feature = "ssr")]
fn checked(value: &str) -> bool {
    value == "on" || value == "true"
}

#[server(prefix = "/api", endpoint = "update_password_policy")]
pub async fn update_password_policy(
    minimum_password_length: String,
    #[server(default)] require_uppercase: String,
    #[server(default)] require_lowercase: String,
    #[server(default)] require_numbers: String,
    #[server(default)] require_symbols: String,
    #[server(default)] allow_users_to_change_password: String,
    #[server(default)] expire_passwords: String,
    #[server(default)] max_password_age: String,
    #[server(default)] prevent_reuse: String,
    #[server(default)] password_reuse_prevention: String,
    #[server(default)] hard_expiry: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let input = iam_core::password_policy::UpdatePasswordPolicy {
        minimum_password_length: number("Minimum password length", &minimum_password_length)?,
        require_symbols: Some(checked(&require_symbols)),
        require_numbers: Some(checked(&require_numbers)),
        require_uppercase_characters: Some(checked(&require_uppercase)),
        require_lowercase_characters: Some(checked(&require_lowercase)),
        allow_users_to_change_password: Some(checked(&allow_users_to_change_password)),
        max_password_age: if checked(&expire_passwords) {
            Some(number("Password expiration period", &max_password_age)?.ok_or_else(|| {
                ConsoleError::new("ValidationError", "Enter the password expiration period in days (1-1095).")
            })?)
        } else {
            None
        },
        password_reuse_prevention: if checked(&prevent_reuse) {
            Some(number("Remembered passwords", &password_reuse_prevention)?.ok_or_else(|| {
                ConsoleError::new("ValidationError", "Enter how many earlier passwords to remember (1-24).")
            })?)
        } else {
            None
        },
        hard_expiry: Some(checked(&hard_expiry) && checked(&expire_passwords)),
    };
    scope.state.iam.update_account_password_policy(&caller, input).await?;
    scope.redirect_done("/account-settings", "saved");
    Ok(())
}

/// Removes the custom policy: AWS's default rules apply again.
#[server(prefix = "/api", endpoint = "delete_password_policy")]
pub async fn delete_password_policy() -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.delete_account_password_policy(&caller).await?;
    scope.redirect_done("/account-settings", "default");
    Ok(())
}

/// The account's alias, and the sign-in URL its IAM users use (absolute, from the public origin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAliasView {
    pub account_id: String,
    pub alias: Option<String>,
    pub sign_in_url: String,
}

/// Where the IAM users of an account sign in: the public origin's sign-in page for the account's
/// alias, or its id without one.
#[cfg(feature = "ssr")]
pub(crate) fn sign_in_url(public_origin: &str, alias_or_id: &str) -> String {
    format!("{}/signin?account={alias_or_id}", public_origin.trim_end_matches('/'))
}

/// `ListAccountAliases`.
#[server(prefix = "/api", endpoint = "account_alias")]
pub async fn account_alias() -> Result<AccountAliasView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let alias = scope.state.iam.list_account_aliases(&caller).await?.into_iter().next();
    let account_id = caller.account_id().to_owned();
    let sign_in_url = sign_in_url(&scope.state.public_origin, alias.as_deref().unwrap_or(&account_id));
    Ok(AccountAliasView { account_id, alias, sign_in_url })
}

/// `CreateAccountAlias`: creates the alias, or replaces the one there is (an account has one).
#[server(prefix = "/api", endpoint = "set_account_alias")]
pub async fn set_account_alias(alias: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.create_account_alias(&caller, &alias).await?;
    scope.redirect_done("/account-settings", "alias");
    Ok(())
}

/// `DeleteAccountAlias`: IAM users then sign in with the account id.
#[server(prefix = "/api", endpoint = "delete_account_alias")]
pub async fn delete_account_alias(alias: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.delete_account_alias(&caller, &alias).await?;
    scope.redirect_done("/account-settings", "alias-deleted");
    Ok(())
}
