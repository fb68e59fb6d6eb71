//! `qrCodeSvg(text)`: the QR code of a link as an SVG document, for a page to show beside the
//! link so a phone can open it ([`crate::util::qr_code`] draws it).

use crate::error::{ErrorCode, PeerError};
use crate::util::qr_code::svg;
use wasm_bindgen::prelude::*;

/// The QR code of `text` (a share link) as an SVG document: black modules on a white square
/// with the quiet zone, `viewBox` in modules, to scale to any size. Throws an `Error` with
/// `code` `ERR_INVALID_ARGUMENT` when the text does not fit in a QR code (more than 2331 bytes
/// of a link).
#[wasm_bindgen(js_name = qrCodeSvg)]
pub fn qr_code_svg(text: &str) -> Result<String, JsValue> {
    svg(text).map_err(|e| PeerError::new(ErrorCode::InvalidArgument, e.to_string()).into())
}
