//! The service's uploads: serving queued requests from memory or the store, each piece
//! re-verified before it leaves, within the tab's upload cap.

use super::*;

impl ContentService {
    /// Starts serving queued requests, up to [`UPLOADS_PER_PEER`] at once per peer.
    pub(super) fn pump_uploads(&mut self, id: ContentId) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        loop {
            let busy = &resource.uploading;
            let Some(upload) = resource
                .uploads
                .next_upload_if(|peer| busy.get(peer).copied().unwrap_or(0) < UPLOADS_PER_PEER)
            else {
                return;
            };
            *resource.uploading.entry(upload.peer).or_default() += 1;
            let done = self.done.clone();
            if let Some(stored) = resource.unwritten.get(&upload.piece).cloned() {
                let layout = PieceLayout::of(&id);
                let encoded =
                    encoded_from_stored(&layout, upload.piece, &stored).map_err(|e| e.to_string());
                let _ = done.unbounded_send(Done::Read(id, upload, encoded));
                continue;
            }
            let store = self.store.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = read_verified(&store, &id, upload.piece).await;
                let _ = done.unbounded_send(Done::Read(id, upload, result));
            });
        }
    }

    /// Sends a piece read from the store (or rejects the request if it could not be read).
    pub(super) fn on_read(
        &mut self,
        id: ContentId,
        upload: Upload<PeerId>,
        result: Result<Bytes, String>,
    ) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let link = resource
            .links
            .get(&upload.peer)
            .and_then(|l| self.links.get(l));
        let encoded = match result {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::warn!(%id, piece = upload.piece, "cannot serve piece: {e}");
                resource.have.remove(upload.piece);
                if let Some(state) = link {
                    state.link.send(&SwarmMessage::Reject {
                        id: upload.id,
                        reason: RejectReason::NotHave,
                    });
                }
                let _ = self.done.unbounded_send(Done::Uploaded(id, upload.peer, 0));
                return;
            }
        };
        let Some(state) = link else {
            let _ = self.done.unbounded_send(Done::Uploaded(id, upload.peer, 0));
            return;
        };
        #[cfg(feature = "corrupt-uploads")]
        let encoded = if self.corrupt_uploads {
            corrupt(encoded)
        } else {
            encoded
        };
        let message = SwarmMessage::Piece {
            id: upload.id,
            piece: upload.piece,
            encoded,
        };
        let bytes = message.encode();
        let len = bytes.len() as u64;
        let delay = self
            .upload_budget
            .as_mut()
            .map_or(Duration::ZERO, |budget| budget.reserve(len, now()));
        let writer = state.link.writer();
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if !delay.is_zero() {
                gloo_timers::future::sleep(delay).await;
            }
            let _ = writer.send_tracked(bytes).await;
            let _ = done.unbounded_send(Done::Uploaded(id, upload.peer, len));
        });
    }
}

/// Reads piece `index` of `id` from the store and checks it before it goes to a peer: a piece
/// damaged on disk is removed, never served.
async fn read_verified(store: &ContentStore, id: &ContentId, index: u32) -> Result<Bytes, String> {
    let stored = store
        .read_piece(id, index)
        .await
        .map_err(|e| e.to_string())?;
    let layout = PieceLayout::of(id);
    let encoded = encoded_from_stored(&layout, index, &stored).map_err(|e| e.to_string());
    let checked = encoded.and_then(|encoded| {
        verify_piece(id, index, &encoded)
            .map(|_| encoded)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = &checked {
        tracing::warn!(%id, index, "stored piece is damaged, removing it: {e}");
        let _ = store.remove_piece(id, index).await;
    }
    checked
}

/// Test builds only: the piece with one byte flipped, as a lying peer would send it.
#[cfg(feature = "corrupt-uploads")]
fn corrupt(encoded: Bytes) -> Bytes {
    let mut bytes = encoded.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    bytes.into()
}
