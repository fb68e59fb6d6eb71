//! How fast this machine hashes and verifies content: the figures the benchmark compares
//! between wasm and native. Time comes from the caller (`performance.now()` in a tab,
//! `Instant` natively).

use serde::Serialize;

use super::content_hasher::ContentHasher;
use super::piece_layout::PieceLayout;
use super::piece_proof::{encode_piece, verify_piece};

/// Measured rates in MB/s (10^6 bytes per second).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifySpeed {
    /// Bytes hashed and verified.
    pub bytes: u64,
    /// Hashing into a content id and outboard (what `share` does).
    pub hash_megabytes_per_second: f64,
    /// Verifying encoded pieces (what every download does).
    pub verify_megabytes_per_second: f64,
}

/// Hashes `len` bytes of generated content, then verifies each of its pieces. `now` returns
/// seconds from any fixed origin.
pub fn measure(len: usize, now: impl Fn() -> f64) -> VerifySpeed {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let started = now();
    let mut hasher = ContentHasher::new(len as u64).expect("small enough");
    hasher.update(&data).expect("exactly len bytes");
    let (id, outboard) = hasher.finish().expect("exactly len bytes");
    let hashing = now() - started;
    let layout = PieceLayout::of(&id);
    let encoded: Vec<_> = (0..layout.piece_count())
        .map(|index| {
            let range = layout.piece_bytes(index).expect("in range");
            encode_piece(
                &outboard,
                index,
                &data[range.start as usize..range.end as usize],
            )
            .expect("consistent")
        })
        .collect();
    let started = now();
    for (index, piece) in encoded.iter().enumerate() {
        verify_piece(&id, index as u32, piece).expect("valid");
    }
    let verifying = now() - started;
    let rate = |seconds: f64| len as f64 / seconds.max(1e-9) / 1e6;
    VerifySpeed {
        bytes: len as u64,
        hash_megabytes_per_second: rate(hashing),
        verify_megabytes_per_second: rate(verifying),
    }
}
