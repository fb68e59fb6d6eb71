//! [`Bitfield`]: which pieces of a resource a peer holds, one bit per piece, first piece in the
//! high bit of the first byte (as BitTorrent lays it out).

use super::piece_layout::MAX_PIECES;

/// A set of piece indices below a fixed count.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitfield {
    bits: Vec<u8>,
    len: u32,
    ones: u32,
}

/// Why bytes are not a bitfield for a given piece count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    /// The byte count does not match the piece count.
    #[error("bitfield of {got} bytes for {pieces} pieces (needs {want})")]
    Length {
        /// Bytes received.
        got: usize,
        /// Bytes needed.
        want: usize,
        /// Piece count.
        pieces: u32,
    },
    /// A bit past the last piece is set.
    #[error("bitfield sets bits past the last piece")]
    SpareBits,
}

impl Bitfield {
    /// No pieces out of `len`.
    pub fn empty(len: u32) -> Self {
        let len = len.min(MAX_PIECES);
        Self {
            bits: vec![0; len.div_ceil(8) as usize],
            len,
            ones: 0,
        }
    }

    /// All `len` pieces.
    pub fn full(len: u32) -> Self {
        let mut field = Self::empty(len);
        for index in 0..field.len {
            field.insert(index);
        }
        field
    }

    /// Reads the wire form for `len` pieces.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Result<Self, BitfieldError> {
        let want = len.div_ceil(8) as usize;
        if bytes.len() != want || len > MAX_PIECES {
            return Err(BitfieldError::Length {
                got: bytes.len(),
                want,
                pieces: len,
            });
        }
        let spare = (want as u32 * 8 - len) as u8;
        if spare > 0 && bytes[want - 1] & ((1u8 << spare) - 1) != 0 {
            return Err(BitfieldError::SpareBits);
        }
        Ok(Self {
            bits: bytes.to_vec(),
            len,
            ones: bytes.iter().map(|b| b.count_ones()).sum(),
        })
    }

    /// The wire form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    /// The piece count.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the piece count is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many pieces are in the set.
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is in the set.
    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    /// Whether piece `index` is in the set (false past the end).
    pub fn contains(&self, index: u32) -> bool {
        index < self.len && self.bits[(index / 8) as usize] & (0x80 >> (index % 8)) != 0
    }

    /// Adds piece `index`; returns whether it was new. Indices past the end are ignored.
    pub fn insert(&mut self, index: u32) -> bool {
        if index >= self.len || self.contains(index) {
            return false;
        }
        self.bits[(index / 8) as usize] |= 0x80 >> (index % 8);
        self.ones += 1;
        true
    }

    /// Removes piece `index`; returns whether it was there.
    pub fn remove(&mut self, index: u32) -> bool {
        if !self.contains(index) {
            return false;
        }
        self.bits[(index / 8) as usize] &= !(0x80 >> (index % 8));
        self.ones -= 1;
        true
    }

    /// The pieces in the set, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|i| self.contains(*i))
    }
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spare_bits_and_wrong_lengths_are_refused() {
        assert_eq!(Bitfield::from_bytes(&[0x80], 1).unwrap().count(), 1);
        assert_eq!(
            Bitfield::from_bytes(&[0x40], 1),
            Err(BitfieldError::SpareBits)
        );
        assert!(matches!(
            Bitfield::from_bytes(&[0, 0], 3),
            Err(BitfieldError::Length {
                got: 2,
                want: 1,
                pieces: 3
            })
        ));
        assert_eq!(Bitfield::from_bytes(&[], 0).unwrap().len(), 0);
        assert!(Bitfield::from_bytes(&[], MAX_PIECES + 1).is_err());
    }

    proptest! {
        #[test]
        fn wire_form_round_trips(len in 0u32..2000, picks in proptest::collection::vec(any::<u32>(), 0..300)) {
            let mut field = Bitfield::empty(len);
            for pick in &picks {
                if len > 0 {
                    field.insert(pick % len);
                }
            }
            let back = Bitfield::from_bytes(field.as_bytes(), len).unwrap();
            let mut emptied = back.clone();
            for index in back.iter() {
                prop_assert!(emptied.remove(index));
            }
            prop_assert_eq!(emptied, Bitfield::empty(len));
            prop_assert_eq!(back.count() as usize, back.iter().count());
            prop_assert_eq!(&back, &field);
        }

        #[test]
        fn any_bytes_decode_or_err(bytes in proptest::collection::vec(any::<u8>(), 0..64), len in 0u32..600) {
            if let Ok(field) = Bitfield::from_bytes(&bytes, len) {
                prop_assert!(field.iter().all(|i| i < len));
            }
        }
    }
}
