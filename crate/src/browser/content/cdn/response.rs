//! The `Response` `peer.fetch` hands back for a resource it obtained: the whole resource, or
//! the one range a `Range` header asked for.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{Blob, Headers, Response, ResponseInit};

use crate::cdn::range_request::{answer_range, content_range, RangeAnswer};

/// Header saying where a resource came from: `peers`, `origin`, `store` or a mix (`peers+origin`).
pub(crate) const SOURCE_HEADER: &str = "x-peerfetch-source";

/// A response with `blob` (the whole resource, `content_type`) or the part `range` asks for.
pub(crate) fn respond(
    blob: &Blob,
    content_type: &str,
    range: Option<&str>,
    source: &str,
) -> Result<Response, JsValue> {
    let len = blob.size() as u64;
    let headers = Headers::new()?;
    headers.set("content-type", content_type)?;
    headers.set("accept-ranges", "bytes")?;
    headers.set(SOURCE_HEADER, source)?;
    let (status, body) = match answer_range(range, len) {
        RangeAnswer::Whole => (200, blob.clone()),
        RangeAnswer::Partial(part) => {
            headers.set("content-range", &content_range(&part, len))?;
            let slice = blob.slice_with_f64_and_f64_and_content_type(
                part.start as f64,
                part.end as f64,
                content_type,
            )?;
            (206, slice)
        }
        RangeAnswer::Unsatisfiable => {
            headers.set("content-range", &format!("bytes */{len}"))?;
            (416, Blob::new_with_blob_sequence(&Array::new())?)
        }
    };
    headers.set("content-length", &body.size().to_string())?;
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Response::new_with_opt_blob_and_init(Some(&body), &init)
}
