//! Pickers for forms that name several users, groups, roles or policies: a checkbox per choice, and, once the
//! page is interactive, a box that finds others by name while keeping what is already chosen.
//! Without the wasm the form still works with the first choices the server rendered.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::{
    GroupChoice, ManagedPolicyView, RoleChoice, UserChoice, group_choices, policy_choices, role_choices, user_choices,
};
use crate::components::settle_input;
use crate::pages::ErrorAlert;

/// One choice: what is sent, what is shown, and a second line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Choice {
    value: String,
    label: String,
    detail: String,
}

impl From<UserChoice> for Choice {
    fn from(u: UserChoice) -> Choice {
        Choice { value: u.user_name.clone(), label: u.user_name, detail: format!("Created {}", u.created) }
    }
}

impl From<GroupChoice> for Choice {
    fn from(g: GroupChoice) -> Choice {
        Choice { value: g.group_name.clone(), label: g.group_name, detail: format!("Created {}", g.created) }
    }
}

impl From<RoleChoice> for Choice {
    fn from(r: RoleChoice) -> Choice {
        Choice { value: r.role_name.clone(), label: r.role_name, detail: format!("Created {}", r.created) }
    }
}

impl From<ManagedPolicyView> for Choice {
    fn from(p: ManagedPolicyView) -> Choice {
        let kind = if p.aws_managed { "AWS managed" } else { "Customer managed" };
        let detail = if p.description.is_empty() { kind.to_owned() } else { format!("{kind}: {}", p.description) };
        Choice { value: p.policy_arn, label: p.policy_name, detail }
    }
}

/// Users to choose, sent as `field[i]` (user names); with `single`, one user sent as `field`.
#[component]
pub fn UserPicker(
    field: &'static str,
    id: &'static str,
    #[prop(optional)] single: bool,
    /// Kept up to date with the names chosen.
    #[prop(optional)]
    selected: Option<RwSignal<Vec<String>>>,
    /// The id of what describes the find box (a refusal, say).
    #[prop(optional)]
    described_by: Option<&'static str>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let choices = choices_of(filter, user_choices);
    view! {
        <Picker field id filter choices find_label="Find users by name" none="No user matches." single selected
            optional=true described_by />
    }
}

/// Groups to choose, sent as `field[i]` (group names).
#[component]
pub fn GroupPicker(
    field: &'static str,
    id: &'static str,
    /// Kept up to date with the names chosen.
    #[prop(optional)]
    selected: Option<RwSignal<Vec<String>>>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let choices = choices_of(filter, group_choices);
    view! { <Picker field id filter choices find_label="Find groups by name" none="No group matches." selected /> }
}

/// Roles to choose, sent as `field[i]` (role names).
#[component]
pub fn RolePicker(field: &'static str, id: &'static str) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let choices = choices_of(filter, role_choices);
    view! { <Picker field id filter choices find_label="Find roles by name" none="No role matches." /> }
}

/// Managed policies to choose, sent as `field[i]` (policy ARNs).
#[component]
pub fn PolicyPicker(
    field: &'static str,
    id: &'static str,
    /// Kept up to date with the names chosen.
    #[prop(optional)]
    selected: Option<RwSignal<Vec<String>>>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let choices = choices_of(filter, policy_choices);
    view! { <Picker field id filter choices find_label="Find policies by name" none="No policy matches." selected /> }
}

/// One managed policy to use as a permissions boundary, sent as `field` (a policy ARN). With
/// `none_label`, a first choice of that label sends an empty value (no boundary).
#[component]
pub fn BoundaryPicker(
    field: &'static str,
    id: &'static str,
    #[prop(optional)] none_label: Option<&'static str>,
    /// Kept up to date with the name chosen.
    #[prop(optional)]
    selected: Option<RwSignal<Vec<String>>>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let choices = choices_of(filter, policy_choices);
    view! {
        <Picker field id filter choices find_label="Find boundary policies by name" none="No policy matches."
            single=true none_label=none_label selected />
    }
}

/// The choices `fetch` finds for the filter's text, refetched as it changes.
fn choices_of<T, F>(
    filter: RwSignal<String>,
    fetch: fn(String) -> F,
) -> Resource<Result<Vec<Choice>, crate::ConsoleError>>
where
    T: Into<Choice>,
    F: std::future::Future<Output = Result<Vec<T>, crate::ConsoleError>> + Send + 'static,
{
    Resource::new(
        move || filter.get(),
        move |f| {
            let found = fetch(f);
            async move { found.await.map(|list| list.into_iter().map(Into::into).collect()) }
        },
    )
}

#[component]
fn Picker(
    field: &'static str,
    id: &'static str,
    filter: RwSignal<String>,
    choices: Resource<Result<Vec<Choice>, crate::ConsoleError>>,
    find_label: &'static str,
    none: &'static str,
    /// One choice (radio buttons) instead of several.
    #[prop(optional)]
    single: bool,
    /// With `single`, a first choice of this label that sends an empty value (none).
    #[prop(default = None)]
    none_label: Option<&'static str>,
    /// With `single`, the choice may be left empty (the form decides whether it is needed).
    #[prop(optional)]
    optional: bool,
    /// Kept up to date with the labels chosen (for a review of the form).
    #[prop(default = None)]
    selected: Option<RwSignal<Vec<String>>>,
    /// The id of what describes the find box.
    #[prop(default = None)]
    described_by: Option<&'static str>,
) -> impl IntoView {
    // What is chosen stays listed (and sent) while the box finds others.
    let chosen = RwSignal::new(Vec::<Choice>::new());
    if let Some(out) = selected {
        Effect::new(move |_| out.set(chosen.with(|list| list.iter().map(|c| c.label.clone()).collect())));
    }
    // The box needs the wasm: hidden until the page is interactive, so that without it Enter
    // never submits the form half-filled.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let filter_id = format!("{id}-find");
    view! {
        <div class="picker" id=id>
            <div class="field" hidden=move || !interactive.get()>
                <label for=filter_id.clone()>{find_label}</label>
                <input
                    id=filter_id
                    type="search"
                    autocomplete="off"
                    aria-describedby=described_by
                    on:input=settle_input(filter, Duration::from_millis(250))
                    on:keydown=|ev| if ev.key() == "Enter" { ev.prevent_default() }
                />
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let found = match choices.await {
                        Ok(found) => found,
                        Err(error) => return view! { <ErrorAlert error /> }.into_any(),
                    };
                    let kept = chosen.get_untracked();
                    let rows: Vec<Choice> = kept
                        .iter()
                        .cloned()
                        .chain(found.into_iter().filter(|c| !kept.iter().any(|k| k.value == c.value)))
                        .collect();
                    if rows.is_empty() && none_label.is_none() {
                        return view! { <p class="empty">{none}</p> }.into_any();
                    }
                    let nothing = none_label.filter(|_| single).map(|label| {
                        view! {
                            <li>
                                <label>
                                    <input type="radio" name=field value="" checked=kept.is_empty()
                                        on:change=move |_| chosen.set(Vec::new()) />
                                    " " {label}
                                </label>
                            </li>
                        }
                    });
                    let empty = rows.is_empty().then(|| view! { <li class="empty">{none}</li> });
                    view! {
                        <ul class="choices">
                            {nothing}
                            {empty}
                            {rows
                                .into_iter()
                                .enumerate()
                                .map(|(i, choice)| {
                                    let is_chosen = kept.iter().any(|k| k.value == choice.value);
                                    let toggled = choice.clone();
                                    view! {
                                        <li>
                                            <label>
                                                <input
                                                    type=if single { "radio" } else { "checkbox" }
                                                    name=if single { field.to_owned() } else { format!("{field}[{i}]") }
                                                    required=single && none_label.is_none() && !optional
                                                    value=choice.value.clone()
                                                    checked=is_chosen
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        chosen.update(|list| {
                                                            list.retain(|c| !single && c.value != toggled.value);
                                                            if on {
                                                                list.push(toggled.clone());
                                                            }
                                                        });
                                                    }
                                                />
                                                " " {choice.label.clone()}
                                            </label>
                                            <small>{choice.detail.clone()}</small>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                })}
            </Transition>
        </div>
    }
}
