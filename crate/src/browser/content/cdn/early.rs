//! Answering a `Range` request for a resource not held whole from the pieces that cover it, as
//! soon as they are verified ([`EarlyRange`] decides which and how much), while the whole
//! resource goes on downloading for later requests and for peers. If peers give up before
//! those pieces come, the origin answers the range itself (unchecked, as a plain `fetch` would
//! be), unless the resource is small enough to wait for.

use std::ops::Range;
use std::rc::Rc;

use futures::FutureExt;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag, Request, Response};

use super::acquire::held;
use super::origin::pass_through_with_range;
use super::response::{respond, respond_partial};
use super::{source_label, Cdn, Covered};
use crate::browser::content::service::{HeldPieces, Request as ServiceRequest};
use crate::browser::js::error::js_message;
use crate::cdn::early_range::EarlyRange;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::PieceLayout;

/// The answer to `request` (covered by the manifest as `covered`, with `Range` header
/// `header`) from the pieces it needs, or `None` when it is answered the usual way: the range
/// is the whole resource, the resource is held whole already, or the early answer failed
/// (the usual way checks the store again, and falls back to the origin).
pub(super) async fn answer(
    cdn: &Rc<Cdn>,
    request: &Request,
    covered: &Covered,
    header: &str,
) -> Option<Response> {
    let id = covered.entry.cid;
    let early = EarlyRange::new(header, PieceLayout::of(&id))?;
    match answer_range(cdn, request, covered, header, early).await {
        Ok(answer) => answer,
        Err(e) => {
            let url = request.url();
            tracing::warn!(%id, %url, "cannot answer the range early: {}", js_message(&e));
            None
        }
    }
}

async fn answer_range(
    cdn: &Rc<Cdn>,
    request: &Request,
    covered: &Covered,
    header: &str,
    early: EarlyRange,
) -> Result<Option<Response>, JsValue> {
    let entry = &covered.entry;
    let id = entry.cid;
    let at_first = held(cdn, id).await?;
    if at_first.have.is_full() {
        return Ok(None);
    }
    let obtaining = cdn.obtaining(request.url(), covered.path.clone(), entry.clone());
    // The whole resource goes on downloading, whatever becomes of this request.
    wasm_bindgen_futures::spawn_local(obtaining.clone().map(drop));
    let mut obtaining = obtaining.fuse();
    loop {
        // Listening before looking: what changes while we look wakes us.
        let changed = cdn.changed.listen();
        let prefer = ServiceRequest::Prefer(id, early.pieces());
        cdn.service.ask(prefer).await.map_err(|e| e.to_string())?;
        let now_held = held(cdn, id).await?;
        if let Some(part) = early.answerable(&now_held.have) {
            let layout = PieceLayout::of(&id);
            let mut answered = layout.piece_of(part.start)..=layout.piece_of(part.end - 1);
            let source = if answered.all(|piece| at_first.have.contains(piece)) {
                "store"
            } else {
                "peers"
            };
            let body = read_part(cdn, id, &now_held, &part, &entry.content_type).await?;
            let len = id.len();
            return respond_partial(&body, &entry.content_type, &part, len, source).map(Some);
        }
        if let Some(range) = early.origin_range().filter(|_| cdn.is_from_origin(&id)) {
            return pass_through_with_range(request, Some(&range))
                .await
                .map(Some);
        }
        futures::select! {
            result = obtaining => {
                // Done before the range's pieces were seen: answer from the whole resource.
                return match result {
                    Ok(obtained) => {
                        let source = source_label(&obtained.bytes);
                        respond(&obtained.blob, &entry.content_type, Some(header), &source)
                            .map(Some)
                    }
                    Err(e) => {
                        let version = &covered.version;
                        cdn.answer_as_origin_does(request, version, &e).await.map(Some)
                    }
                };
            }
            _ = changed.fuse() => {}
        }
    }
}

/// Bytes `part` of `id` from the pieces held (verified): those still being written from
/// memory, the others read from the store and checked again.
async fn read_part(
    cdn: &Cdn,
    id: ContentId,
    held: &HeldPieces,
    part: &Range<u64>,
    content_type: &str,
) -> Result<Blob, JsValue> {
    let layout = PieceLayout::of(&id);
    let pieces = Array::new();
    let first = layout.piece_of(part.start);
    let last = layout.piece_of(part.end - 1);
    for index in first..=last {
        let bytes = layout.piece_bytes(index).expect("within the resource");
        let data = match held.unwritten.get(&index) {
            Some(stored) => stored.slice(..(bytes.end - bytes.start) as usize),
            None => match cdn.store.read_verified(&id, index).await {
                Ok(piece) => piece.data,
                Err(e) => {
                    // Removed from the store: the service must not count it held any more.
                    let _ = cdn.service.ask(ServiceRequest::Lost(id, index)).await;
                    return Err(e.into());
                }
            },
        };
        let from = part.start.max(bytes.start) - bytes.start;
        let to = part.end.min(bytes.end) - bytes.start;
        pieces.push(&Uint8Array::from(&data[from as usize..to as usize]));
    }
    let options = BlobPropertyBag::new();
    options.set_type(content_type);
    Blob::new_with_u8_array_sequence_and_options(&pieces, &options)
        .map_err(|e| js_message(&e).into())
}
