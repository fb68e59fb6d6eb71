//! Content addressing, sans-IO: a resource is named by its BLAKE3 root hash and length, split
//! into pieces for exchange, and verified chunk group by chunk group as it arrives.
//!
//! Verified streaming comes from [`bao_tree`] (BLAKE3 trees with 16 KiB chunk groups, the
//! encoding iroh uses): a maintained implementation of the tree layout, the response encoding
//! and its decoder, so this module only chooses sizes and feeds bytes in and out.

pub mod bitfield;
pub mod collection;
pub mod content_hasher;
pub mod content_id;
pub mod content_meta;
pub mod piece_layout;
pub mod piece_proof;
pub mod quota;
pub mod sealed;
pub mod stored_piece;
pub mod verify_speed;
pub mod zip_stream;

/// The hash pairs of a content's BLAKE3 tree above its chunk groups, in pre-order: what a peer
/// needs beside the bytes to prove any piece. 64 bytes per chunk group (0.4% of the content).
pub type Outboard = bao_tree::io::outboard::PreOrderMemOutboard;
