//! Console pieces written once and used by every page that needs them.

pub mod copy_button;
pub mod list;
pub mod policy_editor;
pub mod visual_editor;

use leptos::prelude::*;

/// An `input` handler that copies a field's text into `into` once typing pauses for `wait`, not
/// on every keystroke (the work behind `into` then runs once per pause).
pub fn settle_input(into: RwSignal<String>, wait: std::time::Duration) -> impl Fn(leptos::ev::Event) + Copy {
    let keystrokes = StoredValue::new(0_u64);
    move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let Some(this) = keystrokes.try_get_value().map(|n| n.wrapping_add(1)) else { return };
        keystrokes.try_set_value(this);
        let settle = move || {
            if keystrokes.try_get_value() == Some(this) {
                into.try_set(value);
            }
        };
        set_timeout(settle, wait);
    }
}
