//! Reading part of a `Blob` into wasm memory.

use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

/// Bytes `start..end` of `blob`.
pub(crate) async fn blob_bytes(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, JsValue> {
    let slice = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
    let buffer = JsFuture::from(slice.array_buffer()).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}
