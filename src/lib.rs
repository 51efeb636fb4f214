//! opsdesk's WebAssembly entry point. cargo-leptos builds this crate for
//! `wasm32-unknown-unknown`; the browser calls `hydrate()` to attach the
//! interactive client to the page the server rendered.

/// Attaches the Leptos client to the server-rendered document, then marks
/// `<body data-hydrated="true">` so tests (and people debugging) can tell
/// when the page became interactive.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(opsdesk_app::App);
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
