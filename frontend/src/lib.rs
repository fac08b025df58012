//! The browser's entry point: hydrates the server-rendered console.
// The console's view types are deep; the release wasm build computes their layouts here too.
#![recursion_limit = "512"]

use leptos::prelude::{document, window};

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // A section's chunk that cannot be loaded on the way to another page: most likely a new
        // build replaced the files while this page was open. A panic ends the wasm (panic = abort),
        // so the page would stop answering; loading it again brings the new build. Only once the
        // page was hydrated: a chunk missing at the first load would reload it forever, and the
        // server-rendered page still works without the wasm.
        let lost_chunk = info.payload_as_str().is_some_and(|m| m.starts_with("load callback should succeed"));
        let hydrated = document().body().is_some_and(|body| body.has_attribute("data-hydrated"));
        if lost_chunk && hydrated {
            window().location().reload().ok();
        }
    }));
    // `hydrate_lazy`: the page's section chunk (app/src/sections.rs) loads before it hydrates.
    leptos::mount::hydrate_lazy(app::App);
}
