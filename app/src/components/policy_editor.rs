//! The JSON policy editor: a text area whose document is checked on every keystroke, in the
//! browser, by `iam-policy`, the crate the server checks it with. The messages are AWS's and the
//! server's own, each with its place in the document, so what the editor accepts the server does.

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
/// counted), in the document's order; empty when the server will accept it.
pub fn problems(text: &str, kind: PolicyKind, max_chars: usize) -> Vec<String> {
    if let Err(e) = check_size(text, max_chars) {
        return vec![e.to_string()];
    }
    match parse_policy(text) {
        Err(e) => vec![e.to_string()],
        Ok(doc) => validate(&doc, kind).into_iter().map(|e| e.to_string()).collect(),
    }
}

/// A labelled JSON editor posting its text as the form field `name`; `id` must be unique on the page.
#[component]
pub fn PolicyEditor(
    id: String,
    name: &'static str,
    label: String,
    initial: String,
    kind: PolicyKind,
    max_chars: usize,
) -> impl IntoView {
    let text = RwSignal::new(initial.clone());
    let found = Memo::new(move |_| text.with(|t| problems(t, kind, max_chars)));
    let status_id = format!("{id}-problems");
    view! {
        <div class="field policy-editor">
            <label for=id.clone()>{label}</label>
            <textarea id=id name=name class="mono" rows="16" spellcheck="false" autocomplete="off"
                autocapitalize="off" aria-describedby=status_id.clone()
                on:input=move |ev| { text.try_set(event_target_value(&ev)); }>
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
                2048
            ),
            Vec::<String>::new()
        );
        let bad = problems(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers"}]}"#,
            PolicyKind::Identity,
            2048,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(problems("{", PolicyKind::Identity, 2048)[0].contains("not valid JSON"));
        let long = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:{}","Resource":"*"}}]}}"#,
            "A".repeat(2100)
        );
        assert_eq!(problems(&long, PolicyKind::Identity, 2048).len(), 1, "too large, said once");
        assert!(!problems(NEW_POLICY, PolicyKind::Identity, 2048).is_empty(), "the template is to be filled in");
    }
}
