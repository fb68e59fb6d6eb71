//! Requests to the site's own server. Each one to the page's own origin carries
//! [`BYPASS_HEADER`], so the peerfetch service worker lets it through to the network instead of
//! handing it back to this page (a request to another origin is left as it is: the header would
//! cost a CORS preflight, and the worker does not take such requests anyway).

use std::ops::Range;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCache, RequestInit, Response};

use crate::browser::js::error::js_message;
use crate::cdn::origin_ranges::{parse_content_range, range_header};

/// Marks a request the service worker must send to the network.
pub(crate) const BYPASS_HEADER: &str = "x-peerfetch-bypass";

/// Bytes the origin sent for a resource of known length.
pub(crate) struct OriginPart {
    /// Which bytes of the resource they are.
    pub(crate) range: Range<u64>,
    /// The bytes.
    pub(crate) bytes: Uint8Array,
}

/// Sends `request` (a copy of it carrying the bypass header) to the network.
pub(crate) async fn pass_through(request: &Request) -> Result<Response, JsValue> {
    pass_through_with_range(request, None).await
}

/// Sends `request` to the network as [`pass_through`] does, asking for bytes `range` (a
/// `Range` header) instead of what it asks for.
pub(crate) async fn pass_through_with_range(
    request: &Request,
    range: Option<&str>,
) -> Result<Response, JsValue> {
    let copy = Request::new_with_request(request)?;
    if let Some(range) = range {
        copy.headers().set("range", range)?;
    }
    mark_bypass(&copy)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    JsFuture::from(window.fetch_with_request(&copy))
        .await?
        .dyn_into()
}

/// `GET url` past every cache (the manifest must be the origin's current one), the body as
/// text.
pub(crate) async fn get_text(url: &str) -> Result<String, String> {
    let response = get(url, None, RequestCache::NoStore).await?;
    if !response.ok() {
        return Err(format!("origin answered {} for {url}", response.status()));
    }
    let text = response
        .text()
        .map_err(|e| format!("cannot read {url}: {}", js_message(&e)))?;
    JsFuture::from(text)
        .await
        .map_err(|e| format!("cannot read {url}: {}", js_message(&e)))?
        .as_string()
        .ok_or_else(|| format!("{url} is not text"))
}

/// Bytes `range` (all of it if `None`) of the `len`-byte resource at `url`. An origin that
/// ignores `Range` and sends everything is accepted; anything else that does not match is an
/// error.
pub(crate) async fn get_bytes(
    url: &str,
    len: u64,
    range: Option<Range<u64>>,
) -> Result<OriginPart, String> {
    let response = get(url, range.as_ref(), RequestCache::Default).await?;
    let got = match response.status() {
        200 => 0..len,
        206 => {
            let header = response
                .headers()
                .get("content-range")
                .ok()
                .flatten()
                .unwrap_or_default();
            parse_content_range(&header, len)
                .ok_or_else(|| format!("{url}: unusable Content-Range {header:?}"))?
        }
        status => return Err(format!("origin answered {status} for {url}")),
    };
    if let Some(wanted) = &range {
        if got.start > wanted.start || got.end < wanted.end {
            return Err(format!("{url}: origin sent bytes {got:?}, not {wanted:?}"));
        }
    }
    let buffer: ArrayBuffer = JsFuture::from(
        response
            .array_buffer()
            .map_err(|e| format!("cannot read {url}: {}", js_message(&e)))?,
    )
    .await
    .map_err(|e| format!("cannot read {url}: {}", js_message(&e)))?
    .unchecked_into();
    let bytes = Uint8Array::new(&buffer);
    if u64::from(bytes.length()) != got.end - got.start {
        return Err(format!(
            "{url}: origin sent {} bytes for {got:?} (resource length {len})",
            bytes.length()
        ));
    }
    Ok(OriginPart { range: got, bytes })
}

async fn get(
    url: &str,
    range: Option<&Range<u64>>,
    cache: RequestCache,
) -> Result<Response, String> {
    let failed = |e: JsValue| format!("cannot fetch {url}: {}", js_message(&e));
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_cache(cache);
    let request = Request::new_with_str_and_init(url, &init).map_err(failed)?;
    mark_bypass(&request).map_err(failed)?;
    if let Some(range) = range {
        request
            .headers()
            .set("range", &range_header(range))
            .map_err(failed)?;
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)?;
    Ok(response)
}

/// Adds [`BYPASS_HEADER`] to a request for the page's own origin.
fn mark_bypass(request: &Request) -> Result<(), JsValue> {
    let own_origin = web_sys::window().and_then(|w| w.location().origin().ok());
    let target = web_sys::Url::new(&request.url())?.origin();
    if own_origin.as_deref() == Some(target.as_str()) {
        request.headers().set(BYPASS_HEADER, "1")?;
    }
    Ok(())
}
