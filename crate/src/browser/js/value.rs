//! Rust values handed to the page as plain JS objects (not `Map`s), as JSON would give them.

use serde::Serialize;
use wasm_bindgen::JsValue;

/// `value` as a plain JS object, array or primitive.
pub(crate) fn to_plain_js(value: &impl Serialize) -> Result<JsValue, serde_wasm_bindgen::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}
