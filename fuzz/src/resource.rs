//! Small real resources for the stateful targets, hashed once per process: their true bytes,
//! the wire encoding and the stored form of each piece.

use std::sync::OnceLock;

use bytes::Bytes;
use peerfetch::content::content_hasher::ContentHasher;
use peerfetch::content::content_id::ContentId;
use peerfetch::content::piece_layout::{PieceLayout, PIECE_LEN};
use peerfetch::content::piece_proof::encode_piece;
use peerfetch::content::stored_piece::stored_from_encoded;

/// A resource with its true pieces.
#[derive(Debug)]
pub struct Resource {
    bytes: Bytes,
    id: ContentId,
    layout: PieceLayout,
    encoded: Vec<Bytes>,
    stored: Vec<Bytes>,
}

impl Resource {
    /// `len` bytes made from `seed`, hashed.
    pub fn new(len: u64, seed: u8) -> Self {
        let bytes: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ (i >> 11) as u8 ^ seed)
            .collect();
        let mut hasher = ContentHasher::new(len).expect("a small length");
        hasher.update(&bytes).expect("exactly len bytes");
        let (id, outboard) = hasher.finish().expect("all bytes fed");
        let layout = PieceLayout::of(&id);
        let (encoded, stored) = (0..layout.piece_count())
            .map(|index| {
                let range = layout.piece_bytes(index).expect("index below the count");
                let data = &bytes[range.start as usize..range.end as usize];
                let encoded = encode_piece(&outboard, index, data).expect("true bytes encode");
                let stored = stored_from_encoded(&layout, index, &encoded).expect("own encoding");
                (encoded, stored)
            })
            .unzip();
        Self {
            bytes: bytes.into(),
            id,
            layout,
            encoded,
            stored,
        }
    }

    /// Two whole pieces and a short third one (every verification of a whole piece hashes
    /// 1 MiB, so resources stay this small).
    pub fn three_pieces() -> &'static Resource {
        static IT: OnceLock<Resource> = OnceLock::new();
        IT.get_or_init(|| Resource::new(2 * PIECE_LEN + 3000, 1))
    }

    /// One short piece.
    pub fn one_piece() -> &'static Resource {
        static IT: OnceLock<Resource> = OnceLock::new();
        IT.get_or_init(|| Resource::new(5000, 2))
    }

    /// The content id.
    pub fn id(&self) -> ContentId {
        self.id
    }

    /// How many pieces it has.
    pub fn pieces(&self) -> u32 {
        self.layout.piece_count()
    }

    /// All its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The true bytes of piece `index`.
    pub fn piece(&self, index: u32) -> Bytes {
        let range = self
            .layout
            .piece_bytes(index)
            .expect("index below the count");
        self.bytes.slice(range.start as usize..range.end as usize)
    }

    /// The true wire encoding of piece `index`, if it exists.
    pub fn encoded(&self, index: u32) -> Option<&Bytes> {
        self.encoded.get(index as usize)
    }

    /// The true stored form of piece `index`, if it exists.
    pub fn stored(&self, index: u32) -> Option<&Bytes> {
        self.stored.get(index as usize)
    }
}
