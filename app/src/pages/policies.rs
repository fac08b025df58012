//! Managed policies, as AWS's console has them: the list (filter by name, type and use; sort;
//! pages), creation (the JSON editor checked as one types, the policy summary by service, name,
//! description, tags), and a policy's page with AWS's tabs: Permissions (summary and JSON),
//! Entities attached (attach, detach), Policy versions (set default, delete, compare two side by
//! side), Tags; editing saves a new version; deleting detaches it everywhere first.

use iam_policy::PolicyKind;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    AttachPolicyTo, CreatePolicy, DeletePolicy, DeletePolicyVersions, DetachPolicyFrom, POLICY_TYPES, POLICY_USES,
    PolicyRow, PolicyView, SavePolicyVersion, SetDefaultVersion, SummaryView, compare_versions, list_policies,
    policy_details, policy_entities, policy_summary, used_as,
};
use crate::components::list::{ListPage, ListState, Pager, RowCheckbox, SortHeader, deleted_bar, deleted_names};
use crate::components::policy_editor::{NEW_POLICY, PolicyEditor, problems};
use crate::components::visual_editor::VisualEditor;
use crate::pages::layout::Breadcrumbs;
use crate::pages::pickers::{GroupPicker, RolePicker, UserPicker};
use crate::pages::tags::{TagRows, TagsPanel};
use crate::pages::{ErrorAlert, action_error};
use crate::paths::{entity_href, policy_attach_href, policy_edit_href, policy_href, policy_tab};

const BASE: &str = "/policies";
/// AWS's quota on a managed policy, without whitespace, and its words past it (as iam-core says them).
const MANAGED_QUOTA: usize = 6_144;
const MANAGED_TOO_LARGE: &str = "Cannot exceed quota for PolicySize: 6144";

/// The list's state, with its type and use filters.
fn list_state(query: &leptos_router::params::ParamsMap) -> ListState {
    let facet = |key: &str, allowed: &[(&str, &str)]| {
        let value = query.get(key).unwrap_or_default();
        (key.to_owned(), if allowed.iter().any(|(k, _)| *k == value) { value } else { String::new() })
    };
    ListState { facets: vec![facet("type", POLICY_TYPES), facet("used", POLICY_USES)], ..ListState::from_query(query) }
}

fn facet(state: &ListState, key: &str) -> String {
    state.facets.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

#[component]
pub fn PoliciesPage() -> impl IntoView {
    let query = use_query_map();
    let state = move || query.try_with(list_state).unwrap_or_default();
    let deleted = move || query.try_with(|q| deleted_names(q, "policies-deleted")).unwrap_or_default();
    let policies = Resource::new(state, |s| {
        list_policies(s.filter.clone(), facet(&s, "type"), facet(&s, "used"), s.sort, s.desc, s.page, s.size)
    });
    view! {
        <Title text="Policies" />
        <Breadcrumbs trail=vec![("Policies".to_owned(), None)] />
        <div class="page-header">
            <h1>"Policies"</h1>
            <a class="button primary" href="/policies/create">"Create policy"</a>
        </div>
        <p class="help">
            "A policy is an object that defines permissions. Attach managed policies to users, groups and roles, or use them "
            "as permissions boundaries."
        </p>
        {move || deleted_bar(deleted(), "Policy", "Policies")}
        <Transition fallback=|| view! { <p class="loading">"Loading policies…"</p> }>
            {move || {
                let state = state();
                Suspend::new(async move {
                    match policies.await {
                        Ok(page) => view! { <PoliciesTable page state /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// The filter form: the name, the type and the use, sent together.
#[component]
fn PolicyFilter(state: ListState) -> impl IntoView {
    let (kind, used) = (facet(&state, "type"), facet(&state, "used"));
    let options = |choices: &'static [(&'static str, &'static str)], current: String| {
        choices
            .iter()
            .map(|(value, label)| view! { <option value=*value selected=*value == current>{*label}</option> })
            .collect_view()
    };
    let sort = (!state.sort.is_empty()).then(|| state.sort.clone());
    view! {
        <form class="search" method="get" action=BASE role="search">
            <label for="list-filter" class="visually-hidden">"Filter policies by name"</label>
            <input id="list-filter" name="filter" type="search" placeholder="Filter policies by name" value=state.filter.clone() />
            <label for="policy-type">"Type"</label>
            <select id="policy-type" name="type">{options(POLICY_TYPES, kind)}</select>
            <label for="policy-used">"Used as"</label>
            <select id="policy-used" name="used">{options(POLICY_USES, used)}</select>
            {sort.map(|s| view! { <input type="hidden" name="sort" value=s /> })}
            {state.desc.then(|| view! { <input type="hidden" name="desc" value="1" /> })}
            {(state.size != 0).then(|| view! { <input type="hidden" name="size" value=state.size.to_string() /> })}
            <button type="submit" class="button">"Search"</button>
        </form>
    }
}

#[component]
fn PoliciesTable(page: ListPage<PolicyRow>, state: ListState) -> impl IntoView {
    let filter = view! { <PolicyFilter state=state.clone() /> };
    if page.total == 0 {
        let filtered = !state.filter.trim().is_empty() || state.facets.iter().any(|(_, v)| !v.is_empty());
        let empty = if filtered {
            view! { <p class="empty">"No policy matches these filters. " <a href=BASE>"Clear the filters"</a></p> }
                .into_any()
        } else {
            view! {
                <p class="empty">"No policies. " <a href="/policies/create">"Create a policy"</a> " to grant permissions."</p>
            }
            .into_any()
        };
        return view! { {filter} {empty} }.into_any();
    }
    view! {
        {filter}
        <div class="table-wrap">
            <table class="data">
                <caption class="visually-hidden">"Policies"</caption>
                <thead>
                    <tr>
                        <SortHeader base=BASE state=state.clone() column="name" label="Policy name" default=true />
                        <SortHeader base=BASE state=state.clone() column="type" label="Type" />
                        <SortHeader base=BASE state=state.clone() column="used" label="Used as" />
                        <th scope="col">"Description"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .items
                        .into_iter()
                        .map(|p| {
                            view! {
                                <tr>
                                    <td data-label="Policy name"><a href=policy_href(&p.arn)>{p.policy_name.clone()}</a></td>
                                    <td data-label="Type">{p.kind.clone()}</td>
                                    <td data-label="Used as">{used_as(p.attachments, p.boundaries)}</td>
                                    <td data-label="Description">{p.description.clone()}</td>
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

/// AWS's policy summary: per effect, a table of the services, the access level, the resources and
/// the request conditions.
#[component]
pub fn PolicySummary(summary: SummaryView) -> impl IntoView {
    let table = |rows: Vec<crate::api::SummaryRow>, caption: String| {
        view! {
            <div class="table-wrap">
                <table class="data summary">
                    <caption>{caption}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Service"</th>
                            <th scope="col">"Access level"</th>
                            <th scope="col">"Resource"</th>
                            <th scope="col">"Request condition"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|row| {
                                let counts = row
                                    .levels
                                    .iter()
                                    .map(|(level, covered, total)| format!("{level}: {covered} of {total}"))
                                    .collect::<Vec<_>>()
                                    .join("; ");
                                let resources = match row.resources {
                                    None => "All resources".to_owned(),
                                    Some(list) if list.is_empty() => "No resource of this service".to_owned(),
                                    Some(list) => list.join(", "),
                                };
                                let conditions =
                                    if row.conditions.is_empty() { "None".to_owned() } else { row.conditions.join("; ") };
                                view! {
                                    <tr>
                                        <th scope="row" data-label="Service">{row.service}</th>
                                        <td data-label="Access level" title=counts>{row.access}</td>
                                        <td data-label="Resource" class="mono">{resources}</td>
                                        <td data-label="Request condition" class="mono">{conditions}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
    };
    let services = summary.services;
    let allow = (!summary.allow.is_empty())
        .then(|| table(summary.allow.clone(), format!("Allow ({} of {services} services)", summary.allow.len())));
    let deny = (!summary.deny.is_empty())
        .then(|| table(summary.deny.clone(), format!("Explicit deny ({} of {services} services)", summary.deny.len())));
    let nothing = (summary.allow.is_empty() && summary.deny.is_empty())
        .then(|| view! { <p class="empty">"This policy grants or denies no action of any service."</p> });
    let unrecognized = (!summary.unrecognized.is_empty()).then(|| {
        view! {
            <div class="alert warning" role="note">
                <strong>"Unrecognized actions"</strong>
                <span>{format!("No AWS service has these actions: {}.", summary.unrecognized.join(", "))}</span>
            </div>
        }
    });
    view! { {unrecognized} {allow} {deny} {nothing} }
}

/// The two editors over one document: the JSON editor (which works without the wasm) and, once the
/// page is interactive, the visual editor, chosen with two buttons as AWS's console offers them.
/// In the visual editor the JSON editor's findings are listed below it.
#[component]
fn PolicyEditors(text: RwSignal<String>, initial: String, name: &'static str) -> impl IntoView {
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let visual = RwSignal::new(false);
    let found = Memo::new(move |_| text.with(|t| problems(t, PolicyKind::Identity, MANAGED_QUOTA, MANAGED_TOO_LARGE)));
    // To the visual editor with what the JSON box holds now, not once typing would have settled.
    let to_visual = move |_| {
        use leptos::wasm_bindgen::JsCast;
        if let Some(el) = document().get_element_by_id("policy-document") {
            let typed = el.unchecked_ref::<leptos::web_sys::HtmlTextAreaElement>().value();
            if text.with_untracked(|t| *t != typed) {
                text.set(typed);
            }
        }
        visual.set(true);
    };
    view! {
        <div class="editor-mode" role="group" aria-label="Policy editor" hidden=move || !interactive.get()>
            <button type="button" class="button" aria-pressed=move || visual.get().to_string()
                on:click=to_visual>"Visual"</button>
            <button type="button" class="button" aria-pressed=move || (!visual.get()).to_string()
                on:click=move |_| visual.set(false)>"JSON"</button>
        </div>
        {move || (interactive.get() && visual.get()).then(|| view! {
            <VisualEditor text />
            <div class="policy-problems" role="status" aria-live="polite">
                {move || {
                    let list = found.get();
                    if list.is_empty() {
                        view! { <p class="ok">"No errors in the policy."</p> }.into_any()
                    } else {
                        view! { <ul>{list.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul> }.into_any()
                    }
                }}
            </div>
        })}
        <div hidden=move || visual.get()>
            <PolicyEditor id="policy-document".to_owned() name label="Policy editor (JSON)".to_owned() initial
                kind=PolicyKind::Identity max_chars=MANAGED_QUOTA too_large=MANAGED_TOO_LARGE.to_owned() text />
        </div>
    }
}

/// The summary of the text being written, computed by the server once typing pauses.
#[component]
fn LiveSummary(text: RwSignal<String>) -> impl IntoView {
    let summary = Resource::new(move || text.get(), policy_summary);
    view! {
        <section class="review" aria-labelledby="summary-heading">
            <h2 id="summary-heading">"Permissions defined in this policy"</h2>
            <Transition fallback=|| view! { <p class="loading">"Summarizing…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(summary) => view! { <PolicySummary summary /> }.into_any(),
                        Err(_) => view! { <p class="empty">"The summary appears once the policy is valid JSON."</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn CreatePolicyPage() -> impl IntoView {
    let create = ServerAction::<CreatePolicy>::new();
    let pending = create.pending();
    let text = RwSignal::new(NEW_POLICY.to_owned());
    // The summary needs the wasm (it follows the text): shown once the page is interactive.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    view! {
        <Title text="Create policy" />
        <Breadcrumbs trail=vec![("Policies".to_owned(), Some(BASE.to_owned())), ("Create policy".to_owned(), None)] />
        <h1>"Create policy"</h1>
        {action_error(create.value())}
        <ActionForm action=create attr:class="panel form">
            <h2>"Specify permissions"</h2>
            <PolicyEditors text initial=NEW_POLICY.to_owned() name="policy[document]" />
            <h2>"Review and create"</h2>
            <div class="field">
                <label for="policy-name">"Policy name"</label>
                <input id="policy-name" name="policy[policy_name]" type="text" required maxlength="128" autocomplete="off"
                    pattern="[\\w+=,.@\\-]+" />
                <small>"Up to 128 characters: letters, digits and + = , . @ _ -"</small>
            </div>
            <div class="field">
                <label for="policy-description">"Description " <span class="optional">"- optional"</span></label>
                <textarea id="policy-description" name="policy[description]" rows="2" maxlength="1000"></textarea>
            </div>
            <div class="field">
                <label for="policy-path">"Path " <span class="optional">"- optional"</span></label>
                <input id="policy-path" name="policy[path]" type="text" placeholder="/" maxlength="512" />
            </div>
            <h3>"Tags " <span class="optional">"- optional"</span></h3>
            <TagRows />
            {move || interactive.get().then(|| view! { <LiveSummary text /> })}
            <div class="form-actions">
                <a class="button" href=BASE>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Create policy"
                </button>
            </div>
        </ActionForm>
    }
}

/// The ARN in the page's path (the route takes the rest of the path).
fn arn_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.try_with(|p| p.get("arn").unwrap_or_default()).unwrap_or_default()
}

fn policy_notice(done: &str) -> Option<&'static str> {
    match done {
        "policy-created" => Some("The policy is created."),
        "policy-attached" => Some("The policy is attached. The entities have its permissions from their next request."),
        "policy-detached" => Some("The policy is detached."),
        "version-saved-default" => {
            Some("A new version is saved and is the default: it applies to every entity the policy is attached to.")
        }
        "version-saved" => Some("A new version is saved. The default version is unchanged."),
        "default-set" => Some("The default version is changed. It applies from the next request."),
        "versions-deleted" => Some("The versions are deleted."),
        "tags-saved" => Some("The tags are saved."),
        "tags-removed" => Some("The tags are removed."),
        _ => None,
    }
}

const TABS: [(&str, &str); 4] = [
    ("permissions", "Permissions"),
    ("entities", "Entities attached"),
    ("versions", "Policy versions"),
    ("tags", "Tags"),
];

#[component]
pub fn PolicyDetailPage() -> impl IntoView {
    let arn = arn_param();
    let query = use_query_map();
    let done = move || query.try_with(|q| q.get("done")).flatten();
    let at = Signal::derive(move || query.try_with(|q| q.get("at")).flatten());
    // AWS's own policies have no tags here (and no edit or delete).
    let aws_managed = move || arn().starts_with("arn:aws:iam::aws:");
    let tab = move || {
        let asked = query.try_with(|q| q.get("tab")).flatten().unwrap_or_default();
        let known = TABS.iter().any(|(k, _)| *k == asked) && !(asked == "tags" && aws_managed());
        if known { asked } else { "permissions".to_owned() }
    };
    let details = Resource::new(move || (arn(), at.try_get().flatten()), |(arn, _)| policy_details(arn));
    let name = move || arn().rsplit('/').next().unwrap_or_default().to_owned();
    let tabs = move || {
        let (arn, tab) = (arn(), tab());
        TABS.iter()
            .filter(|(key, _)| *key != "tags" || !aws_managed())
            .map(|(key, label)| {
                let current = (*key == tab).then_some("page");
                view! { <li><a href=policy_tab(&arn, key) aria-current=current>{*label}</a></li> }
            })
            .collect_view()
    };
    view! {
        <Title text=name />
        <Breadcrumbs trail=vec![("Policies".to_owned(), Some(BASE.to_owned())), (name(), None)] />
        <h1>{name}</h1>
        {move || done().as_deref().and_then(policy_notice).map(|n| view! { <div class="alert success" role="status">{n}</div> })}
        <Transition fallback=|| view! { <p class="loading">"Loading policy…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(policy) => view! { <PolicyFacts policy /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
        <nav class="tabs" aria-label="Policy sections"><ul>{tabs}</ul></nav>
        // The tabs stand outside the suspended details and make their resources as they are built.
        {move || match tab().as_str() {
            "entities" => view! { <EntitiesTab arn=arn() at /> }.into_any(),
            "versions" => view! { <VersionsTab arn=arn() details /> }.into_any(),
            "tags" => view! { <TagsPanel kind="policy" entity=arn() at /> }.into_any(),
            _ => view! { <PermissionsTab details /> }.into_any(),
        }}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(policy) if !policy.aws_managed => view! { <DeletePolicyPanel policy /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PolicyFacts(policy: PolicyView) -> impl IntoView {
    let edit = (!policy.aws_managed).then(|| {
        view! { <a class="button" href=policy_edit_href(&policy.arn)>"Edit"</a> }
    });
    view! {
        <section class="panel">
            <div class="page-header">
                <h2>"Policy details"</h2>
                {edit}
            </div>
            <dl class="facts">
                <dt>"Type"</dt>
                <dd>{policy.kind}</dd>
                <dt>"ARN"</dt>
                <dd class="mono">{policy.arn}</dd>
                <dt>"Policy ID"</dt>
                <dd class="mono">{policy.policy_id}</dd>
                <dt>"Path"</dt>
                <dd class="mono">{policy.path}</dd>
                <dt>"Creation time"</dt>
                <dd>{policy.created}</dd>
                <dt>"Edited time"</dt>
                <dd>{policy.updated}</dd>
                <dt>"Default version"</dt>
                <dd>{policy.default_version}</dd>
                <dt>"Used as"</dt>
                <dd>{used_as(policy.attachments, policy.boundaries)}</dd>
                <dt>"Description"</dt>
                <dd>{if policy.description.is_empty() { "None".to_owned() } else { policy.description }}</dd>
            </dl>
        </section>
    }
}

type Details = Resource<Result<PolicyView, crate::ConsoleError>>;

#[component]
fn PermissionsTab(details: Details) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="permissions-heading">
            <h2 id="permissions-heading">"Permissions defined in this policy"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading permissions…"</p> }>
                {move || Suspend::new(async move {
                    let document = details.await.and_then(|policy| policy.document);
                    match document {
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        Ok((document, summary)) => view! {
                            <PolicySummary summary />
                            <details class="json">
                                <summary>"JSON"</summary>
                                <pre class="mono" aria-label="Policy document (JSON)" tabindex="0">{document}</pre>
                            </details>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

const DETACH_FORM: &str = "detach-policy";

#[component]
fn EntitiesTab(arn: String, at: Signal<Option<String>>) -> impl IntoView {
    let detach = ServerAction::<DetachPolicyFrom>::new();
    let entities = {
        let arn = arn.clone();
        Resource::new(
            move || (at.try_get().flatten(), detach.version().try_get()),
            move |_| policy_entities(arn.clone()),
        )
    };
    let pending = detach.pending();
    let attach = policy_attach_href(&arn);
    view! {
        <section class="panel" aria-labelledby="entities-heading">
            <div class="page-header">
                <h2 id="entities-heading">"Entities attached"</h2>
                <a class="button" href=attach>"Attach"</a>
            </div>
            {action_error(detach.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading entities…"</p> }>
                {move || Suspend::new(async move {
                    match entities.await {
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"No user, group or role has this policy attached or as its boundary."</p> }.into_any()
                        }
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="data">
                                    <caption class="visually-hidden">"Entities attached"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                            <th scope="col">"Entity name"</th>
                                            <th scope="col">"Entity type"</th>
                                            <th scope="col">"Attached as"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().enumerate().map(|(row, e)| {
                                            let href = entity_href(&e.kind, &e.name);
                                            // A boundary is removed on the user's or role's page,
                                            // deliberately: it is not detached from here.
                                            let kind = match e.kind.as_str() { "group" => "Group", "role" => "Role", _ => "User" };
                                            let select = if e.attached_as == "Permissions policy" {
                                                let label = format!("Select {} {}", kind.to_lowercase(), e.name);
                                                view! { <RowCheckbox form=DETACH_FORM row name=format!("{}:{}", e.kind, e.name) label /> }.into_any()
                                            } else {
                                                view! { <td></td> }.into_any()
                                            };
                                            view! {
                                                <tr>
                                                    {select}
                                                    <td data-label="Entity name"><a href=href>{e.name.clone()}</a></td>
                                                    <td data-label="Entity type">{kind}</td>
                                                    <td data-label="Attached as">{e.attached_as.clone()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=detach attr:id=DETACH_FORM>
                <input type="hidden" name="arn" value=arn />
                <button type="submit" class="button" disabled=move || pending.try_get().unwrap_or(false)>"Detach selected"</button>
            </ActionForm>
        </section>
    }
}

const VERSIONS_FORM: &str = "delete-versions";

#[component]
fn VersionsTab(arn: String, details: Details) -> impl IntoView {
    let query = use_query_map();
    let delete = ServerAction::<DeletePolicyVersions>::new();
    let set_default = ServerAction::<SetDefaultVersion>::new();
    // The two versions compared, from the URL, so that a comparison can be shared.
    let asked = move |key: &str| query.try_with(|q| q.get(key)).flatten().unwrap_or_default();
    let comparison = {
        let arn = arn.clone();
        Resource::new(
            move || (asked("compare"), asked("with")),
            move |(left, right)| {
                let arn = arn.clone();
                async move {
                    if left.is_empty() || right.is_empty() {
                        return Ok(None);
                    }
                    compare_versions(arn, left.clone(), right.clone()).await.map(|lines| Some((lines, left, right)))
                }
            },
        )
    };
    let delete_pending = delete.pending();
    view! {
        <section class="panel" aria-labelledby="versions-heading">
            <h2 id="versions-heading">"Policy versions"</h2>
            <p class="help">"A managed policy keeps up to 5 versions. The default version is the one in effect."</p>
            {action_error(delete.value())}
            {action_error(set_default.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading versions…"</p> }>
                {move || {
                    let arn = arn.clone();
                    let (left, right) = (asked("compare"), asked("with"));
                    Suspend::new(async move {
                        let policy = match details.await {
                            Ok(policy) => policy,
                            Err(error) => return view! { <ErrorAlert error /> }.into_any(),
                        };
                        let versions = match policy.versions {
                            Ok(versions) => versions,
                            Err(error) => return view! { <ErrorAlert error /> }.into_any(),
                        };
                        let editable = !policy.aws_managed;
                        let newest = versions.first().map(|v| v.version_id.clone()).unwrap_or_default();
                        let left = if left.is_empty() { policy.default_version.clone() } else { left };
                        let right = if right.is_empty() { newest } else { right };
                        let options = |current: &str| {
                            versions
                                .iter()
                                .map(|v| {
                                    let label = if v.is_default { format!("{} (default)", v.version_id) } else { v.version_id.clone() };
                                    view! { <option value=v.version_id.clone() selected=v.version_id == current>{label}</option> }
                                })
                                .collect_view()
                        };
                        let (left_options, right_options) = (options(&left), options(&right));
                        let compare_href = policy_href(&arn);
                        let delete_arn = arn.clone();
                        let rows = versions.clone().into_iter().enumerate().map(|(row, v)| {
                            let arn = arn.clone();
                            let label = if v.is_default { format!("{} (default)", v.version_id) } else { v.version_id.clone() };
                            let select = if editable && !v.is_default {
                                view! { <RowCheckbox form=VERSIONS_FORM row name=v.version_id.clone() /> }.into_any()
                            } else {
                                view! { <td></td> }.into_any()
                            };
                            let make_default = (editable && !v.is_default).then(|| view! {
                                <ActionForm action=set_default>
                                    <input type="hidden" name="arn" value=arn />
                                    <input type="hidden" name="version_id" value=v.version_id.clone() />
                                    <button type="submit" class="button link" aria-label=format!("Set {} as default", v.version_id)>
                                        "Set as default"
                                    </button>
                                </ActionForm>
                            });
                            view! {
                                <tr>
                                    {select}
                                    <td data-label="Version">{label}</td>
                                    <td data-label="Creation time">{v.created.clone()}</td>
                                    <td>{make_default}</td>
                                </tr>
                            }
                        }).collect_view();
                        let delete_form = editable.then(move || view! {
                            <ActionForm action=delete attr:id=VERSIONS_FORM>
                                <input type="hidden" name="arn" value=delete_arn />
                                <button type="submit" class="button" disabled=move || delete_pending.try_get().unwrap_or(false)>
                                    "Delete selected versions"
                                </button>
                            </ActionForm>
                        });
                        view! {
                            <div class="table-wrap">
                                <table class="data">
                                    <caption class="visually-hidden">"Policy versions"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                            <th scope="col">"Version"</th>
                                            <th scope="col">"Creation time"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr>
                                    </thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                            {delete_form}
                            <h3>"Compare versions"</h3>
                            <form class="compare" method="get" action=compare_href>
                                <input type="hidden" name="tab" value="versions" />
                                <label for="compare-left">"Version"</label>
                                <select id="compare-left" name="compare">{left_options}</select>
                                <label for="compare-right">"with version"</label>
                                <select id="compare-right" name="with">{right_options}</select>
                                <button type="submit" class="button">"Compare"</button>
                            </form>
                        }
                        .into_any()
                    })
                }}
            </Transition>
            <Transition fallback=|| view! { <p class="loading">"Comparing…"</p> }>
                {move || Suspend::new(async move {
                    match comparison.await {
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some((lines, left, right))) => view! { <SideBySide lines left right /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Two versions side by side, a changed line marked in words as well as in colour.
#[component]
fn SideBySide(lines: Vec<crate::api::DiffLine>, left: String, right: String) -> impl IntoView {
    let changed = lines.iter().filter(|l| l.change != "same").count();
    let status = if changed == 0 {
        format!("{left} and {right} are the same.")
    } else {
        let lines = if changed == 1 { "1 line differs".to_owned() } else { format!("{changed} lines differ") };
        format!("{lines} between {left} and {right}.")
    };
    view! {
        <p role="status">{status}</p>
        <div class="table-wrap">
            <table class="data diff mono">
                <caption class="visually-hidden">{format!("{left} compared with {right}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{left.clone()}</th>
                        <th scope="col">{right.clone()}</th>
                    </tr>
                </thead>
                <tbody>
                    {lines.into_iter().map(|l| {
                        let marker = match l.change.as_str() {
                            "removed" => "Removed: ",
                            "added" => "Added: ",
                            "changed" => "Changed: ",
                            _ => "",
                        };
                        let cell = |text: Option<String>| match text {
                            Some(t) if !marker.is_empty() => view! {
                                <span class="visually-hidden">{marker}</span>{t}
                            }.into_any(),
                            Some(t) => t.into_any(),
                            None => "".into_any(),
                        };
                        view! {
                            <tr class=l.change.clone()>
                                <td><pre>{cell(l.left)}</pre></td>
                                <td><pre>{cell(l.right)}</pre></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DeletePolicyPanel(policy: PolicyView) -> impl IntoView {
    let delete = ServerAction::<DeletePolicy>::new();
    let pending = delete.pending();
    view! {
        <section class="panel danger">
            <h2>"Delete policy"</h2>
            <p>
                "Deleting the policy detaches it from every user, group and role it is attached to, who lose the "
                "permissions it grants, and deletes all its versions. A policy used as a permissions boundary cannot be "
                "deleted until it is removed as the boundary. This cannot be undone."
            </p>
            {action_error(delete.value())}
            <ActionForm action=delete>
                <input type="hidden" name="arn" value=policy.arn.clone() />
                <div class="field">
                    <label for="policy-confirmation">"To confirm deletion, enter the policy name."</label>
                    <input id="policy-confirmation" name="confirmation" type="text" autocomplete="off"
                        placeholder=policy.policy_name.clone() />
                </div>
                <button type="submit" class="button danger" disabled=move || pending.try_get().unwrap_or(false)>"Delete"</button>
            </ActionForm>
        </section>
    }
}

/// Edits a customer managed policy: its default version in the JSON editor, saved as a new
/// version (`CreatePolicyVersion`), the default one unless unticked.
#[component]
pub fn EditPolicyPage() -> impl IntoView {
    let arn = arn_param();
    let details = Resource::new(arn, policy_details);
    let save = ServerAction::<SavePolicyVersion>::new();
    let pending = save.pending();
    let name = move || arn().rsplit('/').next().unwrap_or_default().to_owned();
    // Kept by the editor; the summary follows it once the page is interactive (made then, in
    // the browser, outside the suspended form).
    let text = RwSignal::new(String::new());
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    view! {
        <Title text=move || format!("Edit {}", name()) />
        <Breadcrumbs trail=vec![
            ("Policies".to_owned(), Some(BASE.to_owned())),
            (name(), Some(policy_href(&arn()))),
            ("Edit".to_owned(), None),
        ] />
        <h1>{move || format!("Edit {}", name())}</h1>
        {action_error(save.value())}
        <Transition fallback=|| view! { <p class="loading">"Loading policy…"</p> }>
            {move || Suspend::new(async move {
                let policy = match details.await {
                    Ok(policy) => policy,
                    Err(error) => return view! { <ErrorAlert error /> }.into_any(),
                };
                let room = make_room(&policy);
                let document = match policy.document {
                    Ok((document, _)) => document,
                    Err(error) => return view! { <ErrorAlert error /> }.into_any(),
                };
                view! {
                    <ActionForm action=save attr:class="panel form">
                        <input type="hidden" name="arn" value=policy.arn.clone() />
                        <PolicyEditors text initial=document name="document" />
                        {room}
                        <div class="field checkbox">
                            <input id="set-as-default" name="set_as_default" type="checkbox" value="true" checked />
                            <label for="set-as-default">"Set this new version as the default"</label>
                        </div>
                        <p class="help">
                            "Saving makes a new version (up to 5 are kept). As the default, it applies to every user, group and "
                            "role the policy is attached to."
                        </p>
                        <div class="form-actions">
                            <a class="button" href=policy_href(&policy.arn)>"Cancel"</a>
                            <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                                "Save changes"
                            </button>
                        </div>
                    </ActionForm>
                }
                .into_any()
            })}
        </Transition>
        {move || interactive.get().then(|| view! { <LiveSummary text /> })}
    }
}

/// At AWS's 5 versions a new one needs room: the person chooses which older version goes (the
/// oldest that is not the default, to start with), as AWS's console asks.
fn make_room(policy: &PolicyView) -> Option<impl IntoView + use<>> {
    let versions = policy.versions.as_ref().ok()?;
    if versions.len() < 5 {
        return None;
    }
    let mut older: Vec<String> = versions.iter().filter(|v| !v.is_default).map(|v| v.version_id.clone()).collect();
    // Oldest first (the list comes newest first).
    older.reverse();
    Some(view! {
        <div class="field">
            <label for="delete-version">"Version to delete"</label>
            <select id="delete-version" name="delete_version" aria-describedby="delete-version-help">
                {older.into_iter().map(|v| {
                    let label = v.clone();
                    view! { <option value=v>{label}</option> }
                }).collect_view()}
            </select>
            <small id="delete-version-help">
                "This policy has 5 versions, the most it may keep. Saving deletes the version chosen here."
            </small>
        </div>
    })
}

/// Attaches the policy to users, groups and roles chosen in pickers.
#[component]
pub fn AttachPolicyPage() -> impl IntoView {
    let arn = arn_param();
    let attach = ServerAction::<AttachPolicyTo>::new();
    let pending = attach.pending();
    let name = move || arn().rsplit('/').next().unwrap_or_default().to_owned();
    view! {
        <Title text=move || format!("Attach {}", name()) />
        <Breadcrumbs trail=vec![
            ("Policies".to_owned(), Some(BASE.to_owned())),
            (name(), Some(policy_href(&arn()))),
            ("Attach".to_owned(), None),
        ] />
        <h1>{move || format!("Attach {}", name())}</h1>
        {action_error(attach.value())}
        <ActionForm action=attach attr:class="panel form">
            <input type="hidden" name="arn" value=arn />
            <h2>"Users"</h2>
            <UserPicker field="users" id="attach-users" />
            <h2>"User groups"</h2>
            <GroupPicker field="groups" id="attach-groups" />
            <h2>"Roles"</h2>
            <RolePicker field="roles" id="attach-roles" />
            <div class="form-actions">
                <a class="button" href=move || policy_tab(&arn(), "entities")>"Cancel"</a>
                <button type="submit" class="button primary" disabled=move || pending.try_get().unwrap_or(false)>
                    "Attach policy"
                </button>
            </div>
        </ActionForm>
    }
}
