//! The permissions panel of a user, group or role page: its inline policies, each viewed, edited
//! in the policy editor and removed, and a new one created. iam-core authorizes each step
//! (`ListUserPolicies`, `GetUserPolicy`, `PutUserPolicy`, `DeleteUserPolicy` and their group and
//! role forms).

use iam_policy::PolicyKind;
use iam_policy::validate::size_without_whitespace;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{
    AttachPolicies, DeleteInlinePolicy, DetachPolicy, InlinePolicyView, ManagedPolicyView, PutInlinePolicy,
    RemoveBoundary, SetBoundary, attached_policies, inline_policies, permissions_boundary,
};
use crate::components::policy_editor::{NEW_POLICY, PolicyEditor};
use crate::pages::layout::Breadcrumbs;
use crate::pages::pickers::{BoundaryPicker, PolicyPicker};
use crate::pages::{ErrorAlert, action_error};

/// The notice for a finished change to inline policies (`done` of the page's query).
pub fn permissions_notice(done: &str) -> Option<&'static str> {
    match done {
        "policy-saved" => Some("The inline policy is saved. It applies from the next request."),
        "policy-deleted" => Some("The inline policy is removed."),
        "policies-attached" => Some("The policies are attached. They apply from the next request."),
        "policy-detached" => Some("The policy is detached. Its permissions are gone at once."),
        "boundary-set" => Some("The permissions boundary is set. It caps the permissions from the next request."),
        "boundary-removed" => Some("The permissions boundary is removed."),
        "tags-saved" => Some("The tags are saved."),
        "tags-removed" => Some("The tags are removed."),
        _ => None,
    }
}

/// The sum of an entity's inline documents that AWS allows, in characters without whitespace
/// (iam-core's `EntityKind::inline_quota`, which the browser's build cannot reach).
fn inline_quota(kind: &str) -> usize {
    match kind {
        "group" => 5_120,
        "role" => 10_240,
        _ => 2_048,
    }
}

/// `kind` is `user`, `group` or `role`; `at` changes after each change, to reload.
#[component]
pub fn InlinePoliciesPanel(kind: &'static str, entity: String, at: Signal<Option<String>>) -> impl IntoView {
    let policies = {
        let entity = entity.clone();
        Resource::new(move || at.try_get().flatten(), move |_| inline_policies(kind.to_owned(), entity.clone()))
    };
    // One action each for the table's edit and remove forms, made here, outside the suspended
    // table: the errors show above it.
    let save = ServerAction::<PutInlinePolicy>::new();
    let remove = ServerAction::<DeleteInlinePolicy>::new();
    let table_entity = entity;
    view! {
        <section class="panel" aria-labelledby="permissions-heading">
            <h2 id="permissions-heading">"Inline policies"</h2>
            <p class="help">
                "Inline policies belong to this " {kind} " alone and are deleted with it. Their sizes together may be at most "
                {inline_quota(kind)} " characters, not counting whitespace."
            </p>
            {action_error(save.value())}
            {action_error(remove.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading policies…"</p> }>
                {move || {
                    let entity = table_entity.clone();
                    Suspend::new(async move {
                        // The create form is part of the answer: its room is what the listed policies
                        // leave (the whole quota when they cannot be listed; the server checks anyway).
                        match policies.await {
                            Ok(list) => {
                                let room = inline_quota(kind).saturating_sub(list.iter().map(size_of).sum());
                                view! {
                                    <InlinePoliciesTable policies=list kind entity=entity.clone() save remove />
                                    <CreateInlinePolicy kind entity room />
                                }
                                .into_any()
                            }
                            Err(error) => view! {
                                <ErrorAlert error />
                                <CreateInlinePolicy kind entity room=inline_quota(kind) />
                            }
                            .into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn InlinePoliciesTable(
    policies: Vec<InlinePolicyView>,
    kind: &'static str,
    entity: String,
    save: ServerAction<PutInlinePolicy>,
    remove: ServerAction<DeleteInlinePolicy>,
) -> impl IntoView {
    if policies.is_empty() {
        return view! { <p class="empty">"No inline policies. Create one to grant this " {kind} " permissions of its own."</p> }
            .into_any();
    }
    // What each document takes of the entity's quota, as AWS counts it (whitespace not counted).
    let sizes: Vec<usize> = policies.iter().map(size_of).collect();
    let used: usize = sizes.iter().sum();
    let quota = inline_quota(kind);
    // A document the caller may not read counts as nothing here: the figure is then a floor.
    let floor = if policies.iter().any(|p| p.document.is_err()) { "at least " } else { "" };
    view! {
        <p class="help">{format!("Together these policies use {floor}{used} of the {quota} characters allowed.")}</p>
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Policy name"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {policies
                        .into_iter()
                        .zip(sizes)
                        .enumerate()
                        .map(|(row, (policy, size))| {
                            // The room this document may grow into: the quota less the others.
                            let room = quota.saturating_sub(used - size);
                            view! { <InlinePolicyRow policy row room kind entity=entity.clone() save remove /> }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn InlinePolicyRow(
    policy: InlinePolicyView,
    /// The row's index: element ids are made from it, never from the name.
    row: usize,
    room: usize,
    kind: &'static str,
    entity: String,
    save: ServerAction<PutInlinePolicy>,
    remove: ServerAction<DeleteInlinePolicy>,
) -> impl IntoView {
    let name = policy.policy_name.clone();
    let (edit_label, remove_label) = (format!("Edit {name}"), format!("Remove {name}"));
    let question = format!("Remove {name}? The {kind} loses the permissions it grants at once.");
    let edit = match policy.document {
        Ok(document) => {
            let (entity, name) = (entity.clone(), name.clone());
            let document_label = format!("Policy document of {name}");
            let too_large = too_large(kind, &entity);
            view! {
                <details>
                    <summary class="button" aria-label=edit_label>"Edit"</summary>
                    <ActionForm action=save>
                        <input type="hidden" name="entity_kind" value=kind />
                        <input type="hidden" name="entity_name" value=entity />
                        <input type="hidden" name="policy_name" value=name />
                        <PolicyEditor id=format!("inline-policy-{row}") name="policy_document" label=document_label
                            initial=document kind=PolicyKind::Identity max_chars=room too_large />
                        <button type="submit" class="button primary">"Save changes"</button>
                    </ActionForm>
                </details>
            }
            .into_any()
        }
        Err(error) => view! { <ErrorAlert error /> }.into_any(),
    };
    view! {
        <tr>
            <th scope="row" class="mono">{name.clone()}</th>
            <td>"Customer inline"</td>
            <td>
                {edit}
                <details>
                    <summary class="button" aria-label=remove_label>"Remove"</summary>
                    <p>{question}</p>
                    <ActionForm action=remove>
                        <input type="hidden" name="entity_kind" value=kind />
                        <input type="hidden" name="entity_name" value=entity />
                        <input type="hidden" name="policy_name" value=name />
                        // Disabled while pending: a second click would answer NoSuchEntity.
                        <button type="submit" class="button danger" disabled=move || remove.pending().try_get().unwrap_or(false)>
                            "Remove policy"
                        </button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
    .into_any()
}

/// What a policy's document takes of its entity's quota (nothing, when it cannot be read).
fn size_of(policy: &InlinePolicyView) -> usize {
    policy.document.as_deref().map_or(0, size_without_whitespace)
}

/// The server's refusal of a document past the entity's quota, word for word (iam-core's).
fn too_large(kind: &str, entity: &str) -> String {
    format!("Maximum policy size of {} bytes exceeded for {kind} {entity}", inline_quota(kind))
}

/// A new inline policy: its name and its document in the JSON editor.
#[component]
fn CreateInlinePolicy(kind: &'static str, entity: String, room: usize) -> impl IntoView {
    let create = ServerAction::<PutInlinePolicy>::new();
    let entity_field = entity.clone();
    let pending = create.pending();
    view! {
        <details class="form-panel">
            <summary class="button">"Create inline policy"</summary>
            {action_error(create.value())}
            <ActionForm action=create>
                <input type="hidden" name="entity_kind" value=kind />
                <input type="hidden" name="entity_name" value=entity_field />
                <input type="hidden" name="create" value="true" />
                <div class="field">
                    <label for="new_policy_name">"Policy name"</label>
                    <input id="new_policy_name" name="policy_name" type="text" required maxlength="128"
                        pattern="[\\w+=,.@\\-]+" autocomplete="off" />
                </div>
                <PolicyEditor id="new_policy_document".to_owned() name="policy_document" label="Policy document (JSON)".to_owned()
                    initial=NEW_POLICY.to_owned() kind=PolicyKind::Identity max_chars=room
                    too_large=too_large(kind, &entity) />
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>"Create policy"</button>
            </ActionForm>
        </details>
    }
}

/// Every policy a user has, with how it is attached (directly, inline, through which group), as
/// the AWS console's Permissions tab lists them. The panels below change them.
#[component]
pub fn UserPermissionsPanel(user_name: String, at: Signal<Option<String>>) -> impl IntoView {
    let granted =
        Resource::new(move || at.try_get().flatten(), move |_| crate::api::user_permissions(user_name.clone()));
    view! {
        <section class="panel" aria-labelledby="permissions-policies-heading">
            <h2 id="permissions-policies-heading">"Permissions policies"</h2>
            <p class="help">"Every policy this user has, and how: attached to the user, inline, or through a group."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading permissions…"</p> }>
                {move || Suspend::new(async move {
                    let found = match granted.await {
                        Ok(found) => found,
                        Err(error) => return view! { <ErrorAlert error /> }.into_any(),
                    };
                    // The refused reads in one bar: the list below is incomplete, and says so.
                    let incomplete = !found.refused.is_empty();
                    let refused = incomplete.then(|| view! {
                        <div class="alert error" role="alert">
                            <strong>"Not every policy could be read"</strong>
                            <ul>
                                {found.refused.into_iter().map(|(what, error)| view! {
                                    <li>{format!("{what}: {}: {}", error.code, error.message)}</li>
                                }).collect_view()}
                            </ul>
                        </div>
                    });
                    let table = if found.policies.is_empty() {
                        let empty = if incomplete {
                            "No policy could be read of those you may see."
                        } else {
                            "This user has no permissions policies."
                        };
                        view! { <p class="empty">{empty}</p> }.into_any()
                    } else {
                        let rows = found.policies.into_iter().map(|p| {
                            let name = match &p.policy_arn {
                                Some(arn) => view! { <a href=crate::paths::policy_href(arn)>{p.policy_name.clone()}</a> }.into_any(),
                                None => p.policy_name.clone().into_any(),
                            };
                            let via = match &p.group {
                                Some(group) => view! { <a href=crate::paths::group_href(group)>{format!("Group {group}")}</a> }.into_any(),
                                None => "Directly".into_any(),
                            };
                            view! {
                                <tr>
                                    <th scope="row" data-label="Policy name">{name}</th>
                                    <td data-label="Type">{p.kind.clone()}</td>
                                    <td data-label="Attached via">{via}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <div class="table-wrap">
                                <table class="data">
                                    <caption class="visually-hidden">"Permissions policies"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Policy name"</th>
                                            <th scope="col">"Type"</th>
                                            <th scope="col">"Attached via"</th>
                                        </tr>
                                    </thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                        }
                        .into_any()
                    };
                    view! { {refused} {table} }.into_any()
                })}
            </Transition>
        </section>
    }
}

/// The managed policies attached to a user, group or role: detach each, or attach others.
#[component]
pub fn AttachedPoliciesPanel(kind: &'static str, entity: String, at: Signal<Option<String>>) -> impl IntoView {
    let detach = ServerAction::<DetachPolicy>::new();
    let policies = {
        let entity = entity.clone();
        // A detach that failed (the policy gone meanwhile) shows the list as it is now.
        Resource::new(
            move || (at.try_get().flatten(), detach.version().try_get()),
            move |_| attached_policies(kind.to_owned(), entity.clone()),
        )
    };
    let table_entity = entity.clone();
    let attach_href = attach_policies_href(kind, &entity);
    view! {
        <section class="panel" aria-labelledby="managed-policies-heading">
            <h2 id="managed-policies-heading">"Managed policies"</h2>
            {action_error(detach.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading policies…"</p> }>
                {move || {
                    let entity = table_entity.clone();
                    Suspend::new(async move {
                        match policies.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="empty">{format!("No managed policies are attached to this {kind}. Attach one to grant its permissions.")}</p>
                            }
                            .into_any(),
                            Ok(list) => view! { <AttachedPoliciesTable policies=list kind entity detach /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
            <a class="button" href=attach_href>"Attach policies"</a>
        </section>
    }
    .into_any()
}

/// The list an entity belongs to, for breadcrumbs: its label and address.
pub fn section_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "group" => ("User groups", "/groups"),
        "role" => ("Roles", "/roles"),
        _ => ("Users", "/users"),
    }
}

/// Where an entity's attach-policies page is.
pub fn attach_policies_href(kind: &str, entity: &str) -> String {
    format!("{}/attach-policies", crate::paths::entity_href(kind, entity))
}

/// Attaches managed policies to a user, group or role: its own page, as in AWS's console, so that the
/// entity's page does not list every policy each time it opens.
#[component]
pub fn AttachPoliciesPage(kind: &'static str) -> impl IntoView {
    let params = use_params_map();
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    let attach = ServerAction::<AttachPolicies>::new();
    let pending = attach.pending();
    let (list_label, list_href) = section_of(kind);
    let entity_href = move || crate::paths::entity_href(kind, &name());
    view! {
        <Title text=move || format!("Attach policies to {}", name()) />
        <Breadcrumbs trail=vec![
            (list_label.to_owned(), Some(list_href.to_owned())),
            (name(), Some(entity_href())),
            ("Attach policies".to_owned(), None),
        ] />
        <h1>{move || format!("Attach policies to {}", name())}</h1>
        {action_error(attach.value())}
        <ActionForm action=attach attr:class="panel form">
            <input type="hidden" name="entity_kind" value=kind />
            <input type="hidden" name="entity_name" value=name />
            <PolicyPicker field="policies" id="attach-policies" />
            <div class="form-actions">
                <a class="button" href=entity_href>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Attach policies"
                </button>
            </div>
        </ActionForm>
    }
}

#[component]
fn AttachedPoliciesTable(
    policies: Vec<ManagedPolicyView>,
    kind: &'static str,
    entity: String,
    detach: ServerAction<DetachPolicy>,
) -> impl IntoView {
    let pending = detach.pending();
    view! {
        <div class="table-wrap">
            <table class="data">
                <caption class="visually-hidden">"Managed policies"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Policy name"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {policies
                        .into_iter()
                        .map(|p| {
                            let label = format!("Detach {}", p.policy_name);
                            let kind_label = if p.aws_managed { "AWS managed" } else { "Customer managed" };
                            let entity = entity.clone();
                            view! {
                                <tr>
                                    <th scope="row" class="mono">{p.policy_name.clone()}</th>
                                    <td>{kind_label}</td>
                                    <td>
                                        <ActionForm action=detach>
                                            <input type="hidden" name="entity_kind" value=kind />
                                            <input type="hidden" name="entity_name" value=entity />
                                            <input type="hidden" name="policy_arn" value=p.policy_arn.clone() />
                                            // Disabled while pending: a second click would answer NoSuchEntity.
                                            <button type="submit" class="button" aria-label=label disabled=move || pending.try_get().unwrap_or(false)>
                                                "Detach"
                                            </button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The permissions boundary of a user or role: the managed policy that caps what its identity
/// policies can grant. Set or change it on its own page; remove it here, after a confirmation.
#[component]
pub fn BoundaryPanel(kind: &'static str, entity: String, at: Signal<Option<String>>) -> impl IntoView {
    let remove = ServerAction::<RemoveBoundary>::new();
    let boundary = {
        let entity = entity.clone();
        Resource::new(
            move || (at.try_get().flatten(), remove.version().try_get()),
            move |_| permissions_boundary(kind.to_owned(), entity.clone()),
        )
    };
    let set_href = format!("{}/set-boundary", crate::paths::entity_href(kind, &entity));
    let pending = remove.pending();
    view! {
        <section class="panel" aria-labelledby="boundary-heading">
            <h2 id="boundary-heading">"Permissions boundary"</h2>
            <p class="help">
                "A boundary is a managed policy that sets the most this " {kind}
                "'s identity policies can grant. It grants nothing by itself."
            </p>
            {action_error(remove.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading the boundary…"</p> }>
                {move || {
                    let entity = entity.clone();
                    let set_href = set_href.clone();
                    Suspend::new(async move {
                        match boundary.await {
                            Ok(None) => view! {
                                <p class="empty">{format!("No permissions boundary is set for this {kind}.")}</p>
                                <a class="button" href=set_href>"Set boundary"</a>
                            }
                            .into_any(),
                            Ok(Some(arn)) => view! {
                                <p>"Boundary: " <span class="mono">{arn}</span></p>
                                <a class="button" href=set_href>"Change boundary"</a>
                                <details class="form-panel">
                                    <summary class="button">"Remove boundary"</summary>
                                    <p>{format!("Without its boundary, this {kind} may do everything its policies allow.")}</p>
                                    <ActionForm action=remove>
                                        <input type="hidden" name="entity_kind" value=kind />
                                        <input type="hidden" name="entity_name" value=entity />
                                        <button type="submit" class="button danger" disabled=move || pending.try_get().unwrap_or(false)>
                                            "Remove the boundary"
                                        </button>
                                    </ActionForm>
                                </details>
                            }
                            .into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
    .into_any()
}

/// Sets or changes a user's or role's permissions boundary: its own page, as in AWS's console.
#[component]
pub fn SetBoundaryPage(kind: &'static str) -> impl IntoView {
    let params = use_params_map();
    let name = move || params.try_with(|p| p.get("name").unwrap_or_default()).unwrap_or_default();
    let set = ServerAction::<SetBoundary>::new();
    let pending = set.pending();
    let (list_label, list_href) = section_of(kind);
    let entity_href = move || crate::paths::entity_href(kind, &name());
    view! {
        <Title text=move || format!("Set permissions boundary of {}", name()) />
        <Breadcrumbs trail=vec![
            (list_label.to_owned(), Some(list_href.to_owned())),
            (name(), Some(entity_href())),
            ("Set permissions boundary".to_owned(), None),
        ] />
        <h1>{move || format!("Set permissions boundary of {}", name())}</h1>
        <p class="help">"Choose the managed policy that sets the most this " {kind} "'s identity policies can grant."</p>
        {action_error(set.value())}
        <ActionForm action=set attr:class="panel form">
            <input type="hidden" name="entity_kind" value=kind />
            <input type="hidden" name="entity_name" value=name />
            <fieldset>
                <legend>"Permissions boundary"</legend>
                <BoundaryPicker field="boundary" id="boundary-policy" />
            </fieldset>
            <div class="form-actions">
                <a class="button" href=entity_href>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Set boundary"
                </button>
            </div>
        </ActionForm>
    }
}
