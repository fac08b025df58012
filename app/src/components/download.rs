//! Files made in the browser, from text it already holds.

use leptos::prelude::*;

/// The "Download .csv file" button of a secret shown once. A file the browser could not make is
/// said beside the button (before, only the browser's console heard of it, and the person believed
/// the secret saved).
#[component]
pub fn DownloadCsvButton(file: String, csv: String) -> impl IntoView {
    let failed = RwSignal::new(None::<String>);
    view! {
        <button type="button" class="button" on:click=move |_| failed.set(download_csv(&file, &csv).err())>
            "Download .csv file"
        </button>
        {move || failed.get().map(|e| view! {
            <div class="alert error" role="alert">
                <span>{format!("The .csv file could not be made ({e}). Copy the values shown instead: they are not shown again.")}</span>
            </div>
        })}
    }
}

/// Saves `text` as the file `name`: made in the browser from a `Blob`, so the secret it holds (a
/// password, a secret access key) is in no URL (a `data:` link holds it in its address, shown on
/// hover and kept in history).
fn download_csv(name: &str, text: &str) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{JsCast as _, JsValue};
        let save = || -> Result<(), JsValue> {
            let parts = js_sys::Array::of1(&JsValue::from_str(text));
            let options = js_sys::Object::new();
            js_sys::Reflect::set(&options, &"type".into(), &"text/csv;charset=utf-8".into())?;
            let global = js_sys::global();
            let blob_class: js_sys::Function = js_sys::Reflect::get(&global, &"Blob".into())?.dyn_into()?;
            let blob = js_sys::Reflect::construct(&blob_class, &js_sys::Array::of2(&parts, &options))?;
            let url_class = js_sys::Reflect::get(&global, &"URL".into())?;
            let create: js_sys::Function = js_sys::Reflect::get(&url_class, &"createObjectURL".into())?.dyn_into()?;
            let revoke: js_sys::Function = js_sys::Reflect::get(&url_class, &"revokeObjectURL".into())?.dyn_into()?;
            let url = create.call1(&url_class, &blob)?;
            let link: leptos::web_sys::HtmlElement = leptos::prelude::document().create_element("a")?.dyn_into()?;
            link.set_attribute("href", &url.as_string().unwrap_or_default())?;
            link.set_attribute("download", name)?;
            // In the document while clicked (some browsers ignore a detached link's click), and the
            // file's URL kept a while: a browser may still be reading it when click() returns, and
            // the secret in it is shown only once.
            let body = leptos::prelude::document().body().ok_or_else(|| JsValue::from_str("no body"))?;
            body.append_child(&link)?;
            link.click();
            link.remove();
            leptos::prelude::set_timeout(
                move || {
                    let _ = revoke.call1(&url_class, &url);
                },
                std::time::Duration::from_secs(60),
            );
            Ok(())
        };
        save().map_err(|e| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .or_else(|| e.as_string())
                .unwrap_or_else(|| "the browser refused".to_owned())
        })
    }
    // Without the wasm (server rendering) there is no click to answer.
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (name, text);
        Ok(())
    }
}
