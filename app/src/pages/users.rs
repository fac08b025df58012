//! Users: the list (AWS's columns, filter, sort, pages, bulk delete), creation (name, path, tags,
//! console password), a user's details, and deletion.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    AddUserToGroups, DeleteUser, DeleteUsers, EndUserSessions, RemoveUserFromGroups, ResetUserPassword, UserRow,
    UserView, get_user, groups_for_user, list_users, my_password, user_sessions,
};
use crate::components::list::{
    BulkDeleteFields, ListFilter, ListPage, ListState, Pager, RowCheckbox, SortHeader, deleted_bar, deleted_names,
};
use crate::error::ConsoleError;
use crate::pages::access_keys::{AccessKeysPanel, access_key_notice};
use crate::pages::layout::Breadcrumbs;
use crate::pages::mfa_devices::{MfaDevicesPanel, mfa_notice};
use crate::pages::password::NewPasswordFields;
use crate::pages::permissions::{
    AttachedPoliciesPanel, BoundaryPanel, InlinePoliciesPanel, UserPermissionsPanel, permissions_notice,
};
use crate::pages::pickers::GroupPicker;
use crate::pages::tags::TagsPanel;
use crate::pages::{ErrorAlert, action_error};
use crate::paths::{group_href, user_href};

/// The id of the list's bulk-delete form, which the rows' checkboxes belong to.
const BULK_FORM: &str = "delete-users";
const BULK_EXPLANATION: &str = "Deleting a user deletes its console password, access keys, MFA devices (virtual ones \
                                with it), signing-in sessions, inline policies and group memberships, and detaches \
                                its managed policies. This cannot be undone.";
const BASE: &str = "/users";

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    // `try_with`, as on the user page: read inside the suspended view, after the query may be gone.
    let state = move || query.try_with(ListState::from_query).unwrap_or_default();
    let deleted = move || query.try_with(|q| deleted_names(q, "users-deleted")).unwrap_or_default();
    let delete = ServerAction::<DeleteUsers>::new();
    // Bumped when a delete may have deleted something (see the groups list).
    let changed = RwSignal::new(0_u32);
    Effect::new(move |_| {
        if let Some(result) = delete.value().get()
            && !matches!(&result, Err(e) if e.code == "ValidationError")
        {
            changed.update(|n| *n += 1);
        }
    });
    let users = Resource::new(
        move || (state(), changed.try_get().unwrap_or(0)),
        |(s, _)| list_users(s.filter, s.sort, s.desc, s.page, s.size),
    );
    let failed = move || matches!(delete.value().try_get().flatten(), Some(Err(_)));
    let pending = delete.pending();
    view! {
        <Title text="Users" />
        <Breadcrumbs trail=vec![("Users".to_owned(), None)] />
        <div class="page-header">
            <h1>"Users"</h1>
            <a class="button primary" href="/users/create">"Create user"</a>
        </div>
        <p class="help">"An IAM user is an identity with long-term credentials that is used to interact with this account."</p>
        {move || deleted_bar(if failed() { Vec::new() } else { deleted() }, "User", "Users")}
        {action_error(delete.value())}
        <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
            {move || {
                let state = state();
                Suspend::new(async move {
                    match users.await {
                        Ok(page) => view! { <UsersTable page state /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })
            }}
        </Transition>
        {move || {
            changed.track();
            view! {
                <ActionForm action=delete attr:id=BULK_FORM attr:class="bulk">
                    <BulkDeleteFields what="users" pending=pending.into() explanation=BULK_EXPLANATION />
                </ActionForm>
            }
        }}
    }
}

/// A count, an age or a refusal (`AccessDenied (iam:ListMFADevices)`), as a cell shows it.
fn cell<T>(value: Result<T, ConsoleError>, show: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|e| format!("{} ({})", e.code, e.message), show)
}

fn age(days: Option<i64>) -> String {
    match days {
        None => "-".to_owned(),
        Some(0) => "Today".to_owned(),
        Some(1) => "1 day".to_owned(),
        Some(n) => format!("{n} days"),
    }
}

#[component]
fn UsersTable(page: ListPage<UserRow>, state: ListState) -> impl IntoView {
    let filter = view! { <ListFilter base=BASE state=state.clone() label="Filter users by name" placeholder="Filter users by name" /> };
    if page.total == 0 {
        let empty = if state.filter.trim().is_empty() {
            view! { <p class="empty">"No users yet. " <a href="/users/create">"Create a user"</a> " for each person or workload that needs access."</p> }.into_any()
        } else {
            view! {
                <p class="empty">{format!("No user name contains `{}`. ", state.filter.trim())} <a href=BASE>"Clear the filter"</a></p>
            }
            .into_any()
        };
        return view! { {filter} {empty} }.into_any();
    }
    view! {
        {filter}
        <div class="table-wrap">
            <table class="data">
                <caption class="visually-hidden">"Users"</caption>
                <thead>
                    <tr>
                        <th scope="col"><span class="visually-hidden">"Select"</span></th>
                        <SortHeader base=BASE state=state.clone() column="name" label="User name" default=true />
                        <SortHeader base=BASE state=state.clone() column="path" label="Path" />
                        <th scope="col">"Groups"</th>
                        <th scope="col">"Last activity"</th>
                        <th scope="col">"MFA"</th>
                        <th scope="col">"Password age"</th>
                        <SortHeader base=BASE state=state.clone() column="signin" label="Console last sign-in" />
                        <th scope="col">"Active key age"</th>
                        <SortHeader base=BASE state=state.clone() column="created" label="Creation time" />
                    </tr>
                </thead>
                <tbody>
                    {page
                        .items
                        .into_iter()
                        .enumerate()
                        .map(|(row, u)| {
                            let href = user_href(&u.user_name);
                            let mfa = cell(u.mfa, |kinds| if kinds.is_empty() { "-".to_owned() } else { kinds.join(", ") });
                            let password = cell(u.password_age_days.clone(), age);
                            // Whether there is a console password is GetLoginProfile's to tell.
                            let sign_in = match (&u.password_age_days, u.console_last_sign_in) {
                                (Ok(Some(_)), Some(at)) => at,
                                (Ok(Some(_)), None) => "Never".to_owned(),
                                (Ok(None), _) => "-".to_owned(),
                                (Err(e), _) => format!("{} ({})", e.code, e.message),
                            };
                            view! {
                                <tr>
                                    <RowCheckbox form=BULK_FORM row name=u.user_name.clone() />
                                    <td data-label="User name"><a href=href>{u.user_name.clone()}</a></td>
                                    <td data-label="Path" class="mono">{u.path}</td>
                                    <td data-label="Groups">{cell(u.groups, |n| n.to_string())}</td>
                                    <td data-label="Last activity">{cell(u.last_activity, |at| at.unwrap_or_else(|| "Never".to_owned()))}</td>
                                    <td data-label="MFA">{mfa}</td>
                                    <td data-label="Password age">{password}</td>
                                    <td data-label="Console last sign-in">{sign_in}</td>
                                    <td data-label="Active key age">{cell(u.active_key_age_days, age)}</td>
                                    <td data-label="Creation time">{u.created}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <Pager base=BASE state page=page.page pages=page.pages total=page.total />
    }
    .into_any()
}

/// Where a user's page was before pages moved under `/details/`: a bookmark still arrives.
#[component]
pub fn MovedUserPage() -> impl IntoView {
    let params = use_params_map();
    let name = params.with_untracked(|p| p.get("name").unwrap_or_default());
    view! { <leptos_router::components::Redirect path=user_href(&name) /> }
}

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    // `try_with`: during server-side rendering the page's title can be read after the route's
    // params were disposed (seen here as a panic that cut a page off, about one load in twenty).
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    // After a change the server sends the page here again with `done` and a fresh `at`: reload.
    let query = use_query_map();
    let done = move || query.try_with(|q| q.get("done")).flatten();
    let at = Signal::derive(move || query.try_with(|q| q.get("at")).flatten());
    let user = Resource::new(move || (name(), at.try_get().flatten()), |(name, _)| get_user(name));
    let notice = move || match done().as_deref() {
        Some("sessions") => Some("The user's console sessions have ended."),
        Some("password") => Some("The console password is reset. The user's console sessions have ended."),
        Some("user-created") => Some("User created successfully."),
        Some("user-created-partly") => Some(
            "The user is created, but not every step succeeded: check its policies here, its groups under Groups and \
             its console password under Security credentials.",
        ),
        Some(other) => mfa_notice(other, false)
            .or_else(|| permissions_notice(other))
            .or_else(|| access_key_notice(other))
            .or_else(|| groups_notice(other)),
        None => None,
    };
    // AWS's tabs; without one asked, the tab of the change just made (its `done`).
    // A memo: a change that comes back to the same tab keeps its panels (and their state) as they are.
    let tab = Memo::new(move |_| {
        let asked = query.try_with(|q| q.get("tab")).flatten().unwrap_or_default();
        USER_TABS
            .iter()
            .map(|(key, _)| *key)
            .find(|key| *key == asked)
            .unwrap_or_else(|| done().as_deref().map_or("permissions", tab_of_change))
    });
    let tabs = move || {
        let (name, tab) = (name(), tab.get());
        USER_TABS
            .iter()
            .map(|(key, label)| {
                let current = (*key == tab).then_some("page");
                view! { <li><a href=format!("{}?tab={key}", user_href(&name)) aria-current=current>{*label}</a></li> }
            })
            .collect_view()
    };
    view! {
        <Title text=name />
        <Breadcrumbs trail=vec![("Users".to_owned(), Some("/users".to_owned())), (name(), None)] />
        <h1>{name}</h1>
        {move || {
            let partly = done().as_deref() == Some("user-created-partly");
            let class = if partly { "alert warning" } else { "alert success" };
            notice().map(|n| view! { <div class=class role="status">{n}</div> })
        }}
        <Transition fallback=|| view! { <p class="loading">"Loading user…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(user) => view! { <UserDetails user /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
        <nav class="tabs" aria-label="User sections"><ul>{tabs}</ul></nav>
        // The panels stand outside the suspended details and make their resources as they are
        // built, never inside a suspended view: a resource made there after hydration has begun
        // finds no server data, so its own suspense hydrates the fallback against the server's
        // content (tachys "unreachable": the page dies).
        {move || {
            let user_name = name();
            // Type-erased: the page's view type otherwise grows past rustc's query depth in the wasm.
            match tab.get() {
                "groups" => view! { <UserGroupsPanel user_name at /> }.into_any(),
                "tags" => view! { <TagsPanel kind="user" entity=user_name at /> }.into_any(),
                "security_credentials" => view! {
                    <ConsolePasswordPanel user_name=user_name.clone() user />
                    <MfaDevicesPanel user=Some(user_name.clone()) at />
                    <AccessKeysPanel user=Some(user_name.clone()) at />
                    <UserSessionsPanel user_name at />
                }
                .into_any(),
                _ => view! {
                    <UserPermissionsPanel user_name=user_name.clone() at />
                    <AttachedPoliciesPanel kind="user" entity=user_name.clone() at />
                    <InlinePoliciesPanel kind="user" entity=user_name.clone() at />
                    <BoundaryPanel kind="user" entity=user_name at />
                }
                .into_any(),
            }
        }}
        {move || view! { <DeleteUserPanel user_name=name() /> }}
    }
}

/// The user page's tabs, as AWS's console names them (Access Advisor's comes with the reports).
const USER_TABS: [(&str, &str); 4] = [
    ("permissions", "Permissions"),
    ("groups", "Groups"),
    ("tags", "Tags"),
    ("security_credentials", "Security credentials"),
];

/// The tab a change was made on, from the `done` it comes back with.
fn tab_of_change(done: &str) -> &'static str {
    match done {
        "groups-joined" | "groups-left" => "groups",
        "tags-saved" | "tags-removed" => "tags",
        "sessions" | "password" | "mfa" | "hardware" | "mfa-removed" | "mfa-resynced" | "key" => "security_credentials",
        key if key.starts_with("key-") => "security_credentials",
        _ => "permissions",
    }
}

#[component]
fn UserDetails(user: UserView) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Summary"</h2>
            <dl class="facts">
                <dt>"ARN"</dt>
                <dd class="mono" data-testid="user-arn">{user.arn.clone()}</dd>
                <dt>"User ID"</dt>
                <dd class="mono">{user.user_id.clone()}</dd>
                <dt>"Path"</dt>
                <dd class="mono">{user.path.clone()}</dd>
                <dt>"Created"</dt>
                <dd>{user.created.clone()}</dd>
                <dt>"Console access"</dt>
                <dd>{if user.console_access { "Enabled" } else { "Disabled" }}</dd>
                <dt>"Console last sign-in"</dt>
                <dd>{user.password_last_used.clone().unwrap_or_else(|| "Never".to_owned())}</dd>
            </dl>
        </section>
    }
}

/// Deletes the user and everything it has, after the name is typed, as AWS's console does.
#[component]
fn DeleteUserPanel(user_name: String) -> impl IntoView {
    let delete = ServerAction::<DeleteUser>::new();
    let pending = delete.pending();
    view! {
        <section class="panel danger">
            <h2>"Delete user"</h2>
            <p>"Deleting the user also removes its console password. This cannot be undone."</p>
            {action_error(delete.value())}
            <ActionForm action=delete>
                <input type="hidden" name="user_name" value=user_name.clone() />
                <div class="field">
                    <label for="confirmation">"To confirm deletion, enter the user name."</label>
                    <input id="confirmation" name="confirmation" type="text" autocomplete="off" placeholder=user_name.clone() />
                </div>
                <button type="submit" class="button danger" disabled=move || pending.try_get().unwrap_or(false)>"Delete"</button>
            </ActionForm>
        </section>
    }
}

/// An administrator sets a user's console password (the only way back after a hard expiry).
#[component]
fn ConsolePasswordPanel(user_name: String, user: Resource<Result<UserView, ConsoleError>>) -> impl IntoView {
    let reset = ServerAction::<ResetUserPassword>::new();
    let requirements = Resource::new(|| (), |_| my_password());
    view! {
        <section class="panel" aria-labelledby="console-password-heading">
            <h2 id="console-password-heading">"Console password"</h2>
            <Transition fallback=|| ()>
                {move || {
                    let user_name = user_name.clone();
                    Suspend::new(async move {
                        let rules = requirements.await.map(|f| f.requirements).unwrap_or_default();
                        match user.await {
                            Ok(u) if u.console_access => {}
                            Ok(_) => {
                                return view! { <p class="empty">"This user has no console password, so cannot sign in to the console."</p> }
                                    .into_any();
                            }
                            // The user's details say why above (a refusal, or no such user).
                            Err(_) => return ().into_any(),
                        }
                        view! {
                            <details class="form-panel">
                                <summary class="button">"Reset console password"</summary>
                                {action_error(reset.value())}
                                <ActionForm action=reset>
                                    <input type="hidden" name="user_name" value=user_name />
                                    <NewPasswordFields requirements=rules />
                                    <div class="field checkbox">
                                        <label>
                                            <input type="checkbox" name="require_reset" value="on" checked=true />
                                            " User must create a new password at next sign-in"
                                        </label>
                                    </div>
                                    <button type="submit" class="button primary">"Reset password"</button>
                                </ActionForm>
                            </details>
                        }
                        .into_any()
                    })
                }}
            </Transition>
        </section>
    }
}

/// The user's console sessions, and ending them all.
#[component]
fn UserSessionsPanel(user_name: String, at: Signal<Option<String>>) -> impl IntoView {
    let end = ServerAction::<EndUserSessions>::new();
    let sessions = {
        let name = user_name.clone();
        Resource::new(move || at.try_get().flatten(), move |_| user_sessions(name.clone()))
    };
    view! {
        <section class="panel" aria-labelledby="user-sessions-heading">
            <h2 id="user-sessions-heading">"Console sessions"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"Not signed in anywhere."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="data">
                                <thead><tr>
                                    <th scope="col">"Signed in"</th><th scope="col">"Last active"</th>
                                    <th scope="col">"MFA"</th><th scope="col">"Address"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|s| view! {
                                        <tr>
                                            <td>{s.started}</td><td>{s.last_active}</td>
                                            <td>{if s.mfa { "Yes" } else { "No" }}</td><td class="mono">{s.source_ip}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Transition>
            {action_error(end.value())}
            <ActionForm action=end>
                <input type="hidden" name="user_name" value=user_name.clone() />
                <button type="submit" class="button">"End all console sessions"</button>
            </ActionForm>
        </section>
    }
}

const USER_GROUPS_FORM: &str = "remove-user-groups";

/// The groups a user belongs to: leave the selected ones, or join others (on their own page).
#[component]
fn UserGroupsPanel(user_name: String, at: Signal<Option<String>>) -> impl IntoView {
    let leave = ServerAction::<RemoveUserFromGroups>::new();
    let groups = {
        let name = user_name.clone();
        // A batch that failed part way still changed something: reload after every attempt.
        Resource::new(
            move || (at.try_get().flatten(), leave.version().try_get()),
            move |_| groups_for_user(name.clone()),
        )
    };
    let leave_pending = leave.pending();
    let join_href = format!("{}/add-to-groups", user_href(&user_name));
    view! {
        <section class="panel" aria-labelledby="user-groups-heading">
            <h2 id="user-groups-heading">"Groups"</h2>
            <p class="help">"The user has the permissions of every group it belongs to (at most 10)."</p>
            {action_error(leave.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading groups…"</p> }>
                {move || Suspend::new(async move {
                    match groups.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"Not in any group. Add the user to a group to give it the group's permissions."</p> }
                                .into_any()
                        }
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="data">
                                    <caption class="visually-hidden">"Groups of this user"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                            <th scope="col">"Group name"</th>
                                            <th scope="col">"Creation time"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().enumerate().map(|(row, g)| {
                                            let href = group_href(&g.group_name);
                                            view! {
                                                <tr>
                                                    <RowCheckbox form=USER_GROUPS_FORM field="groups" row name=g.group_name.clone() />
                                                    <td data-label="Group name"><a href=href>{g.group_name.clone()}</a></td>
                                                    <td data-label="Creation time">{g.created}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=leave attr:id=USER_GROUPS_FORM>
                <input type="hidden" name="user_name" value=user_name />
                <button type="submit" class="button" disabled=move || leave_pending.try_get().unwrap_or(false)>
                    "Remove from selected groups"
                </button>
            </ActionForm>
            <a class="button" href=join_href>"Add user to groups"</a>
        </section>
    }
    .into_any()
}

/// Adds a user to groups: its own page, as in AWS's console.
#[component]
pub fn AddUserToGroupsPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    let join = ServerAction::<AddUserToGroups>::new();
    let pending = join.pending();
    view! {
        <Title text=move || format!("Add {} to groups", name()) />
        <Breadcrumbs trail=vec![
            ("Users".to_owned(), Some("/users".to_owned())),
            (name(), Some(user_href(&name()))),
            ("Add to groups".to_owned(), None),
        ] />
        <h1>{move || format!("Add {} to groups", name())}</h1>
        {action_error(join.value())}
        <ActionForm action=join attr:class="panel form">
            <input type="hidden" name="user_name" value=name />
            <GroupPicker field="groups" id="join-groups" />
            <div class="form-actions">
                <a class="button" href=move || format!("{}?tab=groups", user_href(&name()))>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Add to groups"
                </button>
            </div>
        </ActionForm>
    }
}

fn groups_notice(done: &str) -> Option<&'static str> {
    match done {
        "groups-joined" => Some("The user is added to the groups. It has their permissions from its next request."),
        "groups-left" => Some("The user is removed from the groups. It loses their permissions at once."),
        _ => None,
    }
}
