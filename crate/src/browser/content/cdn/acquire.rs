//! Obtaining a resource the manifest covers: from this tab's store if it holds all of it; else
//! from peers until they stop delivering for the peer timeout (or none has it); then, for
//! what is still missing, from the origin with `Range` requests. Whatever the source, the
//! bytes must hash to the manifest's content id before the page sees them; what came from the
//! origin is then stored with its proofs and served onward.

use std::cell::Cell;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::stream::{self, StreamExt, TryStreamExt};
use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Uint8Array};
use web_sys::{Blob, BlobPropertyBag};

use super::origin::{get_bytes, OriginPart};
use super::Cdn;
use crate::browser::content::service::{DownloadWaiter, HeldPieces, Request, Watch};
use crate::browser::content::share::store_piece;
use crate::browser::js::clock::now;
use crate::browser::js::error::js_message;
use crate::cdn::manifest::ManifestEntry;
use crate::cdn::offload_stats::Source;
use crate::cdn::origin_ranges::missing_ranges;
use crate::cdn::peer_patience::PeerPatience;
use crate::content::bitfield::Bitfield;
use crate::content::content_hasher::ContentHasher;
use crate::content::content_id::ContentId;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::PieceLayout;

/// Requests to the origin at once for one resource's missing parts.
const ORIGIN_REQUESTS: usize = 4;
/// Largest resource put together in memory from origin parts; a larger one the origin serves
/// directly (and it is not stored).
const MAX_ASSEMBLED: u64 = 512 << 20;

/// A resource, and where its bytes came from.
#[derive(Clone)]
pub(crate) struct Obtained {
    /// All of it, verified.
    pub(crate) blob: Blob,
    /// Bytes per source.
    pub(crate) bytes: Vec<(Source, u64)>,
    /// Peers that delivered some of it.
    pub(crate) peers: Vec<String>,
}

/// Obtains the resource `entry` names, found at `url` on the origin.
pub(crate) async fn obtain(
    cdn: Rc<Cdn>,
    url: String,
    entry: ManifestEntry,
) -> Result<Obtained, String> {
    let id = entry.cid;
    let layout = PieceLayout::of(&id);
    let stored = verified_in_store(&cdn, id).await?;
    if stored.is_full() {
        let blob = cdn
            .store
            .blob(&id, &entry.content_type)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = vec![(Source::Store, id.len())];
        return Ok(Obtained {
            blob,
            bytes,
            peers: Vec::new(),
        });
    }
    let from_store = layout.bytes_in(&stored);
    let delivered = fetch_from_peers(&cdn, &entry).await;
    let peers = cdn.peers_that_sent(&id);
    let reason = match delivered {
        Ok(blob) => {
            let bytes = vec![
                (Source::Store, from_store),
                (Source::Peers, id.len() - from_store),
            ];
            return Ok(Obtained { blob, bytes, peers });
        }
        Err(reason) => reason,
    };
    if id.len() > MAX_ASSEMBLED {
        return Err(format!("{reason}; too large to put together from parts"));
    }
    tracing::info!(%id, %url, "from the origin: {reason}");
    cdn.peers_gave_up(id);
    let held = held(&cdn, id).await?;
    let from_peers = layout.bytes_in(&held.have).saturating_sub(from_store);
    let (blob, from_origin) = fetch_from_origin(&cdn, &url, &entry, &held).await?;
    let bytes = vec![
        (Source::Store, from_store),
        (Source::Peers, from_peers),
        (Source::Origin, from_origin),
    ];
    Ok(Obtained { blob, bytes, peers })
}

/// Downloads the resource from peers; gives up (cancelling the download, keeping the pieces
/// it verified) when no peer has it, or when [`PeerPatience`] runs out.
async fn fetch_from_peers(cdn: &Cdn, entry: &ManifestEntry) -> Result<Blob, String> {
    let id = entry.cid;
    let started = now();
    let activity = Rc::new(Cell::new(started));
    let offered = Rc::new(Cell::new(None));
    let (reply, blob) = oneshot::channel();
    let waiter = DownloadWaiter {
        meta: ContentMeta {
            name: None,
            mime: Some(entry.content_type.clone()),
        },
        progress: None,
        not_found_after: Duration::ZERO,
        watch: Watch {
            activity: vec![activity.clone()],
            arriving: vec![cdn.peer_activity.clone()],
            offered: Some(offered.clone()),
            verified: vec![cdn.changed.clone()],
        },
        reply,
    };
    cdn.service
        .ask(Request::Download(id, waiter))
        .await
        .map_err(|e| e.to_string())?;
    cdn.changed.notify(usize::MAX);
    let patience = PeerPatience {
        timeout: cdn.config.peer_timeout,
        started,
    };
    let mut blob = blob.fuse();
    loop {
        // News from peers only moves the moment to give up later: sleep until then, look again.
        let (own, any) = (activity.get(), cdn.peer_activity.get());
        let gives_up_at = patience.gives_up_at(offered.get(), own, any);
        let now = now();
        if now >= gives_up_at {
            drop(blob);
            let _ = cdn.service.ask(Request::Cancel(id)).await;
            let waited = |since: Duration| now.saturating_sub(since).as_millis();
            return Err(match offered.get() {
                None => format!("no peer offered it in {} ms", waited(started)),
                Some(at) => format!("no byte came from peers for {} ms", waited(own.max(at))),
            });
        }
        let sleep = (gives_up_at - now).as_millis().clamp(1, u32::MAX.into()) as u32;
        let mut wake = TimeoutFuture::new(sleep).fuse();
        futures::select! {
            result = blob => {
                return match result {
                    Ok(blob) => blob.map_err(|e| e.to_string()),
                    Err(_) => Err("the peer closed".to_owned()),
                };
            }
            _ = wake => {}
        }
    }
}

/// The pieces of `id` the store holds, checked against the content id (the store is the
/// origin's: another script of it, or a damaged disk, may have changed a file) until the page
/// has checked it whole once; pieces that fail are removed, to come from peers or the origin
/// instead.
async fn verified_in_store(cdn: &Cdn, id: ContentId) -> Result<Bitfield, String> {
    let mut stored = cdn.store.pieces(&id).await.map_err(|e| e.to_string())?;
    if cdn.was_verified(&id) {
        return Ok(stored);
    }
    let held: Vec<u32> = stored.iter().collect();
    for index in held {
        if cdn.store.read_verified(&id, index).await.is_err() {
            stored.remove(index);
            let _ = cdn.service.ask(Request::Lost(id, index)).await;
        }
    }
    if stored.is_full() {
        cdn.verified(id);
    }
    Ok(stored)
}

/// Pieces the service holds: a download that just ended may still be writing some.
pub(super) async fn held(cdn: &Cdn, id: ContentId) -> Result<HeldPieces, String> {
    let (reply, held) = oneshot::channel();
    cdn.service
        .ask(Request::Held(id, reply))
        .await
        .map_err(|e| e.to_string())?;
    held.await.map_err(|_| "the peer closed".to_owned())
}

/// Asks the origin for `wanted` (byte ranges of a `len`-byte resource; `None` is all of it): the
/// first alone, and if the origin ignored `Range` and sent everything, nothing more (the other
/// parts would each bring the whole resource again); else the rest, [`ORIGIN_REQUESTS`] at once.
async fn origin_parts(
    url: &str,
    len: u64,
    wanted: Vec<Option<Range<u64>>>,
) -> Result<Vec<OriginPart>, String> {
    let mut wanted = wanted.into_iter();
    let Some(first) = wanted.next() else {
        return Ok(Vec::new());
    };
    let first = get_bytes(url, len, first).await?;
    if first.range == (0..len) {
        return Ok(vec![first]);
    }
    let mut parts = vec![first];
    let rest: Vec<OriginPart> = stream::iter(wanted.map(|range| get_bytes(url, len, range)))
        .buffered(ORIGIN_REQUESTS)
        .try_collect()
        .await?;
    parts.extend(rest);
    Ok(parts)
}

/// Fetches what `held` lacks from the origin (all of it in one plain `GET` if nothing is
/// held), puts the resource together, checks it against the manifest, and stores the new
/// pieces in the background. Returns the resource and the bytes the origin sent.
async fn fetch_from_origin(
    cdn: &Rc<Cdn>,
    url: &str,
    entry: &ManifestEntry,
    held: &HeldPieces,
) -> Result<(Blob, u64), String> {
    let id = entry.cid;
    let layout = PieceLayout::of(&id);
    let wanted: Vec<_> = if held.have.count() == 0 {
        vec![None]
    } else {
        missing_ranges(&layout, &held.have)
            .into_iter()
            .map(Some)
            .collect()
    };
    let parts = origin_parts(url, id.len(), wanted).await?;
    let from_origin = parts.iter().map(|p| p.range.end - p.range.start).sum();
    let mut hasher = ContentHasher::new(id.len()).map_err(|e| e.to_string())?;
    let blob_parts = Array::new();
    let mut fetched = Vec::new();
    for index in 0..layout.piece_count() {
        let bytes = layout.piece_bytes(index).expect("index below the count");
        let part = parts
            .iter()
            .find(|p| p.range.start <= bytes.start && bytes.end <= p.range.end);
        let piece_len = layout.piece_len(index) as usize;
        let data = match (part, held.unwritten.get(&index)) {
            (Some(part), _) => part
                .bytes
                .subarray(
                    (bytes.start - part.range.start) as u32,
                    (bytes.end - part.range.start) as u32,
                )
                .to_vec(),
            (None, Some(stored)) => stored[..piece_len].to_vec(),
            (None, None) => {
                let mut stored = cdn
                    .store
                    .read_piece(&id, index)
                    .await
                    .map_err(|e| e.to_string())?;
                stored.truncate(piece_len);
                stored
            }
        };
        hasher.update(&data).map_err(|e| e.to_string())?;
        blob_parts.push(&Uint8Array::from(&data[..]));
        if part.is_some() {
            fetched.push((index, data));
        }
    }
    let (root, outboard) = hasher.finish().map_err(|e| e.to_string())?;
    if root != id {
        return Err(format!(
            "the origin's bytes hash to {root}, not to {id} as the manifest says (stale manifest?)"
        ));
    }
    let options = BlobPropertyBag::new();
    options.set_type(&entry.content_type);
    let blob = Blob::new_with_u8_array_sequence_and_options(&blob_parts, &options)
        .map_err(|e| js_message(&e))?;
    let cdn = cdn.clone();
    let content_type = entry.content_type.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let meta = ContentMeta {
            name: None,
            mime: Some(content_type),
        };
        for (index, data) in fetched {
            if let Err(e) = store_piece(&cdn.store, &id, &outboard, index, &data).await {
                return tracing::warn!(%id, index, "cannot keep a piece from the origin: {e}");
            }
        }
        if let Err(e) = cdn.store.write_meta(&id, &meta).await {
            tracing::warn!(%id, "cannot record the type: {e}");
        }
        let _ = cdn.service.ask(Request::Shared(id, meta)).await;
    });
    Ok((blob, from_origin))
}
