//! The browser's entry point: hydrates the server-rendered console.
// The console's view types are deep; the release wasm build computes their layouts here too.
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`: the page's section chunk (app/src/sections.rs) loads before it hydrates.
    leptos::mount::hydrate_lazy(app::App);
}
