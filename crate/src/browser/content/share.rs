//! Sharing a `Blob` (a dropped `File`): hash it into its content id, then store its pieces with
//! their proofs. The blob is read twice in 1 MiB slices, never whole into wasm memory.

use js_sys::{Function, Uint8Array};
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::browser::content::store::{ContentStore, StoreError};
use crate::browser::js::error::js_message;
use crate::browser::js::value::to_plain_js;
use crate::content::content_hasher::ContentHasher;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::{PieceLayout, PIECE_LEN};
use crate::content::piece_proof::{encode_piece, PieceError};
use crate::content::stored_piece::stored_from_encoded;
use crate::content::Outboard;
use crate::error::{ErrorCode, PeerError};

/// Bytes read from the blob per slice while hashing.
const HASH_SLICE: u64 = 4 * PIECE_LEN;

/// Hashes `blob` and stores every piece not yet stored. `progress` (if any) is called with
/// `{ phase: "hashing" | "storing", bytes, total }`. A file that cannot be read, is too large,
/// or changes while it is shared is an invalid argument.
pub(crate) async fn share_blob(
    store: &ContentStore,
    blob: &Blob,
    progress: Option<&Function>,
) -> Result<ContentId, PeerError> {
    let bad_file = |e: String| PeerError::new(ErrorCode::InvalidArgument, e);
    let total = blob.size() as u64;
    let report = |phase: &str, bytes: u64| {
        if let Some(progress) = progress {
            let detail = json!({ "phase": phase, "bytes": bytes, "total": total });
            let value = to_plain_js(&detail).unwrap_or(JsValue::NULL);
            let _ = progress.call1(&JsValue::NULL, &value);
        }
    };
    let mut hasher = ContentHasher::new(total).map_err(|e| bad_file(e.to_string()))?;
    let mut offset = 0;
    while offset < total {
        let end = (offset + HASH_SLICE).min(total);
        let data = read(blob, offset, end).await.map_err(bad_file)?;
        hasher.update(&data).map_err(|e| bad_file(e.to_string()))?;
        offset = end;
        report("hashing", offset);
    }
    let (id, outboard) = hasher.finish().map_err(|e| bad_file(e.to_string()))?;
    let layout = PieceLayout::of(&id);
    let stored = store.pieces(&id).await?;
    for index in 0..layout.piece_count() {
        let range = layout.piece_bytes(index).expect("index below the count");
        if !stored.contains(index) {
            let data = read(blob, range.start, range.end).await.map_err(bad_file)?;
            store_piece(store, &id, &outboard, index, &data)
                .await
                .map_err(|e| match e {
                    // Checked against the hashes: a file changed since hashing fails here.
                    KeepPieceError::Mismatch(e) => {
                        bad_file(format!("the file changed while it was being shared: {e}"))
                    }
                    KeepPieceError::Store(e) => e.into(),
                })?;
        }
        report("storing", range.end);
    }
    Ok(id)
}

/// Why a piece could not be kept.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeepPieceError {
    /// The bytes do not match the hashes they were to be stored with.
    #[error("piece does not match its hashes: {0}")]
    Mismatch(PieceError),
    /// The store refused it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores piece `index` of `id` from its bytes, with the proof `outboard` gives it (checked:
/// bytes that do not match the hashes are refused).
pub(crate) async fn store_piece(
    store: &ContentStore,
    id: &ContentId,
    outboard: &Outboard,
    index: u32,
    data: &[u8],
) -> Result<(), KeepPieceError> {
    let layout = PieceLayout::of(id);
    let encoded = encode_piece(outboard, index, data).map_err(KeepPieceError::Mismatch)?;
    let stored = stored_from_encoded(&layout, index, &encoded).map_err(KeepPieceError::Mismatch)?;
    Ok(store.write_piece(id, index, &stored).await?)
}

/// Bytes `start..end` of `blob`.
async fn read(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let failed = |e: JsValue| format!("cannot read the file: {}", js_message(&e));
    let slice = blob
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(failed)?;
    let buffer = JsFuture::from(slice.array_buffer()).await.map_err(failed)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}
