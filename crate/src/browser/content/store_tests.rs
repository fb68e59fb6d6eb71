//! The store in a real Origin Private File System (headless Chromium): quota accounting, and
//! listing pieces while one is written.

use wasm_bindgen_test::wasm_bindgen_test;

use super::share::store_piece;
use super::store::ContentStore;
use crate::content::content_hasher::ContentHasher;
use crate::content::content_id::ContentId;
use crate::content::Outboard;

/// `len` bytes (a pattern repeating every `period`), their content id and outboard.
fn content(len: u32, period: u32) -> (Vec<u8>, ContentId, Outboard) {
    let bytes: Vec<u8> = (0..len).map(|i| (i % period) as u8).collect();
    let mut hasher = ContentHasher::new(bytes.len() as u64).expect("hasher");
    hasher.update(&bytes).expect("hash");
    let (id, outboard) = hasher.finish().expect("finish");
    (bytes, id, outboard)
}

#[wasm_bindgen_test]
async fn a_piece_written_again_counts_once_and_removal_gives_it_back() {
    let (bytes, id, outboard) = content(300_000, 251);
    let store = ContentStore::open(10 << 20).await.expect("open");
    let before = store.used();
    store_piece(&store, &id, &outboard, 0, &bytes)
        .await
        .expect("first write");
    store_piece(&store, &id, &outboard, 0, &bytes)
        .await
        .expect("second write");
    assert_eq!(store.used() - before, bytes.len() as u64);
    store.remove(&id).await.expect("remove");
    assert_eq!(store.used(), before);
}

#[wasm_bindgen_test]
async fn listing_the_pieces_while_one_is_written_does_not_lose_it() {
    let (bytes, id, outboard) = content(700_000, 241);
    let store = ContentStore::open(10 << 20).await.expect("open");
    let done = std::cell::Cell::new(false);
    let write = async {
        let written = store_piece(&store, &id, &outboard, 0, &bytes).await;
        done.set(true);
        written
    };
    let list = async {
        // The file exists, empty, from the write's start until it commits.
        while !done.get() {
            let _ = store.pieces(&id).await;
        }
    };
    let (written, ()) = futures::join!(write, list);
    written.expect("written");
    let held = store.pieces(&id).await.expect("pieces");
    assert!(held.is_full(), "the piece is there once written");
    store.remove(&id).await.expect("remove");
}
