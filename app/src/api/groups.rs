//! User groups: the list, creation (with members and policies), a group's members, and deletion.
//! Each step is the IAM action AWS's console calls (`ListGroups`, `GetGroup`, `CreateGroup`,
//! `AddUserToGroup`, `RemoveUserFromGroup`, `AttachGroupPolicy`, `DeleteGroup`...), which
//! iam-core authorizes; a cell the caller may not read shows that refusal, not a guess.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::list::ListPage;
use crate::error::ConsoleError;

/// A row of the groups list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub group_name: String,
    pub path: String,
    pub created: String,
    /// How many users it has (`GetGroup`).
    pub users: Result<usize, ConsoleError>,
    /// How many policies it has, managed and inline (`ListAttachedGroupPolicies`, `ListGroupPolicies`).
    pub policies: Result<usize, ConsoleError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub user_name: String,
    pub created: String,
    pub password_last_used: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub group_name: String,
    pub group_id: String,
    pub path: String,
    pub arn: String,
    pub created: String,
    pub users: Vec<GroupMember>,
}

/// A user offered in a picker: its name and when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChoice {
    pub user_name: String,
    pub created: String,
}

/// Users offered by a picker at most at once; the filter finds the others.
pub const CHOICES: usize = 20;

/// Every group of the caller's account (AWS allows 300), page by page through `ListGroups`.
#[cfg(feature = "ssr")]
async fn all_groups(
    iam: &iam_core::Iam,
    caller: &iam_core::Caller,
) -> Result<Vec<iam_core::groups::Group>, ConsoleError> {
    let mut groups = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam.list_groups(caller, None, marker.as_deref(), Some(1000)).await?;
        groups.extend(page.items);
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => return Ok(groups),
        }
    }
}

#[server(prefix = "/api", endpoint = "list_groups")]
pub async fn list_groups(
    #[server(default)] filter: String,
    #[server(default)] sort: String,
    #[server(default)] desc: bool,
    #[server(default)] page: usize,
    #[server(default)] size: usize,
) -> Result<ListPage<GroupRow>, ConsoleError> {
    use crate::components::list::ListState;
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let state = ListState { filter, sort, desc, page, size, ..ListState::default() };
    let mut groups: Vec<_> =
        all_groups(iam, &caller).await?.into_iter().filter(|g| state.matches(&g.group_name)).collect();
    crate::components::list::sort_rows(&mut groups, &state, |g, column| match column {
        "created" => (g.create_date.as_millis(), g.group_name.to_lowercase()),
        _ => (0, g.group_name.to_lowercase()),
    });
    let page = ListPage::of(groups, &state);
    // The counts of the rows shown only, one read each, as AWS's console does.
    let mut rows = Vec::with_capacity(page.items.len());
    for group in &page.items {
        let users = iam.get_group(&caller, &group.group_name).await.map(|g| g.users.len());
        let attached = iam.list_attached_policies(&caller, EntityKind::Group, &group.group_name).await;
        let inline = iam.list_inline_policies(&caller, EntityKind::Group, &group.group_name).await;
        let policies = attached.and_then(|a| inline.map(|i| a.len() + i.len()));
        rows.push(GroupRow {
            group_name: group.group_name.clone(),
            path: group.path.clone(),
            created: group.create_date.to_iso8601(),
            users: users.map_err(ConsoleError::from),
            policies: policies.map_err(ConsoleError::from),
        });
    }
    Ok(ListPage { items: rows, total: page.total, page: page.page, pages: page.pages })
}

#[server(prefix = "/api", endpoint = "group_details")]
pub async fn group_details(group_name: String) -> Result<GroupView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let found = scope.state.iam.get_group(&caller, &group_name).await?;
    Ok(GroupView {
        group_name: found.group.group_name,
        group_id: found.group.group_id,
        path: found.group.path,
        arn: found.group.arn,
        created: found.group.create_date.to_iso8601(),
        users: found
            .users
            .into_iter()
            .map(|u| GroupMember {
                user_name: u.user_name,
                created: u.create_date.to_iso8601(),
                password_last_used: u.password_last_used.map(|t| t.to_iso8601()),
            })
            .collect(),
    })
}

/// Users whose name contains `filter` (all users when it is empty), at most [`CHOICES`], for the
/// pickers of the group pages (`ListUsers`).
#[server(prefix = "/api", endpoint = "user_choices")]
pub async fn user_choices(#[server(default)] filter: String) -> Result<Vec<UserChoice>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let input = iam_core::users::ListUsers {
        name_contains: Some(filter.trim().to_owned()).filter(|s| !s.is_empty()),
        marker: None,
        max_items: Some(CHOICES as i64),
        path_prefix: None,
    };
    let page = scope.state.iam.list_users(&caller, input).await?;
    Ok(page
        .items
        .into_iter()
        .map(|u| UserChoice { user_name: u.user_name, created: u.create_date.to_iso8601() })
        .collect())
}

/// Creates a group, then adds the chosen users and attaches the chosen policies, as AWS's
/// console does (one action each). What could not be done is reported with the group made.
#[server(prefix = "/api", endpoint = "create_group")]
pub async fn create_group(
    group_name: String,
    #[server(default)] path: String,
    #[server(default)] users: Vec<String>,
    #[server(default)] policies: Vec<String>,
) -> Result<(), ConsoleError> {
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let path = Some(path.trim()).filter(|p| !p.is_empty());
    // Checked before the group exists: a refused batch leaves nothing half-made.
    let users = if users.iter().all(String::is_empty) { Vec::new() } else { super::batch(users, "")? };
    let policies = if policies.iter().all(String::is_empty) { Vec::new() } else { super::batch(policies, "")? };
    let group = iam.create_group(&caller, group_name.trim(), path).await?;
    let name = group.group_name;
    let mut failed = Vec::new();
    for user in &users {
        if let Err(e) = iam.add_user_to_group(&caller, &name, user).await {
            failed.push((user.clone(), ConsoleError::from(e)));
        }
    }
    for arn in &policies {
        if let Err(e) = iam.attach_policy(&caller, EntityKind::Group, &name, arn).await {
            failed.push((arn.clone(), ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        return Err(super::batch_error(&format!("Group {name} was created, but not all of it: "), &failed));
    }
    scope.redirect_done(&crate::paths::group_href(&name), "group-created");
    Ok(())
}

#[server(prefix = "/api", endpoint = "add_users_to_group")]
pub async fn add_users_to_group(group_name: String, #[server(default)] users: Vec<String>) -> Result<(), ConsoleError> {
    change_members(Members::OfGroup(&group_name), users, true).await
}

#[server(prefix = "/api", endpoint = "remove_users_from_group")]
pub async fn remove_users_from_group(
    group_name: String,
    #[server(default)] names: Vec<String>,
) -> Result<(), ConsoleError> {
    change_members(Members::OfGroup(&group_name), names, false).await
}

/// Deletes the selected groups, each with its members and policies (all or nothing per group,
/// iam-core's `delete_group_and_dependents`), after the word `delete` is typed.
#[server(prefix = "/api", endpoint = "delete_groups")]
pub async fn delete_groups(#[server(default)] names: Vec<String>, confirmation: String) -> Result<(), ConsoleError> {
    super::delete_selected(super::Listed::Groups, names, confirmation).await
}

/// Deletes one group from its page, after its name is typed, as AWS's console asks.
#[server(prefix = "/api", endpoint = "delete_group")]
pub async fn delete_group(group_name: String, confirmation: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    if confirmation.trim() != group_name {
        return Err(ConsoleError::new("ValidationError", format!("To confirm, enter the group name `{group_name}`.")));
    }
    let caller = scope.caller().await?;
    scope.state.iam.delete_group_and_dependents(&caller, &group_name).await?;
    let query = format!("/groups?deleted={}", crate::components::list::urlencode(&group_name));
    scope.redirect_done(&query, "groups-deleted");
    Ok(())
}

/// A group a user belongs to, or may be added to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChoice {
    pub group_name: String,
    pub created: String,
}

/// `ListGroupsForUser`.
#[server(prefix = "/api", endpoint = "groups_for_user")]
pub async fn groups_for_user(user_name: String) -> Result<Vec<GroupChoice>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let groups = scope.state.iam.list_groups_for_user(&caller, &user_name).await?;
    Ok(groups
        .into_iter()
        .map(|g| GroupChoice { group_name: g.group_name, created: g.create_date.to_iso8601() })
        .collect())
}

/// Groups whose name contains `filter`, at most [`CHOICES`], for the pickers (`ListGroups`).
#[server(prefix = "/api", endpoint = "group_choices")]
pub async fn group_choices(#[server(default)] filter: String) -> Result<Vec<GroupChoice>, ConsoleError> {
    use crate::components::list::ListState;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = ListState { filter, ..ListState::default() };
    Ok(all_groups(&scope.state.iam, &caller)
        .await?
        .into_iter()
        .filter(|g| state.matches(&g.group_name))
        .take(CHOICES)
        .map(|g| GroupChoice { group_name: g.group_name, created: g.create_date.to_iso8601() })
        .collect())
}

/// Adds a user to each chosen group (`AddUserToGroup`).
#[server(prefix = "/api", endpoint = "add_user_to_groups")]
pub async fn add_user_to_groups(user_name: String, #[server(default)] groups: Vec<String>) -> Result<(), ConsoleError> {
    change_members(Members::OfUser(&user_name), groups, true).await
}

/// Removes a user from each selected group (`RemoveUserFromGroup`).
#[server(prefix = "/api", endpoint = "remove_user_from_groups")]
pub async fn remove_user_from_groups(
    user_name: String,
    #[server(default)] groups: Vec<String>,
) -> Result<(), ConsoleError> {
    change_members(Members::OfUser(&user_name), groups, false).await
}

/// Whose memberships a batch changes: a group's (the batch names users) or a user's (groups).
#[cfg(feature = "ssr")]
#[derive(Clone, Copy)]
enum Members<'a> {
    OfGroup(&'a str),
    OfUser(&'a str),
}

/// Adds (`AddUserToGroup`) or removes (`RemoveUserFromGroup`) each membership of a batch, then
/// goes back to the page it was changed from; what failed is named in one error.
#[cfg(feature = "ssr")]
async fn change_members(side: Members<'_>, names: Vec<String>, add: bool) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let (none, partly, back, done) = match (side, add) {
        (Members::OfGroup(g), true) => (
            "Choose at least one user to add.",
            "Not every user was added. ",
            crate::paths::group_href(g),
            "users-added",
        ),
        (Members::OfGroup(g), false) => (
            "Select at least one user to remove.",
            "Not every user was removed. ",
            crate::paths::group_href(g),
            "users-removed",
        ),
        (Members::OfUser(u), true) => {
            ("Choose at least one group.", "Not added to every group. ", crate::paths::user_href(u), "groups-joined")
        }
        (Members::OfUser(u), false) => (
            "Select at least one group to remove the user from.",
            "Not removed from every group. ",
            crate::paths::user_href(u),
            "groups-left",
        ),
    };
    let mut failed = Vec::new();
    for name in super::batch(names, none)? {
        let (group, user) = match side {
            Members::OfGroup(g) => (g, name.as_str()),
            Members::OfUser(u) => (name.as_str(), u),
        };
        let changed = if add {
            iam.add_user_to_group(&caller, group, user).await
        } else {
            iam.remove_user_from_group(&caller, group, user).await
        };
        if let Err(e) = changed {
            failed.push((name, ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        return Err(super::batch_error(partly, &failed));
    }
    scope.redirect_done(&back, done);
    Ok(())
}
