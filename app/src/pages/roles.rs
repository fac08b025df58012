//! Roles, as AWS's console has them: the list (filter, sort, pages, bulk delete), creation
//! (trusted entity, permissions, boundary, name and details, tags, review), and a role's page:
//! summary (description and longest session editable), permissions (managed and inline policies,
//! boundary), trust relationships in the JSON editor, tags, and deletion.

use iam_policy::PolicyKind;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    CreateRole, DeleteRole, DeleteRoles, RoleRow, RoleView, SERVICE_PRINCIPALS, SESSION_HOURS, TrustChoice, UpdateRole,
    UpdateTrustPolicy, list_roles, role_details, session_label, trust_policy,
};
use crate::components::list::{
    BulkDeleteFields, ListFilter, ListPage, ListState, Pager, RowCheckbox, SortHeader, deleted_bar, deleted_names,
};
use crate::components::policy_editor::PolicyEditor;
use crate::pages::layout::{Breadcrumbs, CurrentIdentity};
use crate::pages::permissions::{AttachedPoliciesPanel, BoundaryPanel, InlinePoliciesPanel, permissions_notice};
use crate::pages::pickers::{BoundaryPicker, PolicyPicker};
use crate::pages::tags::{TagRows, TagsPanel};
use crate::pages::{ErrorAlert, action_error};
use crate::paths::role_href;

const BASE: &str = "/roles";
/// The id of the list's bulk-delete form, which the rows' checkboxes belong to.
const BULK_FORM: &str = "delete-roles";
const BULK_EXPLANATION: &str = "Deleting a role deletes its inline policies and detaches its managed policies; the \
                                managed policies themselves stay. Whoever could assume it no longer can. This cannot \
                                be undone.";
/// AWS's words for a trust policy past its quota, as iam-core says them.
const TRUST_TOO_LARGE: &str = "Cannot exceed quota for ACLSizePerRole: 2048";
const TRUST_QUOTA: usize = 2_048;

#[component]
pub fn RolesPage() -> impl IntoView {
    let query = use_query_map();
    // `try_with`: read inside suspended views, after the query may be gone.
    let state = move || query.try_with(ListState::from_query).unwrap_or_default();
    let deleted = move || query.try_with(|q| deleted_names(q, "roles-deleted")).unwrap_or_default();
    let delete = ServerAction::<DeleteRoles>::new();
    // Bumped when a delete may have deleted something: the list reloads and the bulk form is
    // made again (see the groups list). A form mistake keeps the selection and the open form.
    let changed = RwSignal::new(0_u32);
    Effect::new(move |_| {
        if let Some(result) = delete.value().get()
            && !matches!(&result, Err(e) if e.code == "ValidationError")
        {
            changed.update(|n| *n += 1);
        }
    });
    let roles = Resource::new(
        move || (state(), changed.try_get().unwrap_or(0)),
        |(s, _)| list_roles(s.filter, s.sort, s.desc, s.page, s.size),
    );
    let failed = move || matches!(delete.value().try_get().flatten(), Some(Err(_)));
    let pending = delete.pending();
    view! {
        <Title text="Roles" />
        <Breadcrumbs trail=vec![("Roles".to_owned(), None)] />
        <div class="page-header">
            <h1>"Roles"</h1>
            <a class="button primary" href="/roles/create">"Create role"</a>
        </div>
        <p class="help">
            "A role is an identity with permissions that trusted entities (AWS services, accounts, your users) "
            "assume for a while, with temporary credentials instead of long-term keys."
        </p>
        {move || deleted_bar(if failed() { Vec::new() } else { deleted() }, "Role", "Roles")}
        {action_error(delete.value())}
        <Transition fallback=|| view! { <p class="loading">"Loading roles…"</p> }>
            {move || {
                let state = state();
                Suspend::new(async move {
                    match roles.await {
                        Ok(page) => view! { <RolesTable page state /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })
            }}
        </Transition>
        {move || {
            changed.track();
            view! {
                <ActionForm action=delete attr:id=BULK_FORM attr:class="bulk">
                    <BulkDeleteFields what="roles" pending=pending.into() explanation=BULK_EXPLANATION />
                </ActionForm>
            }
        }}
    }
}

#[component]
fn RolesTable(page: ListPage<RoleRow>, state: ListState) -> impl IntoView {
    let filter = view! { <ListFilter base=BASE state=state.clone() label="Filter roles by name" placeholder="Filter roles by name" /> };
    if page.total == 0 {
        let empty = if state.filter.trim().is_empty() {
            view! {
                <p class="empty">
                    "No roles yet. " <a href="/roles/create">"Create a role"</a>
                    " to give a service, another account or your users permissions for a session."
                </p>
            }
            .into_any()
        } else {
            view! {
                <p class="empty">
                    {format!("No role name contains `{}`. ", state.filter.trim())}
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
                <caption class="visually-hidden">"Roles"</caption>
                <thead>
                    <tr>
                        <th scope="col"><span class="visually-hidden">"Select"</span></th>
                        <SortHeader base=BASE state=state.clone() column="name" label="Role name" default=true />
                        <th scope="col">"Trusted entities"</th>
                        <SortHeader base=BASE state=state.clone() column="activity" label="Last activity" />
                        <SortHeader base=BASE state=state.clone() column="created" label="Creation time" />
                    </tr>
                </thead>
                <tbody>
                    {page
                        .items
                        .into_iter()
                        .enumerate()
                        .map(|(row, r)| {
                            let href = role_href(&r.role_name);
                            let trusted = if r.trusted.is_empty() { "None".to_owned() } else { r.trusted.join(", ") };
                            view! {
                                <tr>
                                    <RowCheckbox form=BULK_FORM row name=r.role_name.clone() />
                                    <td data-label="Role name"><a href=href>{r.role_name.clone()}</a></td>
                                    <td data-label="Trusted entities">{trusted}</td>
                                    <td data-label="Last activity">
                                        {match r.last_activity {
                                            Ok(at) => at.unwrap_or_else(|| "Never".to_owned()),
                                            Err(e) => e.code,
                                        }}
                                    </td>
                                    <td data-label="Creation time">{r.created}</td>
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

/// A trust policy to start a custom one from, as AWS's console starts it.
const CUSTOM_TRUST: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Service": "ec2.amazonaws.com"
            },
            "Action": "sts:AssumeRole"
        }
    ]
}"#;

#[component]
pub fn CreateRolePage() -> impl IntoView {
    let create = ServerAction::<CreateRole>::new();
    let pending = create.pending();
    // What is chosen, for the live review and for showing only the chosen kind's fields. Without
    // the wasm every field shows and the server reads the ones of the chosen kind.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let entity = RwSignal::new("service".to_owned());
    let service = RwSignal::new(DEFAULT_SERVICE.to_owned());
    let account = RwSignal::new("this".to_owned());
    let account_id = RwSignal::new(String::new());
    let require_external_id = RwSignal::new(false);
    let external_id = RwSignal::new(String::new());
    let require_mfa = RwSignal::new(false);
    let identity = use_context::<CurrentIdentity>();
    // The trust policy the choices make in account `own`.
    let preview = move |own: &str| {
        let choice = TrustChoice {
            entity: entity.get(),
            service: service.get(),
            account: account.get(),
            account_id: account_id.get(),
            require_external_id: require_external_id.get(),
            external_id: external_id.get(),
            require_mfa: require_mfa.get(),
            custom: String::new(),
        };
        trust_policy(&choice, own)
    };
    let hidden_unless = move |kind: &'static str| move || interactive.get() && entity.get() != kind;
    let radio = move |sig: RwSignal<String>| move |ev: leptos::ev::Event| sig.set(event_target_value(&ev));
    view! {
        <Title text="Create role" />
        <Breadcrumbs trail=vec![("Roles".to_owned(), Some(BASE.to_owned())), ("Create role".to_owned(), None)] />
        <h1>"Create role"</h1>
        {action_error(create.value())}
        // `autocomplete="off"`: a browser that restored the choices after a reload would disagree
        // with the fields shown and the review, which start from the defaults.
        <ActionForm action=create attr:class="panel form" attr:autocomplete="off">
            <h2>"Step 1: Select trusted entity"</h2>
            <fieldset class="choice">
                <legend>"Trusted entity type"</legend>
                <label>
                    <input type="radio" name="trust[entity]" value="service" checked=true on:change=radio(entity) />
                    " AWS service - let a service such as EC2 or Lambda act in this account"
                </label>
                <label>
                    <input type="radio" name="trust[entity]" value="account" on:change=radio(entity) />
                    " AWS account - let principals of this or another account assume the role"
                </label>
                <label>
                    <input type="radio" name="trust[entity]" value="custom" on:change=radio(entity) />
                    " Custom trust policy - write the trust policy in JSON"
                </label>
            </fieldset>
            <div class:hidden=hidden_unless("service")>
                <div class="field">
                    <label for="trust-service">"Service or use case"</label>
                    <ServiceSelect service />
                    <small>"The service's principal, for example ec2.amazonaws.com, may then assume the role. For another, write a custom trust policy."</small>
                </div>
            </div>
            <div class:hidden=hidden_unless("account")>
                <fieldset class="choice">
                    <legend>"An AWS account"</legend>
                    <label>
                        <input type="radio" name="trust[account]" value="this" checked=true on:change=radio(account) />
                        " This account"
                    </label>
                    <label>
                        <input type="radio" name="trust[account]" value="other" on:change=radio(account) />
                        " Another AWS account"
                    </label>
                </fieldset>
                <div class="field">
                    <label for="trust-account-id">"Account ID " <span class="optional">"- for another account"</span></label>
                    <input id="trust-account-id" name="trust[account_id]" type="text" inputmode="numeric" maxlength="12"
                        autocomplete="off" on:input=move |ev| account_id.set(event_target_value(&ev)) />
                </div>
                <div class="field checkbox">
                    <label>
                        <input type="checkbox" name="trust[require_external_id]" value="true"
                            on:change=move |ev| require_external_id.set(event_target_checked(&ev)) />
                        " Require external ID (best when a third party will assume this role)"
                    </label>
                </div>
                <div class="field">
                    <label for="trust-external-id">"External ID"</label>
                    <input id="trust-external-id" name="trust[external_id]" type="text" maxlength="1224" autocomplete="off"
                        on:input=move |ev| external_id.set(event_target_value(&ev)) />
                </div>
                <div class="field checkbox">
                    <label>
                        <input type="checkbox" name="trust[require_mfa]" value="true"
                            on:change=move |ev| require_mfa.set(event_target_checked(&ev)) />
                        " Require MFA (only principals signed in with MFA may assume the role)"
                    </label>
                </div>
            </div>
            <div class:hidden=hidden_unless("custom")>
                <PolicyEditor id="trust-custom".to_owned() name="trust[custom]" label="Custom trust policy (JSON)".to_owned()
                    initial=CUSTOM_TRUST.to_owned() kind=PolicyKind::Trust max_chars=TRUST_QUOTA
                    too_large=TRUST_TOO_LARGE.to_owned() />
            </div>

            <h2>"Step 2: Add permissions " <span class="optional">"- optional"</span></h2>
            <fieldset>
                <legend>"Permissions policies (at most 10)"</legend>
                <PolicyPicker field="policies" id="role-policies" />
            </fieldset>
            <details class="form-panel">
                <summary class="button">"Set permissions boundary - optional"</summary>
                <fieldset>
                    <legend>"Permissions boundary"</legend>
                    <BoundaryPicker field="boundary" id="role-boundary" none_label="No permissions boundary" />
                </fieldset>
            </details>

            <h2>"Step 3: Name, review and create"</h2>
            <div class="field">
                <label for="role_name">"Role name"</label>
                <input id="role_name" name="role[role_name]" type="text" required maxlength="64" autocomplete="off"
                    pattern="[\\w+=,.@\\-]+" />
                <small>"Up to 64 characters: letters, digits and + = , . @ _ -"</small>
            </div>
            <div class="field">
                <label for="role_description">"Description " <span class="optional">"- optional"</span></label>
                <textarea id="role_description" name="role[description]" rows="2" maxlength="1000"></textarea>
            </div>
            <div class="field">
                <label for="role_path">"Path " <span class="optional">"- optional"</span></label>
                <input id="role_path" name="role[path]" type="text" placeholder="/" maxlength="512" />
            </div>
            <div class="field">
                <label for="role_session">"Maximum session duration"</label>
                <SessionSelect id="role_session" name="role[max_session_seconds]" current=3_600 />
            </div>
            <h3>"Tags " <span class="optional">"- optional"</span></h3>
            <TagRows />
            <section class="review" aria-labelledby="trust-review-heading" hidden=move || !interactive.get()>
                <h3 id="trust-review-heading">"Review: trust policy"</h3>
                // This account's id, from the top bar's identity, awaited: never a placeholder
                // shown as if it were the account.
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let own = match identity {
                            Some(i) => i.0.await.map(|me| me.account_id).unwrap_or_default(),
                            None => String::new(),
                        };
                        view! {
                            {move || match (entity.get().as_str(), preview(&own)) {
                                ("custom", _) => view! { <p class="help">"The custom trust policy above, as written."</p> }.into_any(),
                                (_, Ok(text)) => view! { <pre class="mono policy">{text}</pre> }.into_any(),
                                (_, Err(e)) => view! { <p class="help">{e.message}</p> }.into_any(),
                            }}
                        }
                    })}
                </Transition>
            </section>
            <div class="form-actions">
                <a class="button" href=BASE>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Create role"
                </button>
            </div>
        </ActionForm>
    }
}

/// The service chosen first, as in AWS's console.
const DEFAULT_SERVICE: &str = "ec2.amazonaws.com";

/// The services a role can trust, by name.
#[component]
fn ServiceSelect(service: RwSignal<String>) -> impl IntoView {
    view! {
        <select id="trust-service" name="trust[service]" on:change=move |ev| service.set(event_target_value(&ev))>
            {SERVICE_PRINCIPALS
                .iter()
                .map(|(name, principal)| {
                    view! { <option value=*principal selected=*principal == DEFAULT_SERVICE>{format!("{name} ({principal})")}</option> }
                })
                .collect_view()}
        </select>
    }
}

/// The longest session in the hours AWS's console offers, sent in seconds, `current` chosen; a value
/// set through the API that is not one of them is offered as it is, so saving keeps it.
#[component]
fn SessionSelect(id: &'static str, name: &'static str, current: i64) -> impl IntoView {
    let listed = SESSION_HOURS.iter().any(|h| h * 3_600 == current);
    let other =
        (!listed).then(|| view! { <option value=current.to_string() selected=true>{session_label(current)}</option> });
    view! {
        <select id=id name=name>
            {SESSION_HOURS
                .iter()
                .map(|h| {
                    let seconds = h * 3_600;
                    view! { <option value=seconds.to_string() selected=seconds == current>{session_label(seconds)}</option> }
                })
                .collect_view()}
            {other}
        </select>
    }
}

fn role_notice(done: &str) -> Option<&'static str> {
    match done {
        "role-created" => Some("The role is created."),
        "role-updated" => Some("The role is saved."),
        "trust-saved" => Some("The trust policy is saved. It decides who may assume the role from now on."),
        other => permissions_notice(other),
    }
}

#[component]
pub fn RoleDetailPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    let query = use_query_map();
    let done = move || query.try_with(|q| q.get("done")).flatten();
    let at = Signal::derive(move || query.try_with(|q| q.get("at")).flatten());
    let details = Resource::new(move || (name(), at.try_get().flatten()), |(name, _)| role_details(name));
    view! {
        <Title text=name />
        <Breadcrumbs trail=vec![("Roles".to_owned(), Some(BASE.to_owned())), (name(), None)] />
        <h1>{name}</h1>
        {move || done().as_deref().and_then(role_notice).map(|n| view! { <div class="alert success" role="status">{n}</div> })}
        <Transition fallback=|| view! { <p class="loading">"Loading role…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(role) => view! { <RoleSummary role /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
        // Panels stand outside the suspended summary and make their resources as they are built.
        {move || {
            let role = name();
            view! {
                <AttachedPoliciesPanel kind="role" entity=role.clone() at />
                <InlinePoliciesPanel kind="role" entity=role.clone() at />
                <BoundaryPanel kind="role" entity=role.clone() at />
                <TrustPanel details />
                <TagsPanel kind="role" entity=role.clone() at />
                <DeleteRolePanel role />
            }
            .into_any()
        }}
    }
}

#[component]
fn RoleSummary(role: RoleView) -> impl IntoView {
    let update = ServerAction::<UpdateRole>::new();
    let pending = update.pending();
    let last_used = match (&role.last_used, &role.last_used_region) {
        (Some(at), Some(region)) => format!("{at} in {region}"),
        (Some(at), None) => at.clone(),
        _ => "Never".to_owned(),
    };
    let session = session_label(role.max_session_duration);
    view! {
        <section class="panel">
            <h2>"Summary"</h2>
            <dl class="facts">
                <dt>"ARN"</dt>
                <dd class="mono">{role.arn}</dd>
                <dt>"Role ID"</dt>
                <dd class="mono">{role.role_id}</dd>
                <dt>"Path"</dt>
                <dd class="mono">{role.path}</dd>
                <dt>"Creation time"</dt>
                <dd>{role.created}</dd>
                <dt>"Last activity"</dt>
                <dd>{last_used}</dd>
                <dt>"Maximum session duration"</dt>
                <dd>{session}</dd>
                <dt>"Trusted entities"</dt>
                <dd>{if role.trusted.is_empty() { "None".to_owned() } else { role.trusted.join(", ") }}</dd>
                <dt>"Description"</dt>
                <dd>{if role.description.is_empty() { "None".to_owned() } else { role.description.clone() }}</dd>
            </dl>
            <details class="form-panel">
                <summary class="button">"Edit description and session duration"</summary>
                {action_error(update.value())}
                <ActionForm action=update>
                    <input type="hidden" name="role_name" value=role.role_name />
                    <div class="field">
                        <label for="edit-role-description">"Description"</label>
                        <textarea id="edit-role-description" name="description" rows="2" maxlength="1000">{role.description}</textarea>
                    </div>
                    <div class="field">
                        <label for="edit-role-session">"Maximum session duration"</label>
                        <SessionSelect id="edit-role-session" name="max_session_seconds" current=role.max_session_duration />
                    </div>
                    <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>"Save changes"</button>
                </ActionForm>
            </details>
        </section>
    }
}

/// Who may assume the role: the trust policy, edited in the JSON editor (`UpdateAssumeRolePolicy`).
#[component]
fn TrustPanel(details: Resource<Result<RoleView, crate::ConsoleError>>) -> impl IntoView {
    let save = ServerAction::<UpdateTrustPolicy>::new();
    let pending = save.pending();
    view! {
        <section class="panel" aria-labelledby="trust-heading">
            <h2 id="trust-heading">"Trust relationships"</h2>
            <p class="help">"The trust policy says which principals may assume this role, and on what conditions."</p>
            {action_error(save.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading the trust policy…"</p> }>
                {move || Suspend::new(async move {
                    let Ok(role) = details.await else { return ().into_any() };
                    view! {
                        <ActionForm action=save>
                            <input type="hidden" name="role_name" value=role.role_name />
                            <PolicyEditor id="trust-policy".to_owned() name="document" label="Trust policy (JSON)".to_owned()
                                initial=role.trust_policy kind=PolicyKind::Trust max_chars=TRUST_QUOTA
                                too_large=TRUST_TOO_LARGE.to_owned() />
                            <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                                "Update trust policy"
                            </button>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Transition>
        </section>
    }
}

/// Deletes the role after its name is typed, saying what goes with it.
#[component]
fn DeleteRolePanel(role: String) -> impl IntoView {
    let delete = ServerAction::<DeleteRole>::new();
    let pending = delete.pending();
    view! {
        <section class="panel danger">
            <h2>"Delete role"</h2>
            <p>
                "Deleting the role deletes its inline policies and detaches its managed policies; the managed policies "
                "themselves stay. Whoever could assume the role no longer can. This cannot be undone."
            </p>
            {action_error(delete.value())}
            <ActionForm action=delete>
                <input type="hidden" name="role_name" value=role.clone() />
                <div class="field">
                    <label for="role-confirmation">"To confirm deletion, enter the role name."</label>
                    <input id="role-confirmation" name="confirmation" type="text" autocomplete="off" placeholder=role />
                </div>
                <button type="submit" class="button danger" disabled=move || pending.try_get().unwrap_or(false)>"Delete"</button>
            </ActionForm>
        </section>
    }
}
