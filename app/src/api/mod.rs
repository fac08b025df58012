//! The console's server functions and the plain view types they return. Each is a few lines:
//! get the caller, call one iam-core action (which authorizes), map the result to a view type.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

mod credentials;
mod groups;
mod permissions;
mod roles;
mod security_keys;
mod settings;
mod sign_in;
mod tags;

pub use credentials::*;
pub use groups::*;
pub use permissions::*;
pub use roles::*;
pub use security_keys::*;
pub use settings::*;
pub use sign_in::*;
pub use tags::*;

/// Who is signed in, for the top bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub account_id: String,
    pub account_alias: Option<String>,
    /// The root user's email, or the IAM user's name.
    pub display_name: String,
    pub is_root: bool,
    pub arn: String,
    /// The principal has an MFA device.
    pub has_mfa: bool,
    /// Days until the password expires, when 15 or fewer (AWS's console warns then).
    pub password_expires_in_days: Option<i64>,
    /// Where the account's IAM users sign in (absolute, with the alias if there is one).
    pub sign_in_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagView {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub user_name: String,
    pub user_id: String,
    pub path: String,
    pub arn: String,
    pub created: String,
    pub console_access: bool,
    pub password_last_used: Option<String>,
    pub tags: Vec<TagView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserView>,
    pub next_marker: Option<String>,
}

/// Whether the setup link can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetupLink {
    Open,
    InvalidLink,
    AlreadySetUp,
}

/// A tag row of the create-user form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInput {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[cfg(feature = "ssr")]
fn user_view(user: iam_core::users::User) -> UserView {
    UserView {
        user_name: user.user_name,
        user_id: user.user_id,
        path: user.path,
        arn: user.arn,
        created: user.create_date.to_iso8601(),
        console_access: user.has_login_profile,
        password_last_used: user.password_last_used.map(|t| t.to_iso8601()),
        tags: user.tags.into_iter().map(|t| TagView { key: t.key, value: t.value }).collect(),
    }
}

/// The most a batch form may name at once: each item is one write (and one audit event), and a
/// form shows at most a page of rows or a picker's choices.
pub const MAX_BATCH: usize = 50;

/// The non-empty names of a batch form, sorted, each once (IAM names ignoring case, as IAM
/// compares them; policy ARNs exactly); refused past [`MAX_BATCH`] or when there are none
/// (`none` says what to choose).
#[cfg(feature = "ssr")]
pub(crate) fn batch(names: Vec<String>, none: &str) -> Result<Vec<String>, ConsoleError> {
    let mut names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    let arns = names.iter().all(|n| n.starts_with("arn:"));
    if arns {
        names.sort();
        names.dedup();
    } else {
        names.sort_by_key(|n| n.to_ascii_lowercase());
        names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    }
    if names.is_empty() {
        return Err(ConsoleError::new("ValidationError", none));
    }
    if names.len() > MAX_BATCH {
        return Err(ConsoleError::new("ValidationError", format!("Choose at most {MAX_BATCH} at once.")));
    }
    Ok(names)
}

/// What went wrong with some of a batch: each name with AWS's code and message, in one error.
#[cfg(feature = "ssr")]
pub(crate) fn batch_error(done: &str, failed: &[(String, ConsoleError)]) -> ConsoleError {
    let each: Vec<String> = failed.iter().map(|(name, e)| format!("{name}: {} ({})", e.message, e.code)).collect();
    // One code for the bar: the first failure's, which the message then details.
    let code = failed.first().map_or("RequestFailed", |(_, e)| e.code.as_str());
    ConsoleError::new(code, format!("{done}{}", each.join("; ")))
}

/// Only same-origin paths are followed after sign-in: never another origin.
///
/// An allowlist, not a blocklist: browsers drop tabs and newlines from URLs and read `\` as `/`,
/// so `/<TAB>/evil.example` and `/\evil.example` both become `//evil.example`, another origin. A
/// path is followed only when it starts with one `/`, is made of characters that mean the same to
/// every browser, and escapes (`%XX`) nothing that could turn into a second slash or a control.
pub fn safe_return_path(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    let local = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/-._~?&=+,:@%!*'()$;".contains(&b);
    // Every escape names two hex digits of a printable character other than a slash or backslash.
    let escapes_ok = path.split('%').skip(1).all(|after| {
        let hex = after.get(..2).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        let decoded = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
        matches!(decoded, Some(b) if b >= 0x80 || ((b' '..=b'~').contains(&b) && b != b'/' && b != b'\\'))
    });
    let ok = local
        && bytes.iter().all(|&b| plain(b))
        && escapes_ok
        && !path.starts_with("/signin")
        && !path.starts_with("/setup");
    ok.then_some(path)
}

#[server(prefix = "/api", endpoint = "whoami")]
pub async fn whoami() -> Result<Identity, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let account = scope.state.iam.account(caller.account_id()).await?;
    let (display_name, is_root) = match &caller.principal {
        iam_core::Principal::Root { .. } => (account.root_email.clone(), true),
        iam_core::Principal::User { user_name, .. } => (user_name.clone(), false),
    };
    let iam = &scope.state.iam;
    let has_mfa = !iam.sign_in_mfa_devices(&caller.principal).await?.is_empty();
    let expires = iam.password_expires_at(&caller.principal).await?;
    let now = iam.now().as_millis();
    let password_expires_in_days = expires
        .map(|t| t.as_millis() - now)
        .filter(|left| *left <= iam_core::sign_in::EXPIRY_WARNING_MS)
        .map(|left| (left.max(0) + 86_399_999) / 86_400_000);
    let sign_in_url =
        settings::sign_in_url(&scope.state.public_origin, account.alias.as_deref().unwrap_or(&account.account_id));
    Ok(Identity {
        sign_in_url,
        account_id: account.account_id,
        account_alias: account.alias,
        display_name,
        is_root,
        arn: caller.principal.arn().to_string(),
        has_mfa,
        password_expires_in_days,
    })
}

#[server(prefix = "/api", endpoint = "setup_state")]
pub async fn setup_state(token: String) -> Result<SetupLink, ConsoleError> {
    let state = crate::ssr::RequestScope::capture()?.state;
    if state.iam.is_set_up().await? {
        state.setup.close();
        return Ok(SetupLink::AlreadySetUp);
    }
    Ok(if state.setup.accepts(&token) { SetupLink::Open } else { SetupLink::InvalidLink })
}

#[server(prefix = "/api", endpoint = "complete_setup")]
pub async fn complete_setup(
    token: String,
    account_alias: String,
    email: String,
    password: String,
    confirm_password: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let state = &scope.state;
    if !state.setup.accepts(&token) || state.iam.is_set_up().await? {
        return Err(ConsoleError::new("InvalidSetupLink", "This setup link is no longer valid."));
    }
    if password != confirm_password {
        return Err(ConsoleError::new("ValidationError", "The passwords do not match."));
    }
    let new = iam_core::accounts::NewAccount {
        alias: account_alias.trim().to_owned(),
        root_email: email,
        root_password: iam_core::Password::new(password),
    };
    let account = state.iam.bootstrap(new).await?;
    state.setup.close();
    tracing::info!(account_id = %account.account_id, "first account created through the setup link");
    scope.redirect("/signin?setup=done");
    Ok(())
}

#[server(prefix = "/api", endpoint = "list_users")]
pub async fn list_users(
    #[server(default)] search: String,
    #[server(default)] marker: String,
) -> Result<UsersPage, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = &scope.state;
    let input = iam_core::users::ListUsers {
        name_contains: Some(search.trim().to_owned()).filter(|s| !s.is_empty()),
        marker: Some(marker).filter(|m| !m.is_empty()),
        max_items: Some(25),
        path_prefix: None,
    };
    let page = state.iam.list_users(&caller, input).await?;
    Ok(UsersPage { users: page.items.into_iter().map(user_view).collect(), next_marker: page.marker })
}

#[server(prefix = "/api", endpoint = "get_user")]
pub async fn get_user(user_name: String) -> Result<UserView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = &scope.state;
    let user = state.iam.get_user(&caller, &user_name).await?;
    Ok(user_view(user))
}

#[server(prefix = "/api", endpoint = "create_user")]
pub async fn create_user(
    user_name: String,
    #[server(default)] path: String,
    #[server(default)] tags: Vec<TagInput>,
    #[server(default)] console_access: String,
    #[server(default)] console_password: String,
    #[server(default)] console_password_reset: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = &scope.state;
    let tags: Vec<(String, String)> =
        tags.into_iter().filter(|t| !(t.key.is_empty() && t.value.is_empty())).map(|t| (t.key, t.value)).collect();
    let input = iam_core::users::CreateUser {
        user_name: user_name.trim().to_owned(),
        path: Some(path.trim().to_owned()).filter(|p| !p.is_empty()),
        tags,
        permissions_boundary: None,
    };
    let wants_console = console_access == "on" || console_access == "true";
    let password = iam_core::Password::new(console_password);
    if wants_console {
        // Checked before the user exists, so a weak password leaves nothing half-made.
        state.iam.check_new_password(caller.account_id(), &password, &[input.user_name.as_str()]).await?;
    }
    let user = state.iam.create_user(&caller, input).await?;
    if wants_console {
        let reset = console_password_reset == "on" || console_password_reset == "true";
        state.iam.create_login_profile(&caller, &user.user_name, &password, reset).await?;
    }
    let target = crate::paths::user_href(&user.user_name);
    scope.redirect(&target);
    Ok(())
}

#[server(prefix = "/api", endpoint = "delete_user")]
pub async fn delete_user(user_name: String, confirmation: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    if confirmation.trim() != user_name {
        return Err(ConsoleError::new("ValidationError", format!("To confirm, enter the user name `{user_name}`.")));
    }
    let caller = scope.caller().await?;
    let state = &scope.state;
    // As the AWS console does: the user and everything that would block DeleteUser, all or nothing.
    state.iam.delete_user_and_dependents(&caller, &user_name).await?;
    scope.redirect("/users");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        for good in [
            "/",
            "/users/alice",
            "/users/bob@example.com",
            "/users/a+b=c,d.e_f-g",
            "/users?search=ALICE%20B&marker=x",
            "/users/%C3%A9",
            "/@evil.example",
        ] {
            assert_eq!(safe_return_path(good), Some(good), "{good}");
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            // Browsers drop tabs and newlines: each of these becomes `//evil.example`.
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            // Backslashes anywhere, encoded or not, and encoded slashes.
            "/a\\b",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5C/evil.example",
            "/%5cevil.example",
            "/%09/evil.example",
            "/%0d%0aSet-Cookie:%20a=b",
            "/%",
            "/%2",
            "/%zz",
            // Userinfo and schemes.
            "//user@evil.example",
            "/\\@evil.example",
            "https://example.com@evil.example",
            "javascript:alert(1)",
            " /users",
            "/users alice",
            "/<script>",
            "/users\"x",
            "/é",
            "users",
            "/signin",
            "/signin?return_to=//evil.example",
            "/setup?token=x",
            "/x\r\nSet-Cookie: a=b",
            "",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad}");
        }
    }
}
