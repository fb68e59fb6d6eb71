//! The `Response` `peer.fetch` hands back for a resource it obtained: the whole resource, or
//! the one range a `Range` header asked for.

use std::ops::Range;

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
    match answer_range(range, len) {
        RangeAnswer::Whole => with_headers(200, blob, content_type, source, None),
        RangeAnswer::Partial(part) => {
            let slice = blob.slice_with_f64_and_f64_and_content_type(
                part.start as f64,
                part.end as f64,
                content_type,
            )?;
            respond_partial(&slice, content_type, &part, len, source)
        }
        RangeAnswer::Unsatisfiable => {
            let empty = Blob::new_with_blob_sequence(&Array::new())?;
            with_headers(
                416,
                &empty,
                content_type,
                source,
                Some(format!("bytes */{len}")),
            )
        }
    }
}

/// A `206` whose `body` holds bytes `part` of a `len`-byte resource.
pub(crate) fn respond_partial(
    body: &Blob,
    content_type: &str,
    part: &Range<u64>,
    len: u64,
    source: &str,
) -> Result<Response, JsValue> {
    let range = content_range(part, len);
    with_headers(206, body, content_type, source, Some(range))
}

fn with_headers(
    status: u16,
    body: &Blob,
    content_type: &str,
    source: &str,
    content_range: Option<String>,
) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    headers.set("content-type", content_type)?;
    headers.set("accept-ranges", "bytes")?;
    headers.set(SOURCE_HEADER, source)?;
    if let Some(range) = content_range {
        headers.set("content-range", &range)?;
    }
    headers.set("content-length", &body.size().to_string())?;
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Response::new_with_opt_blob_and_init(Some(body), &init)
}
