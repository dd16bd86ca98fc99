//! The public site's wasm entry point: hydrates a server-rendered public
//! page with `PublicApp`, which routes only the public pages, so none of
//! the dashboard's code is linked into this bundle.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(payquest_app::PublicApp);
}
