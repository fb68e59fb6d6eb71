//! Reading errors thrown by browser APIs.

use wasm_bindgen::{JsCast, JsValue};

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
