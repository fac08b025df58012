//! A "Copy" button beside a value (a sign-in URL, say), as AWS's console puts one: the browser's
//! clipboard, and a short status that says whether it worked.

use leptos::prelude::*;

/// Copies `text`; `label` names what is copied, for screen readers ("Copy sign-in URL").
#[component]
pub fn CopyButton(text: String, label: &'static str) -> impl IntoView {
    let status = RwSignal::new(None::<&'static str>);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text = text.clone();
            leptos::task::spawn_local(async move {
                let said = if copy(&text).await { "Copied" } else { "Could not copy: select the text and copy it" };
                status.try_set(Some(said));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&text, status);
    };
    view! {
        <button type="button" class="button small" aria-label=label on:click=on_click>"Copy"</button>
        <span class="copy-status" role="status">{move || status.try_get().flatten()}</span>
    }
}

/// `navigator.clipboard.writeText(text)`: whether the browser took it (it needs a secure context:
/// https, or localhost).
#[cfg(feature = "hydrate")]
async fn copy(text: &str) -> bool {
    use leptos::wasm_bindgen::{JsCast as _, JsValue};
    let Some(window) = leptos::web_sys::window() else { return false };
    let window: JsValue = window.into();
    let write = || -> Result<js_sys::Promise, JsValue> {
        let navigator = js_sys::Reflect::get(&window, &"navigator".into())?;
        let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())?;
        let write_text: js_sys::Function = js_sys::Reflect::get(&clipboard, &"writeText".into())?.dyn_into()?;
        write_text.call1(&clipboard, &text.into())?.dyn_into()
    };
    match write() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.is_ok(),
        Err(_) => false,
    }
}
