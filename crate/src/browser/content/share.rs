//! Sharing a file (a dropped `File`, or a `Blob`), plain or sealed: hash its content into the
//! content id, then store its pieces with their proofs. The file is read twice, piece by piece
//! ([`ShareSource`]), never whole into wasm memory.

use js_sys::Function;
use serde_json::json;
use wasm_bindgen::JsValue;

use crate::browser::content::share_source::ShareSource;
use crate::browser::content::store::{ContentStore, StoreError};
use crate::browser::js::value::to_plain_js;
use crate::content::content_hasher::ContentHasher;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::PieceLayout;
use crate::content::piece_proof::{encode_piece, PieceError};
use crate::content::stored_piece::stored_from_encoded;
use crate::content::Outboard;
use crate::error::{ErrorCode, PeerError};

/// Hashes `source`'s content and stores every piece not yet stored. `progress` (if any) is
/// called with `{ phase: "hashing" | "storing", bytes, total }` (`total`: bytes of the content,
/// the sealed ones for a private share). A file that cannot be read, is too large, or changes
/// while it is shared is an invalid argument.
pub(crate) async fn hash_and_store(
    store: &ContentStore,
    source: &ShareSource,
    progress: Option<&Function>,
) -> Result<ContentId, PeerError> {
    let bad_file = |e: String| PeerError::new(ErrorCode::InvalidArgument, e);
    let total = source.len();
    let report = |phase: &str, bytes: u64| {
        if let Some(progress) = progress {
            let detail = json!({ "phase": phase, "bytes": bytes, "total": total });
            let value = to_plain_js(&detail).unwrap_or(JsValue::NULL);
            let _ = progress.call1(&JsValue::NULL, &value);
        }
    };
    let mut hasher = ContentHasher::new(total).map_err(|e| bad_file(e.to_string()))?;
    let pieces = PieceLayout::with_len(total);
    for index in 0..pieces.piece_count() {
        let data = source.piece(index).await.map_err(bad_file)?;
        hasher.update(&data).map_err(|e| bad_file(e.to_string()))?;
        report(
            "hashing",
            pieces.piece_bytes(index).map_or(total, |r| r.end),
        );
    }
    let (id, outboard) = hasher.finish().map_err(|e| bad_file(e.to_string()))?;
    let stored = store.pieces(&id).await?;
    for index in 0..pieces.piece_count() {
        let range = pieces.piece_bytes(index).expect("index below the count");
        if !stored.contains(index) {
            let data = source.piece(index).await.map_err(bad_file)?;
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
