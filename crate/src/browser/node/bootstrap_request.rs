//! Fetching and parsing the server's `GET /bootstrap`.

use crate::browser::js::error::js_message;
use crate::net::bootstrap::Bootstrap;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// Fetches `<server>/bootstrap`; the error says what failed, for a person.
pub(crate) async fn request_bootstrap(server: &str) -> Result<Bootstrap, String> {
    let url = format!("{}/bootstrap", server.trim_end_matches('/'));
    let unreachable = |e: wasm_bindgen::JsValue| {
        format!("server unreachable: cannot fetch {url}: {}", js_message(&e))
    };
    let window = web_sys::window().ok_or("no window: Peer.join runs in a page")?;
    let response: Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(unreachable)?
        .dyn_into()
        .map_err(unreachable)?;
    if !response.ok() {
        return Err(format!("server answered {} for {url}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(unreachable)?)
        .await
        .map_err(unreachable)?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("bad bootstrap document from {url}: {e}"))
}
