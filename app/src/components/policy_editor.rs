//! The JSON policy editor: a text area whose document is checked as one types (once typing pauses),
//! in the browser, by `iam-policy`, the crate the server checks it with. The messages are AWS's
//! and the server's own, each with its place in the document: what the editor refuses, the server
//! refuses. (The server also counts what other policies take of a shared quota at the moment it
//! writes; the editor knows the room there was when the page loaded.)

use iam_policy::{PolicyKind, parse_policy, validate, validate::check_size};
use leptos::prelude::*;

/// A new identity policy, as AWS's console starts one.
pub const NEW_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [],
            "Resource": []
        }
    ]
}"#;

/// What is wrong with `text` as a policy of `kind` of at most `max_chars` characters (whitespace not
/// counted; past them, `too_large` is the whole answer, as the server words it), in the document's
/// order; empty when the server's checks of the document alone pass.
pub fn problems(text: &str, kind: PolicyKind, max_chars: usize, too_large: &str) -> Vec<String> {
    if check_size(text, max_chars).is_err() {
        return vec![too_large.to_owned()];
    }
    match parse_policy(text) {
        Err(e) => vec![e.to_string()],
        Ok(doc) => validate(&doc, kind).into_iter().map(|e| e.to_string()).collect(),
    }
}

/// A labelled JSON editor posting its text as the form field `name`; `id` must be unique on the
/// page. `max_chars` is the room the document has (for an inline policy: the entity's quota less
/// its other policies), `too_large` the server's words for a document past it.
#[component]
pub fn PolicyEditor(
    id: String,
    name: &'static str,
    label: String,
    initial: String,
    kind: PolicyKind,
    max_chars: usize,
    too_large: String,
    /// Where the text is kept once typing pauses, for a page that shows more of it (the policy
    /// summary); it starts as `initial`. The editor keeps its own when none is given.
    #[prop(optional)]
    text: Option<RwSignal<String>>,
) -> impl IntoView {
    let text = match text {
        Some(text) => {
            text.set(initial.clone());
            text
        }
        None => RwSignal::new(initial.clone()),
    };
    // Checked once typing pauses (250 ms): the list below is a live region, read out on change.
    let on_input = super::settle_input(text, std::time::Duration::from_millis(250));
    // The box follows the text when something else writes it (the visual editor). Not a bound
    // property: hydration would set it, and lose what was typed before the wasm arrived, which
    // the first run takes up instead.
    let area = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |first: Option<()>| {
        let current = text.get();
        if let Some(el) = area.get_untracked() {
            if first.is_none() {
                let typed = el.value();
                if typed != current {
                    text.set(typed);
                }
            } else if el.value() != current {
                el.set_value(&current);
            }
        }
    });
    let found = Memo::new(move |_| text.with(|t| problems(t, kind, max_chars, &too_large)));
    let invalid = move || found.try_with(|f| !f.is_empty()).unwrap_or(false).to_string();
    let status_id = format!("{id}-problems");
    view! {
        <div class="field policy-editor">
            <label for=id.clone()>{label}</label>
            <textarea id=id name=name class="mono" rows="16" spellcheck="false" autocomplete="off"
                autocapitalize="off" aria-describedby=status_id.clone() aria-invalid=invalid on:input=on_input node_ref=area>
                {initial}
            </textarea>
            <div id=status_id class="policy-problems" role="status" aria-live="polite">
                {move || {
                    let list = found.try_get().unwrap_or_default();
                    if list.is_empty() {
                        view! { <p class="ok">"No errors in the policy."</p> }.into_any()
                    } else {
                        view! {
                            <p class="count">{format!("{} error{} in the policy:", list.len(), if list.len() == 1 { "" } else { "s" })}</p>
                            <ul>{list.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                        }
                        .into_any()
                    }
                }}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_finds_what_the_server_would_refuse() {
        assert_eq!(
            problems(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
                PolicyKind::Identity,
                2048,
                "too large"
            ),
            Vec::<String>::new()
        );
        let bad = problems(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers"}]}"#,
            PolicyKind::Identity,
            2048,
            "too large",
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(problems("{", PolicyKind::Identity, 2048, "too large")[0].contains("not valid JSON"));
        let long = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:{}","Resource":"*"}}]}}"#,
            "A".repeat(2100)
        );
        assert_eq!(
            problems(&long, PolicyKind::Identity, 2048, "too large"),
            ["too large"],
            "as the server says it, once"
        );
        assert!(
            !problems(NEW_POLICY, PolicyKind::Identity, 2048, "too large").is_empty(),
            "the template is to be filled in"
        );
    }
}
