//! How content is cut: 16 KiB chunk groups (the unit of verification) gathered into 1 MiB
//! pieces (the unit of announcement, request and storage).

use std::ops::Range;

use bao_tree::{BaoTree, BlockSize, ChunkNum, ChunkRanges};

use super::bitfield::Bitfield;
use super::content_id::{ContentId, MAX_CONTENT_LEN};

/// Chunk groups of 16 KiB (2^4 BLAKE3 chunks): each is hashed and checked on its own.
pub const CHUNK_GROUP: BlockSize = BlockSize::from_chunk_log(4);

/// Chunk groups in a piece.
pub const GROUPS_PER_PIECE: u64 = 64;

/// Bytes in a piece (1 MiB); the last piece of a resource may be shorter. Large enough that
/// per-piece costs (a request, a file write, a file read) stay small next to moving the bytes.
pub const PIECE_LEN: u64 = GROUPS_PER_PIECE * 16 * 1024;

/// Largest number of pieces a resource has ([`MAX_CONTENT_LEN`] / [`PIECE_LEN`]).
pub const MAX_PIECES: u32 = (MAX_CONTENT_LEN / PIECE_LEN) as u32;

const CHUNK_LEN: u64 = 1024;

/// The piece geometry of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceLayout {
    len: u64,
}

impl PieceLayout {
    /// The layout of `id`'s content.
    pub fn of(id: &ContentId) -> Self {
        Self { len: id.len() }
    }

    /// The layout of `len` bytes (at most [`MAX_CONTENT_LEN`]).
    pub fn with_len(len: u64) -> Self {
        debug_assert!(len <= MAX_CONTENT_LEN);
        Self { len }
    }

    /// Content length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are no bytes (and so no pieces).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many pieces there are.
    pub fn piece_count(&self) -> u32 {
        self.len.div_ceil(PIECE_LEN) as u32
    }

    /// Byte range of piece `index`, or `None` past the end.
    pub fn piece_bytes(&self, index: u32) -> Option<Range<u64>> {
        let start = u64::from(index) * PIECE_LEN;
        (start < self.len).then(|| start..(start + PIECE_LEN).min(self.len))
    }

    /// The piece holding byte `offset`.
    pub fn piece_of(&self, offset: u64) -> u32 {
        (offset / PIECE_LEN) as u32
    }

    /// Length of piece `index` in bytes (0 past the end).
    pub fn piece_len(&self, index: u32) -> u64 {
        self.piece_bytes(index)
            .map_or(0, |range| range.end - range.start)
    }

    /// Bytes in the pieces `have` holds.
    pub fn bytes_in(&self, have: &Bitfield) -> u64 {
        have.iter().map(|index| self.piece_len(index)).sum()
    }

    /// The BLAKE3 chunks of piece `index`, as a bao range query. The last piece's range is
    /// open-ended, the canonical form bao-tree encodes and decodes by.
    pub fn piece_chunks(&self, index: u32) -> Option<ChunkRanges> {
        let bytes = self.piece_bytes(index)?;
        let start = ChunkNum(bytes.start / CHUNK_LEN);
        if bytes.end == self.len {
            return Some(ChunkRanges::from(start..));
        }
        Some(ChunkRanges::from(start..ChunkNum(bytes.end / CHUNK_LEN)))
    }

    /// The bao tree over the whole content.
    pub fn tree(&self) -> BaoTree {
        BaoTree::new(self.len, CHUNK_GROUP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_content_exactly() {
        for len in [
            0,
            1,
            PIECE_LEN - 1,
            PIECE_LEN,
            PIECE_LEN + 1,
            10 * PIECE_LEN + 7,
        ] {
            let layout = PieceLayout::with_len(len);
            let mut next = 0;
            for i in 0..layout.piece_count() {
                let bytes = layout.piece_bytes(i).unwrap();
                assert_eq!(bytes.start, next);
                assert!(bytes.end > bytes.start && bytes.end - bytes.start <= PIECE_LEN);
                next = bytes.end;
            }
            assert_eq!(next, len);
            assert_eq!(layout.piece_bytes(layout.piece_count()), None);
            assert_eq!(layout.piece_len(layout.piece_count()), 0);
            let all = Bitfield::full(layout.piece_count());
            assert_eq!(layout.bytes_in(&all), len);
        }
    }

    #[test]
    fn a_piece_is_whole_chunk_groups() {
        assert_eq!(PIECE_LEN, GROUPS_PER_PIECE * CHUNK_GROUP.bytes() as u64);
        let chunks = PieceLayout::with_len(3 * PIECE_LEN)
            .piece_chunks(1)
            .unwrap();
        let chunks_per_piece = PIECE_LEN / 1024;
        let second = ChunkNum(chunks_per_piece)..ChunkNum(2 * chunks_per_piece);
        assert_eq!(chunks, ChunkRanges::from(second));
    }

    #[test]
    fn the_largest_resource_fits_a_u32_piece_index() {
        assert_eq!(
            PieceLayout::with_len(MAX_CONTENT_LEN).piece_count(),
            MAX_PIECES
        );
    }
}
