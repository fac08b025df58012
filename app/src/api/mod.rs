//! The console's server functions and the plain view types they return. Each is a few lines:
//! get the caller, call one iam-core action (which authorizes), map the result to a view type.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::list::ListPage;
use crate::error::ConsoleError;

mod credentials;
mod groups;
mod permissions;
mod policies;
mod roles;
mod security_keys;
mod services;
mod settings;
mod sign_in;
mod tags;
mod users;

pub use credentials::*;
pub use groups::*;
pub use permissions::*;
pub use policies::*;
pub use roles::*;
pub use security_keys::*;
pub use services::*;
pub use settings::*;
pub use sign_in::*;
pub use tags::*;
pub use users::*;

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

/// A row of the users list: AWS's console's columns. A column the caller may not read carries
/// the refusal, which the cell shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_name: String,
    pub path: String,
    /// How many groups (`ListGroupsForUser`).
    pub groups: Result<usize, ConsoleError>,
    /// The latest of the console password's and the access keys' last use (refused with
    /// `GetAccessKeyLastUsed`).
    pub last_activity: Result<Option<String>, ConsoleError>,
    /// The kinds of its MFA devices (`ListMFADevices`): `Virtual`, `Security key`, `Hardware`.
    pub mfa: Result<Vec<String>, ConsoleError>,
    /// Days since the console password was set (`GetLoginProfile`); `None` without one.
    pub password_age_days: Result<Option<i64>, ConsoleError>,
    pub console_last_sign_in: Option<String>,
    /// Days since the oldest active access key was made (`ListAccessKeys`); `None` without one.
    pub active_key_age_days: Result<Option<i64>, ConsoleError>,
    pub created: String,
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

/// The users list, as AWS's console shows it: filter, sort, pages, and for the rows shown the
/// columns iam-core reads under their own actions (`user_list_columns`).
#[server(prefix = "/api", endpoint = "list_users")]
pub async fn list_users(
    #[server(default)] filter: String,
    #[server(default)] sort: String,
    #[server(default)] desc: bool,
    #[server(default)] page: usize,
    #[server(default)] size: usize,
) -> Result<ListPage<UserRow>, ConsoleError> {
    use crate::components::list::ListState;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let state = ListState { filter, sort, desc, page, size, ..ListState::default() };
    // Only the page's rows are read (AWS allows 5,000 users an account), in the database's order.
    let query = iam_core::users::UsersQuery {
        name_contains: Some(state.filter.trim().to_owned()),
        order: match state.sort.as_str() {
            "created" => iam_core::users::UserOrder::Created,
            "signin" => iam_core::users::UserOrder::ConsoleSignIn,
            "path" => iam_core::users::UserOrder::Path,
            _ => iam_core::users::UserOrder::Name,
        },
        descending: state.desc,
        page: state.page,
        page_size: state.page_size(),
    };
    let found = iam.users_page(&caller, query).await?;
    let page = ListPage { items: found.users, total: found.total, page: found.page, pages: found.pages };
    let columns = iam.user_list_columns(&caller, &page.items).await?;
    let now = iam.now().as_millis();
    let days = |at: iam_core::Timestamp| (now - at.as_millis()).max(0) / 86_400_000;
    // A refused cell carries the code and the action refused, not the whole message (a page can
    // have hundreds of them).
    let cell = |action: &str, e: iam_core::IamError| ConsoleError::new(e.code(), action);
    let rows = page
        .items
        .into_iter()
        .zip(columns)
        .map(|(u, c)| {
            // Known only when the keys' last use may be read: a refusal is not "never".
            let last_activity = c
                .keys_last_used
                .map(|keys| [u.password_last_used, keys].into_iter().flatten().max().map(|t| t.to_iso8601()))
                .map_err(|e| cell("iam:GetAccessKeyLastUsed", e));
            UserRow {
                groups: c.groups.map_err(|e| cell("iam:ListGroupsForUser", e)),
                mfa: c
                    .mfa
                    .map(|kinds| kinds.iter().map(|k| mfa_label(k).to_owned()).collect())
                    .map_err(|e| cell("iam:ListMFADevices", e)),
                password_age_days: c
                    .password_changed
                    .map(|at| at.map(days))
                    .map_err(|e| cell("iam:GetLoginProfile", e)),
                active_key_age_days: c
                    .active_keys
                    .map(|keys| keys.into_iter().min().map(days))
                    .map_err(|e| cell("iam:ListAccessKeys", e)),
                last_activity,
                console_last_sign_in: u.password_last_used.map(|t| t.to_iso8601()),
                created: u.create_date.to_iso8601(),
                user_name: u.user_name,
                path: u.path,
            }
        })
        .collect();
    Ok(ListPage { items: rows, total: page.total, page: page.page, pages: page.pages })
}

/// An MFA device's kind as AWS's console names it.
#[cfg(feature = "ssr")]
fn mfa_label(kind: &str) -> &'static str {
    match kind {
        "totp" => "Virtual",
        "webauthn" => "Security key",
        _ => "Hardware",
    }
}

/// Deletes the selected users, each with everything it has (iam-core's
/// `delete_user_and_dependents`: all or nothing per user), after the word `delete` is typed.
#[server(prefix = "/api", endpoint = "delete_users")]
pub async fn delete_users(#[server(default)] names: Vec<String>, confirmation: String) -> Result<(), ConsoleError> {
    delete_selected(Listed::Users, names, confirmation).await
}

/// The lists whose rows are deleted in bulk.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listed {
    Users,
    Groups,
    Roles,
}

/// Deletes the rows selected in a list, each with everything that would block its deletion
/// (iam-core's `delete_*_and_dependents`: all or nothing per entity, each step authorized), after
/// the word `delete` is typed; back to the list, which names what was deleted. A partial failure
/// names each refused entity with AWS's code and message.
#[cfg(feature = "ssr")]
pub(crate) async fn delete_selected(
    listed: Listed,
    names: Vec<String>,
    confirmation: String,
) -> Result<(), ConsoleError> {
    let (what, list) = match listed {
        Listed::Users => ("user", "/users"),
        Listed::Groups => ("group", "/groups"),
        Listed::Roles => ("role", "/roles"),
    };
    let scope = crate::ssr::RequestScope::capture()?;
    let mut names = batch(names, &format!("Select at least one {what} to delete."))?;
    if confirmation.trim() != "delete" {
        return Err(ConsoleError::new("ValidationError", "To confirm, enter `delete` in the field."));
    }
    let caller = scope.caller().await?;
    // One's own user last: deleting it ends the rights the others need.
    if let (Listed::Users, iam_core::Principal::User { user_name, .. }) = (listed, &caller.principal) {
        names.sort_by_key(|n| n.eq_ignore_ascii_case(user_name));
    }
    let iam = &scope.state.iam;
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let result = match listed {
            Listed::Users => iam.delete_user_and_dependents(&caller, &name).await,
            Listed::Groups => iam.delete_group_and_dependents(&caller, &name).await,
            Listed::Roles => iam.delete_role_and_dependents(&caller, &name).await,
        };
        match result {
            Ok(()) => deleted.push(name),
            Err(e) => failed.push((name, ConsoleError::from(e))),
        }
    }
    if !failed.is_empty() {
        let done = if deleted.is_empty() { String::new() } else { format!("Deleted {}. ", deleted.join(", ")) };
        return Err(batch_error(&format!("{done}Not deleted: "), &failed));
    }
    let query: Vec<String> =
        deleted.iter().map(|n| format!("deleted={}", crate::components::list::urlencode(n))).collect();
    scope.redirect_done(&format!("{list}?{}", query.join("&")), &format!("{what}s-deleted"));
    Ok(())
}

#[server(prefix = "/api", endpoint = "get_user")]
pub async fn get_user(user_name: String) -> Result<UserView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = &scope.state;
    let user = state.iam.get_user(&caller, &user_name).await?;
    Ok(user_view(user))
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
    let query = format!("/users?deleted={}", crate::components::list::urlencode(&user_name));
    scope.redirect_done(&query, "users-deleted");
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
