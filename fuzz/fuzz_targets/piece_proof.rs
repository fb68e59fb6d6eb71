//! An encoded piece from a peer is either exactly the true piece or refused: arbitrary bytes,
//! and the true encoding with arbitrary edits, never pass verification with other bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use peerfetch::content::content_hasher::ContentHasher;
use peerfetch::content::content_id::ContentId;
use peerfetch::content::piece_layout::{PieceLayout, PIECE_LEN};
use peerfetch::content::piece_proof::{encode_piece, verify_piece};

/// Three pieces and a bit of known content, the second piece, and its true encoding.
fn known() -> &'static (ContentId, Vec<u8>, Vec<u8>) {
    static KNOWN: OnceLock<(ContentId, Vec<u8>, Vec<u8>)> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let content: Vec<u8> = (0..3 * PIECE_LEN as u32 + 777)
            .map(|i| (i * 7 + i / 4099) as u8)
            .collect();
        let mut hasher = ContentHasher::new(content.len() as u64).unwrap();
        hasher.update(&content).unwrap();
        let (id, outboard) = hasher.finish().unwrap();
        let range = PieceLayout::of(&id).piece_bytes(1).unwrap();
        let piece = content[range.start as usize..range.end as usize].to_vec();
        let encoded = encode_piece(&outboard, 1, &piece).unwrap().to_vec();
        (id, piece, encoded)
    })
}

fuzz_target!(|data: &[u8]| {
    let (id, piece, encoded) = known();
    // Arbitrary bytes as the piece.
    if let Ok(verified) = verify_piece(id, 1, data) {
        assert_eq!(&verified.data()[..], &piece[..]);
    }
    // The true encoding with the input's bytes written over part of it.
    if data.len() >= 4 {
        let at = u32::from_le_bytes(data[..4].try_into().unwrap()) as usize % encoded.len();
        let mut edited = encoded.clone();
        for (i, b) in data[4..].iter().enumerate() {
            if let Some(slot) = edited.get_mut(at + i) {
                *slot = *b;
            }
        }
        if let Ok(verified) = verify_piece(id, 1, &edited) {
            assert_eq!(&verified.data()[..], &piece[..]);
        }
    }
});
