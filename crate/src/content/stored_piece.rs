//! The stored form of a piece: its bytes, then the hash pairs that prove it, in the order the
//! wire encoding carries them. The bytes come first so a store can hand the page a resource as
//! slices of its piece files; the pairs let a tab serve the piece again after a reload without
//! the whole tree.

use bao_tree::iter::{BaoChunk, ResponseIterRef};
use bytes::{BufMut, Bytes, BytesMut};

use super::piece_layout::PieceLayout;
use super::piece_proof::{PieceError, VerifiedPiece};

const PAIR_LEN: usize = 64;

/// The stored form of a verified piece.
pub fn stored_form(piece: &VerifiedPiece) -> Bytes {
    let pairs = piece.hash_pairs();
    let mut out = BytesMut::with_capacity(piece.data().len() + pairs.len() * PAIR_LEN);
    out.put_slice(piece.data());
    for (_, (left, right)) in pairs {
        out.put_slice(left.as_bytes());
        out.put_slice(right.as_bytes());
    }
    out.freeze()
}

/// Turns a wire encoding of piece `index` into its stored form. Checks only the shape; the
/// caller verified (or produced) the encoding.
pub fn stored_from_encoded(
    layout: &PieceLayout,
    index: u32,
    encoded: &[u8],
) -> Result<Bytes, PieceError> {
    let (_, pairs_len) = sized_shape(layout, index, encoded.len())?;
    let mut data = BytesMut::with_capacity(encoded.len());
    let mut pairs = Vec::with_capacity(pairs_len);
    let mut rest = encoded;
    for item in items(layout, index)? {
        let (part, after) = rest.split_at(item_len(&item));
        match item {
            BaoChunk::Parent { .. } => pairs.extend_from_slice(part),
            BaoChunk::Leaf { .. } => data.put_slice(part),
        }
        rest = after;
    }
    data.put_slice(&pairs);
    Ok(data.freeze())
}

/// Turns the stored form of piece `index` back into its wire encoding. Checks only the shape:
/// whoever receives it verifies.
pub fn encoded_from_stored(
    layout: &PieceLayout,
    index: u32,
    stored: &[u8],
) -> Result<Bytes, PieceError> {
    let (data_len, _) = sized_shape(layout, index, stored.len())?;
    let (mut data, mut pairs) = stored.split_at(data_len);
    let mut out = BytesMut::with_capacity(stored.len());
    for item in items(layout, index)? {
        let source = match item {
            BaoChunk::Parent { .. } => &mut pairs,
            BaoChunk::Leaf { .. } => &mut data,
        };
        let len = item_len(&item);
        out.put_slice(&source[..len]);
        *source = &source[len..];
    }
    Ok(out.freeze())
}

/// Bytes of proof (hash pairs) stored after piece `index`'s data.
pub fn proof_len(layout: &PieceLayout, index: u32) -> Result<usize, PieceError> {
    piece_shape(layout, index).map(|(_, pairs)| pairs)
}

/// The shape of piece `index`, checked against the `len` bytes at hand.
fn sized_shape(layout: &PieceLayout, index: u32, len: usize) -> Result<(usize, usize), PieceError> {
    let (data, pairs) = piece_shape(layout, index)?;
    if len != data + pairs {
        return Err(PieceError::Truncated);
    }
    Ok((data, pairs))
}

/// Bytes of data and of hash pairs in piece `index`'s encoding.
fn piece_shape(layout: &PieceLayout, index: u32) -> Result<(usize, usize), PieceError> {
    let (mut data, mut pairs) = (0, 0);
    for item in items(layout, index)? {
        match item {
            BaoChunk::Parent { .. } => pairs += PAIR_LEN,
            BaoChunk::Leaf { size, .. } => data += size,
        }
    }
    Ok((data, pairs))
}

fn items(layout: &PieceLayout, index: u32) -> Result<Vec<BaoChunk>, PieceError> {
    let chunks = layout.piece_chunks(index).ok_or(PieceError::OutOfRange {
        index,
        len: layout.len(),
    })?;
    Ok(ResponseIterRef::new(layout.tree(), &chunks).collect())
}

fn item_len(item: &BaoChunk) -> usize {
    match item {
        BaoChunk::Parent { .. } => PAIR_LEN,
        BaoChunk::Leaf { size, .. } => *size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::content_hasher::ContentHasher;
    use crate::content::piece_proof::{encode_piece, verify_piece};

    #[test]
    fn stored_form_holds_the_bytes_first_and_round_trips_to_the_encoding() {
        for len in [0usize, 1, 20_000, 256 * 1024, 3 * 256 * 1024 + 999] {
            let data: Vec<u8> = (0..len).map(|i| (i / 7) as u8).collect();
            let mut hasher = ContentHasher::new(len as u64).unwrap();
            hasher.update(&data).unwrap();
            let (id, outboard) = hasher.finish().unwrap();
            let layout = PieceLayout::of(&id);
            for index in 0..layout.piece_count() {
                let range = layout.piece_bytes(index).unwrap();
                let bytes = &data[range.start as usize..range.end as usize];
                let encoded = encode_piece(&outboard, index, bytes).unwrap();
                let stored = stored_from_encoded(&layout, index, &encoded).unwrap();
                assert_eq!(&stored[..bytes.len()], bytes);
                let verified = verify_piece(&id, index, &encoded).unwrap();
                assert_eq!(stored_form(&verified), stored);
                assert_eq!(
                    encoded_from_stored(&layout, index, &stored).unwrap(),
                    encoded
                );
                assert!(matches!(
                    encoded_from_stored(&layout, index, &stored[1..]),
                    Err(PieceError::Truncated)
                ));
            }
        }
    }
}
