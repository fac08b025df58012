//! The new-password fields every password form shares: the password, its confirmation, the
//! account's rules as a checklist, and a strength meter that follows the typing (the server rates
//! the password with zxcvbn: its dictionaries would double the console's wasm).

use leptos::prelude::*;

use crate::api::check_password;

/// "New password" and "Confirm new password", with the rules still unmet and a strength meter.
/// Posts `new_password` and `confirm_password`.
#[component]
pub fn NewPasswordFields(
    /// The account's rules, in plain words, shown before anything is typed.
    #[prop(into)]
    requirements: Vec<String>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    // The server rates what was typed once typing pauses (150 ms), not on every keystroke.
    let on_input = crate::components::settle_input(typed, std::time::Duration::from_millis(150));
    // The rating of what was typed last; only the browser asks (effects never run on the server).
    // Not a `LocalResource`: read under a suspense, one makes the server give up on the whole
    // suspended view (it sends "Loading…" and leaves the form to the wasm).
    let check = RwSignal::new(None);
    Effect::new(move |_| {
        let password = typed.get();
        if password.is_empty() {
            check.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            let rated = check_password(password.clone()).await.ok();
            // An answer to an older keystroke arriving late is dropped.
            if typed.try_get_untracked().as_ref() == Some(&password) {
                check.try_set(rated);
            }
        });
    });
    // `try_get`: read inside suspended views, which server-side rendering may resolve late.
    let rated = move || check.try_get().flatten();
    view! {
        <div class="field">
            <label for="new_password">"New password"</label>
            <input id="new_password" name="new_password" type="password" autocomplete="new-password" required
                maxlength="128" aria-describedby="password-rules password-strength"
                on:input=on_input />
        </div>
        <div id="password-strength" class="strength" role="status" aria-live="polite">
            {move || rated().map(|c| view! {
                <meter min="0" max="4" low="2" high="3" optimum="4" value=c.score.to_string()
                    aria-label="Password strength"></meter>
                <span>"Password strength: " {c.label.clone()}</span>
                {c.warning.clone().map(|w| view! { <span class="help">{w}</span> })}
            })}
        </div>
        <div id="password-rules" class="rules">
            <p class="help">"A new password needs:"</p>
            <ul>
                {move || {
                    let unmet = rated().map(|c| c.unmet);
                    requirements
                        .iter()
                        .map(|rule| {
                            let met = unmet.as_ref().is_some_and(|u| !u.iter().any(|m| m.starts_with(rule.as_str())));
                            view! { <li class:met=met>{if met { "✓ " } else { "• " }}{rule.clone()}</li> }
                        })
                        .collect_view()
                }}
            </ul>
        </div>
        <div class="field">
            <label for="confirm_password">"Confirm new password"</label>
            <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required maxlength="128" />
        </div>
    }
}
