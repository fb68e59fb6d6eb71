//! Errors across the JS boundary: reading those browser APIs throw, and throwing ours with a
//! `code`.

use wasm_bindgen::{JsCast, JsValue};

use crate::error::PeerError;

/// The message of a JS error (or its string form).
pub(crate) fn js_message(value: &JsValue) -> String {
    match value.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.message()),
        None => format!("{value:?}"),
    }
}

/// The `name` of a JS error or `DOMException` (`"QuotaExceededError"`, ...), if it has one.
pub(crate) fn js_error_name(value: &JsValue) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str("name"))
        .ok()?
        .as_string()
}

/// A [`PeerError`] as a JS `Error` whose `code` property is its [`ErrorCode`]'s string.
impl From<PeerError> for JsValue {
    fn from(error: PeerError) -> Self {
        let js = js_sys::Error::new(&error.message);
        let _ = js_sys::Reflect::set(
            &js,
            &JsValue::from_str("code"),
            &JsValue::from_str(error.code.as_str()),
        );
        js.into()
    }
}
