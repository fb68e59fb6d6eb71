//! One piece on the wire: its bytes interleaved with the tree hashes that prove them
//! (bao-tree's response encoding for the piece's chunks), and the check on arrival.

use std::io;

use bao_tree::io::sync::{encode_ranges_validated, DecodeResponseIter, OutboardMut};
use bao_tree::io::{BaoContentItem, DecodeError};
use bao_tree::TreeNode;
use bytes::{BufMut, Bytes, BytesMut};
use positioned_io::ReadAt;

use super::content_id::ContentId;
use super::piece_layout::{PieceLayout, GROUPS_PER_PIECE, PIECE_LEN};
use super::Outboard;

/// Largest encoded piece: a whole piece plus the hash pairs on its path from the root (at most
/// one per tree level, 64 levels) and inside it (one fewer than its chunk groups).
pub const MAX_ENCODED_PIECE: usize = PIECE_LEN as usize + (64 + GROUPS_PER_PIECE as usize - 1) * 64;

/// A piece whose every chunk group matched the content's root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPiece {
    index: u32,
    data: Bytes,
    hash_pairs: Vec<(TreeNode, (blake3::Hash, blake3::Hash))>,
}

/// Why a piece was refused.
#[derive(Debug, thiserror::Error)]
pub enum PieceError {
    /// The content has no such piece.
    #[error("piece {index} is out of range for {len} bytes")]
    OutOfRange {
        /// Requested piece.
        index: u32,
        /// Content length.
        len: u64,
    },
    /// A chunk group's bytes do not hash to what the tree says.
    #[error("chunk group at byte {0} of the piece failed verification")]
    ChunkGroupMismatch(u64),
    /// A hash pair does not hash to its parent.
    #[error("hash pair {0:?} failed verification")]
    HashMismatch(TreeNode),
    /// The encoding stops early or runs on past the piece.
    #[error("encoded piece has the wrong length")]
    Truncated,
    /// The local bytes or outboard needed to encode the piece are missing or corrupt.
    #[error("cannot encode piece {index}: {reason}")]
    Encode {
        /// Piece.
        index: u32,
        /// What went wrong.
        reason: String,
    },
}

impl VerifiedPiece {
    /// Index of the piece in its content.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The verified bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The hash pairs that proved this piece, in wire order.
    pub fn hash_pairs(&self) -> &[(TreeNode, (blake3::Hash, blake3::Hash))] {
        &self.hash_pairs
    }

    /// Records the hash pairs that proved this piece, so the piece can be served onward.
    pub fn save_hashes(&self, outboard: &mut Outboard) {
        for (node, pair) in &self.hash_pairs {
            outboard
                .save(*node, pair)
                .expect("the outboard is sized for the tree");
        }
    }
}

/// An outboard for content of which nothing is held yet; pieces fill it as they are verified.
pub fn empty_outboard(id: &ContentId) -> Outboard {
    let tree = PieceLayout::of(id).tree();
    Outboard {
        root: id.hash(),
        tree,
        data: vec![0; tree.outboard_size() as usize],
    }
}

/// Encodes piece `index` (whose bytes are `data`) with its proof, checking the bytes and hashes
/// against the outboard on the way so corrupt local state is never sent.
pub fn encode_piece(outboard: &Outboard, index: u32, data: &[u8]) -> Result<Bytes, PieceError> {
    let layout = PieceLayout::with_len(outboard.tree.size());
    let out_of_range = || PieceError::OutOfRange {
        index,
        len: layout.len(),
    };
    let bytes = layout.piece_bytes(index).ok_or_else(out_of_range)?;
    let chunks = layout.piece_chunks(index).ok_or_else(out_of_range)?;
    if data.len() as u64 != bytes.end - bytes.start {
        return Err(PieceError::Encode {
            index,
            reason: format!(
                "{} bytes given for a {}-byte piece",
                data.len(),
                bytes.end - bytes.start
            ),
        });
    }
    let source = PieceAt {
        start: bytes.start,
        data,
    };
    let mut out = BytesMut::with_capacity(data.len() + 2048).writer();
    encode_ranges_validated(source, outboard, &chunks, &mut out).map_err(|e| {
        PieceError::Encode {
            index,
            reason: e.to_string(),
        }
    })?;
    Ok(out.into_inner().freeze())
}

/// Checks an encoded piece against `id`'s root hash, chunk group by chunk group, and returns
/// its bytes only if every one matched and nothing is left over.
pub fn verify_piece(
    id: &ContentId,
    index: u32,
    encoded: &[u8],
) -> Result<VerifiedPiece, PieceError> {
    let layout = PieceLayout::of(id);
    let out_of_range = || PieceError::OutOfRange {
        index,
        len: layout.len(),
    };
    let bytes = layout.piece_bytes(index).ok_or_else(out_of_range)?;
    let chunks = layout.piece_chunks(index).ok_or_else(out_of_range)?;
    let mut reader = encoded;
    let mut data = BytesMut::with_capacity((bytes.end - bytes.start) as usize);
    let mut hash_pairs = Vec::new();
    for item in DecodeResponseIter::new(id.hash(), layout.tree(), &mut reader, &chunks) {
        match item.map_err(|e| decode_error(e, bytes.start))? {
            BaoContentItem::Parent(parent) => hash_pairs.push((parent.node, parent.pair)),
            BaoContentItem::Leaf(leaf) => data.put(leaf.data),
        }
    }
    if !reader.is_empty() || data.len() as u64 != bytes.end - bytes.start {
        return Err(PieceError::Truncated);
    }
    Ok(VerifiedPiece {
        index,
        data: data.freeze(),
        hash_pairs,
    })
}

fn decode_error(error: DecodeError, piece_start: u64) -> PieceError {
    match error {
        DecodeError::LeafHashMismatch(chunk) => {
            PieceError::ChunkGroupMismatch(chunk.to_bytes() - piece_start)
        }
        DecodeError::ParentHashMismatch(node) => PieceError::HashMismatch(node),
        DecodeError::ParentNotFound(_) | DecodeError::LeafNotFound(_) | DecodeError::Io(_) => {
            PieceError::Truncated
        }
    }
}

/// One piece's bytes, readable at their offsets in the content.
struct PieceAt<'a> {
    start: u64,
    data: &'a [u8],
}

impl ReadAt for PieceAt<'_> {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let offset = pos
            .checked_sub(self.start)
            .filter(|offset| *offset <= self.data.len() as u64)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "outside the piece"))?;
        let available = &self.data[offset as usize..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::content_hasher::ContentHasher;

    fn shared(len: usize) -> (Vec<u8>, ContentId, Outboard) {
        let data: Vec<u8> = (0..len)
            .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
            .collect();
        let mut hasher = ContentHasher::new(len as u64).unwrap();
        hasher.update(&data).unwrap();
        let (id, outboard) = hasher.finish().unwrap();
        (data, id, outboard)
    }

    fn piece_of<'a>(data: &'a [u8], id: &ContentId, index: u32) -> &'a [u8] {
        let range = PieceLayout::of(id).piece_bytes(index).unwrap();
        &data[range.start as usize..range.end as usize]
    }

    #[test]
    fn every_piece_round_trips_and_proves_onward() {
        for len in [
            1,
            16 * 1024,
            PIECE_LEN as usize,
            3 * PIECE_LEN as usize + 12_345,
        ] {
            let (data, id, outboard) = shared(len);
            let mut downloaded = empty_outboard(&id);
            for index in 0..PieceLayout::of(&id).piece_count() {
                let encoded = encode_piece(&outboard, index, piece_of(&data, &id, index)).unwrap();
                assert!(encoded.len() <= MAX_ENCODED_PIECE);
                let piece = verify_piece(&id, index, &encoded).unwrap();
                assert_eq!(&piece.data()[..], piece_of(&data, &id, index));
                piece.save_hashes(&mut downloaded);
                // What a downloader saved is enough to serve the same piece to the next peer.
                let again = encode_piece(&downloaded, index, piece.data()).unwrap();
                assert_eq!(again, encoded);
            }
        }
    }

    #[test]
    fn any_flipped_byte_is_caught() {
        let (data, id, outboard) = shared(PIECE_LEN as usize * 2);
        let encoded = encode_piece(&outboard, 1, piece_of(&data, &id, 1)).unwrap();
        for at in (0..encoded.len()).step_by(997).chain([encoded.len() - 1]) {
            let mut bad = encoded.to_vec();
            bad[at] ^= 0x40;
            assert!(verify_piece(&id, 1, &bad).is_err(), "flip at {at} accepted");
        }
    }

    #[test]
    fn a_bad_chunk_group_is_located() {
        let (data, id, outboard) = shared(PIECE_LEN as usize);
        let mut encoded = encode_piece(&outboard, 0, &data).unwrap().to_vec();
        let last = encoded.len() - 1;
        encoded[last] ^= 1;
        assert!(matches!(
            verify_piece(&id, 0, &encoded),
            Err(PieceError::ChunkGroupMismatch(offset)) if offset == PIECE_LEN - 16 * 1024
        ));
    }

    #[test]
    fn wrong_length_wrong_index_and_wrong_content_are_refused() {
        let (data, id, outboard) = shared(PIECE_LEN as usize * 2);
        let encoded = encode_piece(&outboard, 0, piece_of(&data, &id, 0)).unwrap();
        let mut longer = encoded.to_vec();
        longer.push(0);
        assert!(matches!(
            verify_piece(&id, 0, &longer),
            Err(PieceError::Truncated)
        ));
        assert!(matches!(
            verify_piece(&id, 0, &encoded[..encoded.len() - 1]),
            Err(PieceError::Truncated)
        ));
        assert!(verify_piece(&id, 1, &encoded).is_err());
        assert!(matches!(
            verify_piece(&id, 2, &encoded),
            Err(PieceError::OutOfRange { index: 2, .. })
        ));
        let (_, other, _) = shared(PIECE_LEN as usize * 2 + 1);
        assert!(verify_piece(&other, 0, &encoded).is_err());
    }

    #[test]
    fn corrupt_local_bytes_are_not_encoded() {
        let (mut data, id, outboard) = shared(PIECE_LEN as usize);
        data[5] ^= 1;
        assert!(matches!(
            encode_piece(&outboard, 0, &data),
            Err(PieceError::Encode { index: 0, .. })
        ));
        data[5] ^= 1;
        // Hashes never received are not invented either.
        assert!(encode_piece(&empty_outboard(&id), 0, &data).is_err());
    }
}
