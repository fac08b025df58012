//! The browser's entry point: hydrates the server-rendered console.
// The console's view types are deep; the release wasm build computes their layouts here too.
#![recursion_limit = "512"]

use leptos::prelude::{document, window};

/// Room for the wasm splitter (wasm_split_cli_support 0.2.3) to repack the read-only data segment by
/// module. Its repacking adds alignment padding; when the segment comes out longer than the
/// linker's, it gives up and puts every section's data in the main module (an "Overlong segment"
/// warning cargo-leptos does not show), which added about 45 kB of brotli to every first page,
/// depending on small changes anywhere. `#[used]` keeps these bytes in the linked segment while
/// nothing refers to them, so the splitter puts them in no module: they are the room it needs.
#[used]
static SPLIT_ROOM: [u8; 4096] = [0x5a; 4096];

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // A section's chunk that cannot be loaded on the way to another page: most likely a new
        // build replaced the files while this page was open. A panic ends the wasm (panic = abort),
        // so the page would stop answering; loading it again brings the new build. Only once the
        // page was hydrated (a chunk missing at the first load would reload it forever, and the
        // server-rendered page still works without the wasm), and once a minute at most (a chunk
        // that keeps failing must not turn every click into a reload).
        let lost_chunk = info.payload_as_str().is_some_and(|m| m.starts_with("load callback should succeed"));
        let hydrated = document().body().is_some_and(|body| body.has_attribute("data-hydrated"));
        if lost_chunk && hydrated && !reloaded_lately() {
            window().location().reload().ok();
        }
    }));
    // `hydrate_lazy`: the page's section chunk (app/src/sections.rs) loads before it hydrates.
    leptos::mount::hydrate_lazy(app::App);
}

/// Whether this tab reloaded for a lost chunk in the last minute (kept in the session's storage,
/// which outlives the reload); notes a reload now if not.
fn reloaded_lately() -> bool {
    const KEY: &str = "portcullis-chunk-reload";
    let Ok(Some(storage)) = window().session_storage() else { return true };
    // Whole seconds, as an integer: formatting and parsing floats would add kilobytes to the wasm.
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let last = storage.get_item(KEY).ok().flatten().and_then(|t| t.parse::<u64>().ok());
    // (A time ahead of now is a clock set back: not a recent reload.)
    if last.is_some_and(|t| t <= now && now - t < 60) {
        return true;
    }
    // Unrecorded (storage full or refused), a reload could repeat on every click: none.
    storage.set_item(KEY, &now.to_string()).is_err()
}
