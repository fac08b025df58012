//! Console pieces written once and used by every page that needs them.

pub mod copy_button;
pub mod download;
pub mod list;
pub mod policy_editor;
pub mod visual_editor;

use leptos::prelude::*;

/// An `input` handler that copies a field's text into `into` once typing pauses for `wait`, not
/// on every keystroke (the work behind `into` then runs once per pause). A pause whose text the
/// field no longer holds (something else wrote the field meanwhile, such as the visual policy
/// editor) writes nothing.
pub fn settle_input(into: RwSignal<String>, wait: std::time::Duration) -> impl Fn(leptos::ev::Event) + Copy {
    let keystrokes = StoredValue::new(0_u64);
    move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let target = ev.target();
        let Some(this) = keystrokes.try_get_value().map(|n| n.wrapping_add(1)) else { return };
        keystrokes.try_set_value(this);
        let settle = move || {
            let still = target.as_ref().is_none_or(|t| field_value(t) == value);
            if keystrokes.try_get_value() == Some(this) && still {
                into.try_set(value);
            }
        };
        set_timeout(settle, wait);
    }
}

/// The text of an `input` or `textarea` (both have `value`).
fn field_value(target: &leptos::web_sys::EventTarget) -> String {
    use leptos::wasm_bindgen::JsCast;
    target.unchecked_ref::<leptos::web_sys::HtmlTextAreaElement>().value()
}
