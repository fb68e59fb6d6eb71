//! The store's quota accounting in a real Origin Private File System (headless Chromium).

use wasm_bindgen_test::wasm_bindgen_test;

use super::share::store_piece;
use super::store::ContentStore;
use crate::content::content_hasher::ContentHasher;

#[wasm_bindgen_test]
async fn a_piece_written_again_counts_once_and_removal_gives_it_back() {
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut hasher = ContentHasher::new(bytes.len() as u64).expect("hasher");
    hasher.update(&bytes).expect("hash");
    let (id, outboard) = hasher.finish().expect("finish");
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
