//! Where each AES-GCM block of sealed content lies, and its nonce and associated data.

use std::ops::Range;

use super::sealed_header::{HEADER_LEN, MAGIC};
use crate::content::content_id::MAX_CONTENT_LEN;
use crate::content::piece_layout::PIECE_LEN;

/// Bytes of an AES-GCM tag, at the end of every block.
pub const TAG_LEN: u64 = 16;

const CLEAR_LEN: u64 = HEADER_LEN as u64;
/// Plaintext bytes in block 0, which shares piece 0 with the clear header.
const FIRST_CAPACITY: u64 = PIECE_LEN - CLEAR_LEN - TAG_LEN;
/// Plaintext bytes in every later block.
const CAPACITY: u64 = PIECE_LEN - TAG_LEN;

/// The blocks of one sealed content: block `i` fills piece `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedLayout {
    plain_len: u64,
    blocks: u32,
}

/// Why a length has no sealed layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealedLayoutError {
    /// Sealed, it would pass the largest content.
    #[error("{0} bytes are too many to seal (sealed content is at most {MAX_CONTENT_LEN} bytes)")]
    TooLarge(u64),
    /// No plaintext seals to this many bytes.
    #[error("{0} bytes cannot be sealed content")]
    NotSealedLength(u64),
}

impl SealedLayout {
    /// The layout that seals `plain_len` bytes of plaintext.
    pub fn for_plain(plain_len: u64) -> Result<Self, SealedLayoutError> {
        let blocks = if plain_len <= FIRST_CAPACITY {
            1
        } else {
            1 + (plain_len - FIRST_CAPACITY).div_ceil(CAPACITY)
        };
        let layout = Self {
            plain_len,
            blocks: u32::try_from(blocks).map_err(|_| SealedLayoutError::TooLarge(plain_len))?,
        };
        if layout.sealed_len() > MAX_CONTENT_LEN {
            return Err(SealedLayoutError::TooLarge(plain_len));
        }
        Ok(layout)
    }

    /// The layout of `sealed_len` bytes of sealed content.
    pub fn of_sealed(sealed_len: u64) -> Result<Self, SealedLayoutError> {
        let not_sealed = SealedLayoutError::NotSealedLength(sealed_len);
        if !(CLEAR_LEN + TAG_LEN..=MAX_CONTENT_LEN).contains(&sealed_len) {
            return Err(not_sealed);
        }
        let blocks = sealed_len.div_ceil(PIECE_LEN);
        // A block holds at least one plaintext byte, unless it is the only one.
        let last_piece = sealed_len - (blocks - 1) * PIECE_LEN;
        if blocks > 1 && last_piece <= TAG_LEN {
            return Err(not_sealed);
        }
        let plain_len = sealed_len - CLEAR_LEN - TAG_LEN * blocks;
        Self::for_plain(plain_len).map_err(|_| not_sealed)
    }

    /// Plaintext bytes.
    pub fn plain_len(&self) -> u64 {
        self.plain_len
    }

    /// Sealed bytes: the clear header, then every block's ciphertext and tag.
    pub fn sealed_len(&self) -> u64 {
        CLEAR_LEN + self.plain_len + TAG_LEN * u64::from(self.blocks)
    }

    /// Blocks, the same as the sealed content's pieces.
    pub fn blocks(&self) -> u32 {
        self.blocks
    }

    /// The plaintext bytes block `index` seals.
    pub fn plain_range(&self, index: u32) -> Option<Range<u64>> {
        if index >= self.blocks {
            return None;
        }
        let start = match index {
            0 => 0,
            i => FIRST_CAPACITY + u64::from(i - 1) * CAPACITY,
        };
        let capacity = if index == 0 { FIRST_CAPACITY } else { CAPACITY };
        Some(start..(start + capacity).min(self.plain_len))
    }

    /// Where block `index` (ciphertext, then tag) lies in the sealed content: all of piece
    /// `index`, except the clear header at the start of piece 0.
    pub fn sealed_range(&self, index: u32) -> Option<Range<u64>> {
        let plain = self.plain_range(index)?;
        let start = match index {
            0 => CLEAR_LEN,
            i => u64::from(i) * PIECE_LEN,
        };
        Some(start..start + (plain.end - plain.start) + TAG_LEN)
    }

    /// Bytes of clear header piece `index` starts with, before its block.
    pub fn header_len(index: u32) -> usize {
        if index == 0 {
            HEADER_LEN
        } else {
            0
        }
    }

    /// What block `index` seals when the plaintext is `meta_len` bytes of metadata, then the
    /// file: its share of the metadata, and its share of the file.
    pub fn block_parts(&self, index: u32, meta_len: u64) -> Option<(Range<usize>, Range<u64>)> {
        let plain = self.plain_range(index)?;
        let meta = plain.start.min(meta_len) as usize..plain.end.min(meta_len) as usize;
        let file = plain.start.max(meta_len) - meta_len..plain.end.max(meta_len) - meta_len;
        Some((meta, file))
    }

    /// Block `index`'s nonce: the index, big-endian, in the last 8 of 12 bytes.
    pub fn nonce(index: u32) -> [u8; 12] {
        let mut nonce = [0; 12];
        nonce[4..].copy_from_slice(&u64::from(index).to_be_bytes());
        nonce
    }

    /// Block `index`'s associated data: [`MAGIC`], then 1 for the last block and 0 before it
    /// (a sealed content cut short after a block boundary does not decrypt).
    pub fn associated_data(&self, index: u32) -> [u8; 17] {
        let mut data = [0; 17];
        data[..16].copy_from_slice(&MAGIC);
        data[16] = u8::from(index + 1 == self.blocks);
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::piece_layout::PieceLayout;
    use proptest::prelude::*;

    fn lens() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..3 * PIECE_LEN,
            Just(FIRST_CAPACITY),
            Just(FIRST_CAPACITY + 1),
            Just(FIRST_CAPACITY + CAPACITY),
            Just(FIRST_CAPACITY + CAPACITY + 1),
            (0..MAX_CONTENT_LEN / 2),
        ]
    }

    proptest! {
        #[test]
        fn blocks_fill_the_pieces_and_cover_the_plaintext(plain_len in lens()) {
            let layout = SealedLayout::for_plain(plain_len).unwrap();
            prop_assert_eq!(SealedLayout::of_sealed(layout.sealed_len()), Ok(layout));
            let pieces = PieceLayout::with_len(layout.sealed_len());
            prop_assert_eq!(pieces.piece_count(), layout.blocks());
            let last = layout.blocks() - 1;
            for index in [0, 1, last / 2, last].into_iter().filter(|i| *i <= last) {
                let plain = layout.plain_range(index).unwrap();
                let sealed = layout.sealed_range(index).unwrap();
                let piece = pieces.piece_bytes(index).unwrap();
                prop_assert_eq!(sealed.end - sealed.start, plain.end - plain.start + TAG_LEN);
                prop_assert_eq!(sealed.end, piece.end);
                prop_assert_eq!(sealed.start, piece.start + if index == 0 { CLEAR_LEN } else { 0 });
                let previous_end =
                    index.checked_sub(1).map_or(0, |i| layout.plain_range(i).unwrap().end);
                prop_assert_eq!(plain.start, previous_end);
            }
            prop_assert_eq!(layout.plain_range(layout.blocks() - 1).unwrap().end, plain_len);
            prop_assert_eq!(layout.plain_range(layout.blocks()), None);
        }

        #[test]
        fn any_other_length_is_refused(sealed_len in 0..4 * PIECE_LEN) {
            if let Ok(layout) = SealedLayout::of_sealed(sealed_len) {
                prop_assert_eq!(layout.sealed_len(), sealed_len);
            }
        }
    }

    #[test]
    fn lengths_that_no_plaintext_seals_to_are_refused() {
        for len in [
            0,
            CLEAR_LEN + TAG_LEN - 1,
            PIECE_LEN + 1,
            PIECE_LEN + TAG_LEN,
        ] {
            assert_eq!(
                SealedLayout::of_sealed(len),
                Err(SealedLayoutError::NotSealedLength(len))
            );
        }
        assert_eq!(
            SealedLayout::of_sealed(CLEAR_LEN + TAG_LEN)
                .unwrap()
                .plain_len(),
            0
        );
        assert_eq!(
            SealedLayout::of_sealed(PIECE_LEN + TAG_LEN + 1)
                .unwrap()
                .plain_len(),
            FIRST_CAPACITY + 1
        );
    }

    #[test]
    fn too_much_plaintext_is_refused() {
        let largest = MAX_CONTENT_LEN - CLEAR_LEN - TAG_LEN * (MAX_CONTENT_LEN / PIECE_LEN);
        assert!(SealedLayout::for_plain(largest).is_ok());
        assert_eq!(
            SealedLayout::for_plain(largest + 1),
            Err(SealedLayoutError::TooLarge(largest + 1))
        );
    }

    #[test]
    fn each_block_seals_its_share_of_the_metadata_then_the_file() {
        let meta_len = 100;
        let layout = SealedLayout::for_plain(meta_len + 2 * PIECE_LEN).unwrap();
        let (meta, file) = layout.block_parts(0, meta_len).unwrap();
        assert_eq!((meta, file), (0..100, 0..FIRST_CAPACITY - meta_len));
        let (meta, file) = layout.block_parts(1, meta_len).unwrap();
        assert_eq!(meta.len(), 0);
        assert_eq!(file.start, FIRST_CAPACITY - meta_len);
        assert_eq!(file.end - file.start, CAPACITY);
        let last = layout.blocks() - 1;
        assert_eq!(
            layout.block_parts(last, meta_len).unwrap().1.end,
            2 * PIECE_LEN
        );
        assert_eq!(layout.block_parts(last + 1, meta_len), None);
    }

    #[test]
    fn nonces_differ_per_block_and_only_the_last_block_says_so() {
        let layout = SealedLayout::for_plain(3 * PIECE_LEN).unwrap();
        assert_ne!(SealedLayout::nonce(0), SealedLayout::nonce(1));
        assert_eq!(SealedLayout::nonce(258)[10..], [1, 2]);
        assert_eq!(layout.associated_data(0)[16], 0);
        assert_eq!(layout.associated_data(layout.blocks() - 1)[16], 1);
    }
}
