//! User groups, as AWS's console has them: the list (filter, sort, pages, bulk delete), creation
//! with members and policies, and a group's page: its users (add, remove), its permissions
//! (managed and inline policies) and deletion.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    AddUsersToGroup, CreateGroup, DeleteGroup, DeleteGroups, GroupRow, GroupView, RemoveUsersFromGroup, group_details,
    list_groups,
};
use crate::components::list::{
    BulkDeleteFields, ListFilter, ListPage, ListState, Pager, RowCheckbox, SortHeader, deleted_bar, deleted_names,
};
use crate::error::ConsoleError;
use crate::pages::layout::Breadcrumbs;
use crate::pages::permissions::{AttachedPoliciesPanel, InlinePoliciesPanel, permissions_notice};
use crate::pages::pickers::{PolicyPicker, UserPicker};
use crate::pages::{ErrorAlert, action_error};
use crate::paths::{group_href, user_href};

const BASE: &str = "/groups";

/// The id of the list's bulk-delete form, which the rows' checkboxes belong to.
const BULK_FORM: &str = "delete-groups";
const BULK_EXPLANATION: &str = "Deleting a group removes its users from it, deletes its inline policies and detaches its \
                                managed policies. The users themselves stay. This cannot be undone.";

#[component]
pub fn GroupsPage() -> impl IntoView {
    let query = use_query_map();
    // `try_with`: read inside suspended views, after the query may be gone.
    let state = move || query.try_with(ListState::from_query).unwrap_or_default();
    let deleted = move || query.try_with(|q| deleted_names(q, "groups-deleted")).unwrap_or_default();
    let delete = ServerAction::<DeleteGroups>::new();
    // Bumped when a delete may have deleted something (it succeeded, or failed past the form's
    // own checks): the list reloads and the bulk form is made again. A form mistake (nothing
    // typed, nothing selected) keeps the selection and the open form.
    let changed = RwSignal::new(0_u32);
    Effect::new(move |_| {
        if let Some(result) = delete.value().get()
            && !matches!(&result, Err(e) if e.code == "ValidationError")
        {
            changed.update(|n| *n += 1);
        }
    });
    let groups = Resource::new(
        move || (state(), changed.try_get().unwrap_or(0)),
        |(s, _)| list_groups(s.filter, s.sort, s.desc, s.page, s.size),
    );
    // A success bar from an earlier delete is not left beside a new error.
    let failed = move || matches!(delete.value().try_get().flatten(), Some(Err(_)));
    let pending = delete.pending();
    view! {
        <Title text="User groups" />
        <Breadcrumbs trail=vec![("User groups".to_owned(), None)] />
        <div class="page-header">
            <h1>"User groups"</h1>
            <a class="button primary" href="/groups/create">"Create group"</a>
        </div>
        <p class="help">"A user group is a collection of IAM users. Its policies apply to every user in it."</p>
        {move || deleted_bar(if failed() { Vec::new() } else { deleted() }, "Group", "Groups")}
        {action_error(delete.value())}
        <Transition fallback=|| view! { <p class="loading">"Loading groups…"</p> }>
            {move || {
                let state = state();
                Suspend::new(async move {
                    match groups.await {
                        Ok(page) => view! { <GroupsTable page state /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })
            }}
        </Transition>
        // Made again after each attempt: a finished delete must not leave "delete" typed and the
        // box open, one click away from deleting the next selection.
        {move || {
            changed.track();
            view! {
                <ActionForm action=delete attr:id=BULK_FORM attr:class="bulk">
                    <BulkDeleteFields what="groups" pending=pending.into() explanation=BULK_EXPLANATION />
                </ActionForm>
            }
        }}
    }
}

#[component]
fn GroupsTable(page: ListPage<GroupRow>, state: ListState) -> impl IntoView {
    let filter = view! { <ListFilter base=BASE state=state.clone() label="Filter groups by name" placeholder="Filter groups by name" /> };
    if page.total == 0 {
        let empty = if state.filter.trim().is_empty() {
            view! {
                <p class="empty">
                    "No user groups yet. " <a href="/groups/create">"Create a group"</a>
                    " to give several users the same permissions."
                </p>
            }
            .into_any()
        } else {
            view! {
                <p class="empty">
                    {format!("No group name contains `{}`. ", state.filter.trim())}
                    <a href=BASE>"Clear the filter"</a>
                </p>
            }
            .into_any()
        };
        return view! { {filter} {empty} }.into_any();
    }
    view! {
        {filter}
        <div class="table-wrap">
            <table class="data">
                <caption class="visually-hidden">"User groups"</caption>
                <thead>
                    <tr>
                        <th scope="col"><span class="visually-hidden">"Select"</span></th>
                        <SortHeader base=BASE state=state.clone() column="name" label="Group name" default=true />
                        <th scope="col">"Users"</th>
                        <th scope="col">"Permissions"</th>
                        <SortHeader base=BASE state=state.clone() column="created" label="Creation time" />
                    </tr>
                </thead>
                <tbody>
                    {page
                        .items
                        .into_iter()
                        .enumerate()
                        .map(|(row, g)| {
                            let href = group_href(&g.group_name);
                            view! {
                                <tr>
                                    <RowCheckbox form=BULK_FORM row name=g.group_name.clone() />
                                    <td data-label="Group name"><a href=href>{g.group_name.clone()}</a></td>
                                    <td data-label="Users">{count_cell(g.users, "user", "users")}</td>
                                    <td data-label="Permissions">{count_cell(g.policies, "policy", "policies")}</td>
                                    <td data-label="Creation time">{g.created}</td>
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

/// `3 users`, or the refusal (AWS's console shows the denied read in the cell).
fn count_cell(count: Result<usize, ConsoleError>, one: &str, many: &str) -> String {
    match count {
        Ok(0) => "None".to_owned(),
        Ok(1) => format!("1 {one}"),
        Ok(n) => format!("{n} {many}"),
        Err(e) => e.code,
    }
}

#[component]
pub fn CreateGroupPage() -> impl IntoView {
    let create = ServerAction::<CreateGroup>::new();
    let pending = create.pending();
    view! {
        <Title text="Create user group" />
        <Breadcrumbs trail=vec![("User groups".to_owned(), Some(BASE.to_owned())), ("Create user group".to_owned(), None)] />
        <h1>"Create user group"</h1>
        {action_error(create.value())}
        <ActionForm action=create attr:class="panel form">
            <h2>"Name the group"</h2>
            <div class="field">
                <label for="group_name">"User group name"</label>
                <input id="group_name" name="group_name" type="text" required maxlength="128" autocomplete="off"
                    pattern="[\\w+=,.@\\-]+" />
                <small>"Up to 128 characters: letters, digits and + = , . @ _ -"</small>
            </div>
            <div class="field">
                <label for="group_path">"Path " <span class="optional">"- optional"</span></label>
                <input id="group_path" name="path" type="text" placeholder="/" maxlength="512" />
            </div>
            <h2>"Add users to the group " <span class="optional">"- optional"</span></h2>
            <UserPicker field="users" id="group-users" />
            <h2>"Attach permissions policies " <span class="optional">"- optional"</span></h2>
            <PolicyPicker field="policies" id="group-policies" />
            <div class="form-actions">
                <a class="button" href=BASE>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Create user group"
                </button>
            </div>
        </ActionForm>
    }
}

fn group_notice(done: &str) -> Option<&'static str> {
    match done {
        "group-created" => Some("The user group is created."),
        "users-added" => Some("The users are added to the group. They have its permissions from their next request."),
        "users-removed" => Some("The users are removed from the group. They lose its permissions at once."),
        other => permissions_notice(other),
    }
}

#[component]
pub fn GroupDetailPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    let query = use_query_map();
    let done = move || query.try_with(|q| q.get("done")).flatten();
    let at = Signal::derive(move || query.try_with(|q| q.get("at")).flatten());
    let remove = ServerAction::<RemoveUsersFromGroup>::new();
    // A batch that failed part way still changed something: reload after every attempt.
    let details = Resource::new(
        move || (name(), at.try_get().flatten(), remove.version().try_get()),
        |(name, ..)| group_details(name),
    );
    view! {
        <Title text=name />
        <Breadcrumbs trail=vec![("User groups".to_owned(), Some(BASE.to_owned())), (name(), None)] />
        <h1>{name}</h1>
        {move || done().as_deref().and_then(group_notice).map(|n| view! { <div class="alert success" role="status">{n}</div> })}
        <Transition fallback=|| view! { <p class="loading">"Loading group…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(group) => view! { <GroupSummary group /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
        // Panels stand outside the suspended summary and make their resources as they are built
        // (see the user page).
        {move || {
            let group = name();
            view! {
                <GroupMembersPanel group=group.clone() details remove />
                <AttachedPoliciesPanel kind="group" entity=group.clone() at />
                <InlinePoliciesPanel kind="group" entity=group.clone() at />
                <DeleteGroupPanel group />
            }
            .into_any()
        }}
    }
}

#[component]
fn GroupSummary(group: GroupView) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Summary"</h2>
            <dl class="facts">
                <dt>"ARN"</dt>
                <dd class="mono">{group.arn}</dd>
                <dt>"Group ID"</dt>
                <dd class="mono">{group.group_id}</dd>
                <dt>"Path"</dt>
                <dd class="mono">{group.path}</dd>
                <dt>"Creation time"</dt>
                <dd>{group.created}</dd>
            </dl>
        </section>
    }
}

const MEMBERS_FORM: &str = "remove-group-users";

/// The group's users: remove the selected ones, or add others.
#[component]
fn GroupMembersPanel(
    group: String,
    details: Resource<Result<GroupView, ConsoleError>>,
    remove: ServerAction<RemoveUsersFromGroup>,
) -> impl IntoView {
    let remove_pending = remove.pending();
    let add_href = format!("{}/add-users", group_href(&group));
    view! {
        <section class="panel" aria-labelledby="group-users-heading">
            <h2 id="group-users-heading">"Users in this group"</h2>
            {action_error(remove.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    let Ok(group) = details.await else { return ().into_any() };
                    if group.users.is_empty() {
                        return view! { <p class="empty">"No users in this group. Add users to give them its permissions."</p> }
                            .into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="data">
                                <caption class="visually-hidden">"Users in this group"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                        <th scope="col">"User name"</th>
                                        <th scope="col">"Console last sign-in"</th>
                                        <th scope="col">"Creation time"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {group.users.into_iter().enumerate().map(|(row, u)| {
                                        let href = user_href(&u.user_name);
                                        view! {
                                            <tr>
                                                <RowCheckbox form=MEMBERS_FORM row name=u.user_name.clone() />
                                                <td data-label="User name"><a href=href>{u.user_name.clone()}</a></td>
                                                <td data-label="Console last sign-in">{u.password_last_used.unwrap_or_else(|| "Never".to_owned())}</td>
                                                <td data-label="Creation time">{u.created}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any()
                })}
            </Transition>
            <ActionForm action=remove attr:id=MEMBERS_FORM>
                <input type="hidden" name="group_name" value=group />
                <button type="submit" class="button" disabled=move || remove_pending.try_get().unwrap_or(false)>
                    "Remove selected users"
                </button>
            </ActionForm>
            <a class="button" href=add_href>"Add users"</a>
        </section>
    }
}

/// Adds users to a group: its own page, as in AWS's console, so that the group's page does not
/// list the account's users each time it opens.
#[component]
pub fn AddUsersToGroupPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    let add = ServerAction::<AddUsersToGroup>::new();
    let pending = add.pending();
    view! {
        <Title text=move || format!("Add users to {}", name()) />
        <Breadcrumbs trail=vec![
            ("User groups".to_owned(), Some(BASE.to_owned())),
            (name(), Some(group_href(&name()))),
            ("Add users".to_owned(), None),
        ] />
        <h1>{move || format!("Add users to {}", name())}</h1>
        {action_error(add.value())}
        <ActionForm action=add attr:class="panel form">
            <input type="hidden" name="group_name" value=name />
            <UserPicker field="users" id="add-group-users" />
            <div class="form-actions">
                <a class="button" href=move || group_href(&name())>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Add users"
                </button>
            </div>
        </ActionForm>
    }
}

/// Deletes the group after its name is typed, saying what goes with it.
#[component]
fn DeleteGroupPanel(group: String) -> impl IntoView {
    let delete = ServerAction::<DeleteGroup>::new();
    let pending = delete.pending();
    view! {
        <section class="panel danger">
            <h2>"Delete group"</h2>
            <p>
                "Deleting the group removes its users from it, deletes its inline policies and detaches its managed "
                "policies; the users and the policies themselves stay. This cannot be undone."
            </p>
            {action_error(delete.value())}
            <ActionForm action=delete>
                <input type="hidden" name="group_name" value=group.clone() />
                <div class="field">
                    <label for="group-confirmation">"To confirm deletion, enter the group name."</label>
                    <input id="group-confirmation" name="confirmation" type="text" autocomplete="off" placeholder=group />
                </div>
                <button type="submit" class="button danger" disabled=move || pending.try_get().unwrap_or(false)>"Delete"</button>
            </ActionForm>
        </section>
    }
}
