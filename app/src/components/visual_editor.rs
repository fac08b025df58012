//! The visual policy editor: a policy as permission blocks, each one service, its actions chosen
//! from the service's actions grouped by access level, its resources and its request conditions,
//! as AWS's console's visual editor shows them. It edits the same text as the JSON editor beside
//! it: each change in either shows in the other. A document the blocks cannot say (`NotAction`,
//! `NotResource`, a `Principal`, several services or a partial wildcard in one statement) is left
//! to the JSON editor, and the visual editor says why.
//!
//! The services and their actions are the shipped AWS service catalogue, fetched as data when a
//! service is chosen (`service_list`, `service_actions`), never compiled into the wasm.

use std::collections::HashMap;

use leptos::prelude::*;
use serde_json::{Map, Value, json};

use crate::api::{ServiceChoice, ServiceDetails, service_actions, service_list};

// The visual editor's own controls name `form="visual-editor"`, a form that does not exist: they
// are never sent with the policy's form (the text is).

/// One condition of a block: `operator` `{ key: values }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConditionRow {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// A permission block: one statement of one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Block {
    pub sid: Option<String>,
    pub allow: bool,
    /// The service prefix (`s3`), empty until one is chosen.
    pub service: String,
    /// Action names without the prefix, as written; `*` for all of the service's actions.
    pub actions: Vec<String>,
    /// ARNs; `None` for all resources (`"*"`).
    pub resources: Option<Vec<String>>,
    pub conditions: Vec<ConditionRow>,
}

/// The operators the visual editor offers (any other in a document is kept as written).
pub const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateLessThan",
    "DateGreaterThan",
    "Bool",
    "IpAddress",
    "NotIpAddress",
    "Null",
];

/// Keys every service supplies, offered beside the service's own.
pub const GLOBAL_KEYS: &[&str] = &[
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalTag/${TagKey}",
    "aws:PrincipalType",
    "aws:RequestedRegion",
    "aws:SecureTransport",
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:userid",
    "aws:username",
    "aws:ViaAWSService",
];

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

fn one_or_many(values: &[String]) -> Value {
    match values {
        [one] => Value::String(one.clone()),
        _ => Value::Array(values.iter().cloned().map(Value::String).collect()),
    }
}

/// The blocks of a policy's text, or why the visual editor cannot show it.
pub fn blocks_from_text(text: &str) -> Result<Vec<Block>, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|_| "The JSON is not valid: fix it in the JSON editor.".to_owned())?;
    // The visual editor writes back only `Version` 2012-10-17 and `Statement`: anything else at the
    // top stays with the JSON editor rather than be dropped or changed.
    if let Value::Object(top) = &doc
        && let Some(other) = top.keys().find(|k| !["Version", "Statement"].contains(&k.as_str()))
    {
        return Err(format!("the visual editor does not edit `{other}`."));
    }
    match doc.get("Version").and_then(Value::as_str) {
        Some("2012-10-17") => {}
        _ => return Err("the visual editor writes only policies of Version 2012-10-17.".to_owned()),
    }
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err("The policy has no Statement list.".to_owned()),
    };
    statements
        .iter()
        .enumerate()
        .map(|(i, st)| block_of(st).map_err(|why| format!("Statement {}: {why}", i + 1)))
        .collect()
}

fn block_of(statement: &Value) -> Result<Block, String> {
    let Value::Object(fields) = statement else { return Err("not an object.".to_owned()) };
    if let Some(other) =
        fields.keys().find(|k| !["Sid", "Effect", "Action", "Resource", "Condition"].contains(&k.as_str()))
    {
        return Err(format!("the visual editor does not edit `{other}`."));
    }
    let allow = match fields.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err("its Effect is neither Allow nor Deny.".to_owned()),
    };
    let written = fields.get("Action").map(strings).unwrap_or(Some(Vec::new())).ok_or("its Action is not text.")?;
    let mut service = String::new();
    let mut actions = Vec::new();
    for entry in &written {
        let Some((prefix, name)) = entry.split_once(':') else {
            return Err(format!("`{entry}` names no service."));
        };
        if !service.is_empty() && !service.eq_ignore_ascii_case(prefix) {
            return Err("it names actions of several services.".to_owned());
        }
        if name != "*" && name.contains(['*', '?']) {
            return Err(format!("`{entry}` is a partial wildcard."));
        }
        service = prefix.to_ascii_lowercase();
        actions.push(name.to_owned());
    }
    let resources = match fields.get("Resource") {
        None => Some(Vec::new()),
        Some(value) => {
            let list = strings(value).ok_or("its Resource is not text.")?;
            if list.iter().any(|r| r == "*") { None } else { Some(list) }
        }
    };
    let mut conditions = Vec::new();
    if let Some(block) = fields.get("Condition") {
        let Value::Object(operators) = block else { return Err("its Condition is not an object.".to_owned()) };
        for (operator, keys) in operators {
            let Value::Object(keys) = keys else { return Err(format!("`{operator}` is not an object.")) };
            for (key, values) in keys {
                let values = match values {
                    Value::Bool(b) => vec![b.to_string()],
                    Value::Number(n) => vec![n.to_string()],
                    other => strings(other).ok_or(format!("the values of `{key}` are not text."))?,
                };
                conditions.push(ConditionRow { operator: operator.clone(), key: key.clone(), values });
            }
        }
    }
    let sid = fields.get("Sid").and_then(Value::as_str).map(str::to_owned);
    Ok(Block { sid, allow, service, actions, resources, conditions })
}

/// The policy text of `blocks`, indented as the JSON editor shows it.
pub fn text_from_blocks(blocks: &[Block]) -> String {
    let statements: Vec<Value> = blocks
        .iter()
        .map(|b| {
            let mut st = Map::new();
            if let Some(sid) = &b.sid {
                st.insert("Sid".into(), Value::String(sid.clone()));
            }
            st.insert("Effect".into(), Value::String(if b.allow { "Allow" } else { "Deny" }.into()));
            let actions: Vec<String> = b.actions.iter().map(|a| format!("{}:{a}", b.service)).collect();
            st.insert("Action".into(), if actions.is_empty() { json!([]) } else { one_or_many(&actions) });
            st.insert(
                "Resource".into(),
                match &b.resources {
                    None => Value::String("*".into()),
                    Some(list) if list.is_empty() => json!([]),
                    Some(list) => one_or_many(list),
                },
            );
            if !b.conditions.is_empty() {
                let mut operators = Map::new();
                for c in &b.conditions {
                    let entry = operators.entry(c.operator.clone()).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(keys) = entry {
                        keys.insert(c.key.clone(), one_or_many(&c.values));
                    }
                }
                st.insert("Condition".into(), Value::Object(operators));
            }
            Value::Object(st)
        })
        .collect();
    let doc = json!({ "Version": "2012-10-17", "Statement": statements });
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match serde::Serialize::serialize(&doc, &mut serializer) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => doc.to_string(),
    }
}

/// What the browser has fetched of the catalogue, shared by the blocks.
#[derive(Clone, Copy)]
struct Catalogue {
    services: RwSignal<Option<Result<Vec<ServiceChoice>, crate::ConsoleError>>>,
    actions: RwSignal<HashMap<String, Result<ServiceDetails, crate::ConsoleError>>>,
    /// Services asked for and not yet answered: each is fetched once.
    asked: StoredValue<std::collections::HashSet<String>>,
}

impl Catalogue {
    /// Fetches a service's actions once.
    fn want(self, prefix: &str) {
        if prefix.is_empty() || self.asked.with_value(|a| a.contains(prefix)) {
            return;
        }
        self.asked.update_value(|a| {
            a.insert(prefix.to_owned());
        });
        let prefix = prefix.to_owned();
        leptos::task::spawn_local(async move {
            let found = service_actions(prefix.clone()).await;
            if found.is_err() {
                // Asked again the next time the service is chosen.
                self.asked.update_value(|a| {
                    a.remove(&prefix);
                });
            }
            self.actions.update(|a| {
                a.insert(prefix, found);
            });
        });
    }
}

/// What a block hands the editor: a change to the list of blocks, which the editor writes back
/// to the text.
type Change = std::sync::Arc<dyn Fn(&mut Vec<Block>) + Send + Sync>;

/// What every block of the editor shares.
#[derive(Clone, Copy)]
struct Shared {
    blocks: Memo<Result<Vec<Block>, String>>,
    catalogue: Catalogue,
    /// The service each block was last given: a block whose actions are all unticked keeps it
    /// (the text cannot hold a service without actions).
    services: RwSignal<HashMap<usize, String>>,
    write: Callback<Change>,
}

impl Shared {
    /// Changes block `index` and writes the text.
    fn edit(self, index: usize, f: impl Fn(&mut Block) + Send + Sync + 'static) {
        let services = self.services;
        self.write.run(std::sync::Arc::new(move |list: &mut Vec<Block>| {
            if let Some(b) = list.get_mut(index) {
                let before = b.service.clone();
                f(b);
                let kept = if b.service.is_empty() { before } else { b.service.clone() };
                if !kept.is_empty() {
                    services.update_untracked(|s| {
                        s.insert(index, kept);
                    });
                }
            }
        }));
    }

    /// Block `index` as the text has it now.
    fn block(self, index: usize) -> Memo<Block> {
        let blocks = self.blocks;
        Memo::new(move |_| blocks.with(|b| b.as_ref().ok().and_then(|l| l.get(index).cloned())).unwrap_or_default())
    }

    /// The service of block `index`: the text's, else the one last chosen for it.
    fn service(self, block: Memo<Block>, index: usize) -> Memo<String> {
        let services = self.services;
        Memo::new(move |_| {
            let written = block.with(|b| b.service.clone());
            if written.is_empty() { services.with(|s| s.get(&index).cloned()).unwrap_or_default() } else { written }
        })
    }

    /// What the catalogue holds for `service`, changing only when that service's entry does.
    fn details(self, service: Memo<String>) -> Memo<Option<Result<ServiceDetails, crate::ConsoleError>>> {
        let actions = self.catalogue.actions;
        Memo::new(move |_| {
            let prefix = service.get();
            actions.with(|a| a.get(&prefix).cloned())
        })
    }
}

/// Moves focus to the element `id` once the view has caught up (after a removal).
fn focus_later(id: String) {
    set_timeout(
        move || {
            use leptos::wasm_bindgen::JsCast;
            if let Some(el) = document().get_element_by_id(&id) {
                let _ = el.unchecked_ref::<leptos::web_sys::HtmlElement>().focus();
            }
        },
        std::time::Duration::from_millis(0),
    );
}

/// The visual editor over `text`. Made only once the page is interactive (it needs the wasm).
/// A block is made once per place in the list; what changes after (its service, actions ticked,
/// resources, conditions) updates the elements in place, so focus and open sections stay.
#[component]
pub fn VisualEditor(text: RwSignal<String>) -> impl IntoView {
    let catalogue = Catalogue {
        services: RwSignal::new(None),
        actions: RwSignal::new(HashMap::new()),
        asked: StoredValue::new(Default::default()),
    };
    leptos::task::spawn_local(async move {
        let found = service_list().await;
        catalogue.services.set(Some(found));
    });
    let blocks = Memo::new(move |_| text.with(|t| blocks_from_text(t)));
    let write = Callback::new(move |change: Change| {
        if let Some(Ok(mut list)) = blocks.try_get_untracked() {
            change(&mut list);
            text.set(text_from_blocks(&list));
        }
    });
    let shared = Shared { blocks, catalogue, services: RwSignal::new(HashMap::new()), write };
    let broken = Memo::new(move |_| blocks.with(|b| b.as_ref().err().cloned()));
    let count = Memo::new(move |_| blocks.with(|b| b.as_ref().map(Vec::len).unwrap_or(0)));
    let add = move |_| {
        write.run(std::sync::Arc::new(|list: &mut Vec<Block>| {
            list.push(Block { allow: true, resources: None, ..Block::default() })
        }))
    };
    view! {
        <div class="visual-editor">
            {move || match broken.get() {
                Some(why) => view! {
                    <div class="alert warning" role="alert">
                        <strong>"The visual editor cannot show this policy"</strong>
                        <span>{why}</span>
                    </div>
                }.into_any(),
                None => view! {
                    <For each=move || 0..count.get() key=|i| *i children=move |index| view! { <BlockEditor index shared /> } />
                    <button id="add-block" type="button" class="button" on:click=add>"Add more permissions"</button>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn BlockEditor(index: usize, shared: Shared) -> impl IntoView {
    let block = shared.block(index);
    let service = shared.service(block, index);
    let details = shared.details(service);
    Effect::new(move |_| shared.catalogue.want(&service.get()));
    let id = move |part: &str| format!("block-{index}-{part}");
    let on_service = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        // A new service clears the block's actions (they were the other service's).
        shared.edit(index, |b| {
            b.service = String::new();
            b.actions.clear();
        });
        shared.services.update(|s| {
            s.insert(index, chosen);
        });
    };
    let remove = move |_| {
        // The blocks after it move up one place, and so do their services.
        shared.services.update(|s| {
            *s = s.drain().filter(|(i, _)| *i != index).map(|(i, v)| (if i > index { i - 1 } else { i }, v)).collect();
        });
        shared.write.run(std::sync::Arc::new(move |list: &mut Vec<Block>| {
            if index < list.len() {
                list.remove(index);
            }
        }));
        focus_later("add-block".to_owned());
    };
    let services = move || {
        match shared.catalogue.services.get() {
        None => view! { <p class="loading">"Loading services…"</p> }.into_any(),
        Some(Err(error)) => view! { <crate::pages::ErrorAlert error /> }.into_any(),
        Some(Ok(list)) => view! {
            <select id=id("service") on:change=on_service prop:value=move || service.get()>
                <option value="">"Choose a service"</option>
                {list.into_iter().map(|s| view! { <option value=s.prefix.clone()>{format!("{} ({})", s.name, s.prefix)}</option> }).collect_view()}
            </select>
        }
        .into_any(),
    }
    };
    let (labelled_by, legend) = (id("legend"), id("legend"));
    view! {
        <fieldset class="block" aria-labelledby=labelled_by>
            <legend id=legend>{format!("Permission block {}", index + 1)}</legend>
            <div class="field">
                <label for=id("service")>"Service"</label>
                {services}
            </div>
            <div class="choice-row" role="radiogroup" aria-label=format!("Effect of permission block {}", index + 1)>
                <label>
                    <input type="radio" name=id("effect") form="visual-editor" prop:checked=move || block.with(|b| b.allow)
                        on:change=move |_| shared.edit(index, |b| b.allow = true) />
                    " Allow"
                </label>
                <label>
                    <input type="radio" name=id("effect") form="visual-editor" prop:checked=move || block.with(|b| !b.allow)
                        on:change=move |_| shared.edit(index, |b| b.allow = false) />
                    " Deny"
                </label>
            </div>
            <ActionPicker index service details shared block />
            <ResourcePicker index details shared block />
            <ConditionPicker index details shared block />
            <button type="button" class="button link" on:click=remove>{format!("Remove permission block {}", index + 1)}</button>
        </fieldset>
    }
}

type Details = Memo<Option<Result<ServiceDetails, crate::ConsoleError>>>;

/// Whether block `b` has action `name` (ignoring case), or all actions.
fn has_action(b: &Block, name: &str) -> bool {
    b.actions.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(name))
}

#[component]
fn ActionPicker(
    index: usize,
    service: Memo<String>,
    details: Details,
    shared: Shared,
    block: Memo<Block>,
) -> impl IntoView {
    let all = move || block.with(|b| b.actions.iter().any(|a| a == "*"));
    let set_all = move |ev: leptos::ev::Event| {
        let (on, prefix) = (event_target_checked(&ev), service.get_untracked());
        shared.edit(index, move |b| {
            b.service = prefix.clone();
            b.actions = if on { vec!["*".to_owned()] } else { Vec::new() };
        });
    };
    let toggle = move |names: Vec<String>, on: bool| {
        let prefix = service.get_untracked();
        shared.edit(index, move |b| {
            b.service = prefix.clone();
            b.actions.retain(|a| a != "*" && !names.iter().any(|n| n.eq_ignore_ascii_case(a)));
            if on {
                b.actions.extend(names.iter().cloned());
            }
        });
    };
    let list = move || {
        let found = match details.get() {
            None if service.with(String::is_empty) => {
                return view! { <p class="help">"Choose a service to choose its actions."</p> }.into_any();
            }
            None => return view! { <p class="loading">"Loading actions…"</p> }.into_any(),
            Some(Err(error)) => return view! { <crate::pages::ErrorAlert error /> }.into_any(),
            Some(Ok(found)) => found,
        };
        let every_action = view! {
            <label class="action all">
                <input type="checkbox" prop:checked=all on:change=set_all />
                {format!(" All actions ({}:*)", found.prefix)}
            </label>
        };
        let levels = ["List", "Read", "Write", "Permissions management", "Tagging"]
            .into_iter()
            .filter_map(|level| {
                let names: Vec<String> =
                    found.actions.iter().filter(|(_, l)| l == level).map(|(n, _)| n.clone()).collect();
                if names.is_empty() {
                    return None;
                }
                let total = names.len();
                let counted = names.clone();
                let summary = move || {
                    let chosen = block.with(|b| counted.iter().filter(|n| has_action(b, n)).count());
                    format!("{level} ({chosen} of {total} chosen)")
                };
                let (every, group) = (names.clone(), names.clone());
                let boxes = names
                    .into_iter()
                    .map(|name| {
                        let (one, checked) = (name.clone(), name.clone());
                        view! {
                            <label class="action">
                                <input type="checkbox" prop:checked=move || block.with(|b| has_action(b, &checked))
                                    prop:disabled=all
                                    on:change=move |ev| toggle(vec![one.clone()], event_target_checked(&ev)) />
                                " " {name}
                            </label>
                        }
                    })
                    .collect_view();
                Some(view! {
                    <details class="level">
                        <summary>{summary}</summary>
                        <label class="action all">
                            <input type="checkbox"
                                prop:checked=move || block.with(|b| every.iter().all(|n| has_action(b, n)))
                                prop:disabled=all
                                on:change=move |ev| toggle(group.clone(), event_target_checked(&ev)) />
                            {format!(" All {level} actions")}
                        </label>
                        <div class="actions">{boxes}</div>
                    </details>
                })
            })
            .collect_view();
        view! { {every_action} {levels} }.into_any()
    };
    view! {
        <fieldset class="actions-picker">
            <legend>"Actions allowed or denied"</legend>
            {list}
        </fieldset>
    }
}

#[component]
fn ResourcePicker(index: usize, details: Details, shared: Shared, block: Memo<Block>) -> impl IntoView {
    let specific = move || block.with(|b| b.resources.is_some());
    let set_list = move |ev: leptos::ev::Event| {
        let arns: Vec<String> =
            event_target_value(&ev).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
        shared.edit(index, move |b| b.resources = Some(arns.clone()));
    };
    let formats = move || match details.get() {
        Some(Ok(found)) if !found.resource_types.is_empty() => Some(view! {
            <details class="formats">
                <summary>"ARN formats of this service"</summary>
                <ul class="mono">
                    {found.resource_types.into_iter().map(|(name, arn)| view! { <li>{format!("{name}: {arn}")}</li> }).collect_view()}
                </ul>
            </details>
        }),
        _ => None,
    };
    let field = format!("block-{index}-resources");
    let scope = format!("block-{index}-scope");
    view! {
        <fieldset class="resources-picker">
            <legend>"Resources"</legend>
            <label>
                <input type="radio" name=scope.clone() form="visual-editor" prop:checked=move || !specific()
                    on:change=move |_| shared.edit(index, |b| b.resources = None) />
                " All resources"
            </label>
            <label>
                <input type="radio" name=scope form="visual-editor" prop:checked=specific
                    on:change=move |_| shared.edit(index, |b| b.resources = Some(b.resources.clone().unwrap_or_default())) />
                " Specific resources"
            </label>
            <div class="field" hidden=move || !specific()>
                <label for=field.clone()>"Resource ARNs, one a line"</label>
                <textarea id=field class="mono" rows="3" spellcheck="false" form="visual-editor" on:change=set_list
                    prop:value=move || block.with(|b| b.resources.clone().unwrap_or_default().join("\n"))></textarea>
            </div>
            {formats}
        </fieldset>
    }
}

#[component]
fn ConditionPicker(index: usize, details: Details, shared: Shared, block: Memo<Block>) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let operator = RwSignal::new("StringEquals".to_owned());
    let values = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<&'static str>);
    let id = move |part: &str| format!("block-{index}-condition-{part}");
    let add = move || {
        let (k, op) = (key.get_untracked().trim().to_owned(), operator.get_untracked());
        let vals: Vec<String> =
            values.get_untracked().split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
        if k.is_empty() || vals.is_empty() {
            problem.set(Some("Enter a condition key and at least one value."));
            return;
        }
        problem.set(None);
        shared.edit(index, move |b| {
            b.conditions.retain(|c| !(c.operator == op && c.key == k));
            b.conditions.push(ConditionRow { operator: op.clone(), key: k.clone(), values: vals.clone() });
        });
        key.set(String::new());
        values.set(String::new());
    };
    // Enter adds the condition; it never submits the policy's form.
    let on_enter = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            ev.prevent_default();
            add();
        }
    };
    let rows = move || {
        block
            .with(|b| b.conditions.clone())
            .into_iter()
            .enumerate()
            .map(|(row, c)| {
                let text = format!("{} | {} | {}", c.key, c.operator, c.values.join(", "));
                let remove = move |_| {
                    shared.edit(index, move |b| {
                        if row < b.conditions.len() {
                            b.conditions.remove(row);
                        }
                    });
                    focus_later(format!("block-{index}-condition-key"));
                };
                view! {
                    <li>
                        <span class="mono">{text.clone()}</span>
                        " "
                        <button type="button" class="button link" on:click=remove aria-label=format!("Remove condition {text}")>"Remove"</button>
                    </li>
                }
            })
            .collect_view()
    };
    let list_id = format!("block-{index}-keys");
    let keys = move || {
        let own: Vec<String> = match details.get() {
            Some(Ok(found)) => found.condition_keys,
            _ => Vec::new(),
        };
        own.into_iter()
            .chain(GLOBAL_KEYS.iter().map(|k| (*k).to_owned()))
            .map(|k| view! { <option value=k /> })
            .collect_view()
    };
    let problem_id = id("problem");
    view! {
        <fieldset class="conditions-picker">
            <legend>"Request conditions " <span class="optional">"- optional"</span></legend>
            <ul class="conditions">{rows}</ul>
            <div class="condition-row">
                <div class="field">
                    <label for=id("key")>"Condition key"</label>
                    <input id=id("key") type="text" list=list_id.clone() autocomplete="off" form="visual-editor"
                        aria-describedby=problem_id.clone() prop:value=key on:keydown=on_enter
                        on:input=move |ev| key.set(event_target_value(&ev)) />
                    <datalist id=list_id>{keys}</datalist>
                </div>
                <div class="field">
                    <label for=id("operator")>"Operator"</label>
                    <select id=id("operator") form="visual-editor" on:change=move |ev| operator.set(event_target_value(&ev))>
                        {OPERATORS.iter().map(|op| view! { <option value=*op selected=*op == "StringEquals">{*op}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for=id("values")>"Values, separated by commas"</label>
                    <input id=id("values") type="text" autocomplete="off" form="visual-editor"
                        aria-describedby=problem_id.clone() prop:value=values on:keydown=on_enter
                        on:input=move |ev| values.set(event_target_value(&ev)) />
                </div>
                <button type="button" class="button" on:click=move |_| add()>"Add condition"</button>
            </div>
            <p id=problem_id class="field-error" role="alert">{move || problem.get()}</p>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_goes_to_blocks_and_back() {
        let text = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
             "Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"s3:prefix":["a","b"]}}},
            {"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;
        let blocks = blocks_from_text(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(blocks.len(), 2);
        let read = blocks.first().unwrap_or_else(|| panic!("a block"));
        assert_eq!((read.service.as_str(), read.allow, read.sid.as_deref()), ("s3", true, Some("Read")));
        assert_eq!(read.actions, ["GetObject", "ListBucket"]);
        assert_eq!(read.conditions.len(), 2);
        let again = text_from_blocks(&blocks);
        assert_eq!(blocks_from_text(&again), Ok(blocks.clone()), "{again}");
        let parsed: Value = serde_json::from_str(&again).unwrap_or_default();
        assert_eq!(parsed, serde_json::from_str::<Value>(text).unwrap_or_default(), "the same document");
        assert!(again.contains("\n    \"Statement\""), "indented as the JSON editor shows it");
    }

    #[test]
    fn what_blocks_cannot_say_is_left_to_the_json_editor() {
        let cases = [
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}"#,
                "NotAction",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","iam:GetUser"],"Resource":"*"}]}"#,
                "several services",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#,
                "partial wildcard",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                "names no service",
            ),
            (r#"{"Version":"2008-10-17","Statement":[]}"#, "Version 2012-10-17"),
            (r#"{"Version":"2012-10-17","Id":"x","Statement":[]}"#, "`Id`"),
            ("{", "not valid"),
        ];
        for (text, why) in cases {
            let found = blocks_from_text(text);
            assert!(matches!(&found, Err(e) if e.contains(why)), "{text}: {found:?}");
        }
        // The new-policy template is one empty block.
        let template = blocks_from_text(crate::components::policy_editor::NEW_POLICY).unwrap_or_default();
        assert_eq!(template, [Block { allow: true, resources: Some(Vec::new()), ..Block::default() }]);
    }
}
