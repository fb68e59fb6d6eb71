//! [`ContentId`]: the name of a resource, its BLAKE3 root hash and its length.

use std::fmt;
use std::str::FromStr;

/// Largest resource peerfetch names: 64 GiB, so a piece bitfield stays within one message.
pub const MAX_CONTENT_LEN: u64 = 64 << 30;

/// A resource's BLAKE3 root hash and length in bytes. Its string form, `<64 hex digits>-<len>`,
/// is safe in URLs and fragments.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentId {
    hash: blake3::Hash,
    len: u64,
}

/// Why a string or value is not a content id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentIdError {
    /// Not `<hash>-<len>`.
    #[error("a content id is <64 hex digits>-<length>, got {0:?}")]
    Format(String),
    /// The hash part is not 64 hex digits.
    #[error("the hash of a content id is 64 hex digits")]
    Hash,
    /// The length is not a number, or exceeds [`MAX_CONTENT_LEN`].
    #[error("content length must be a number of at most {MAX_CONTENT_LEN} bytes")]
    Len,
}

impl ContentId {
    /// Names content of `len` bytes whose BLAKE3 hash is `hash`.
    pub fn new(hash: blake3::Hash, len: u64) -> Result<Self, ContentIdError> {
        if len > MAX_CONTENT_LEN {
            return Err(ContentIdError::Len);
        }
        Ok(Self { hash, len })
    }

    /// The BLAKE3 root hash.
    pub fn hash(&self) -> blake3::Hash {
        self.hash
    }

    /// The length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the content has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.hash.to_hex(), self.len)
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

impl FromStr for ContentId {
    type Err = ContentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (hash, len) = s
            .split_once('-')
            .ok_or_else(|| ContentIdError::Format(s.chars().take(100).collect()))?;
        if hash.len() != 64 {
            return Err(ContentIdError::Hash);
        }
        let hash = blake3::Hash::from_hex(hash).map_err(|_| ContentIdError::Hash)?;
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ContentIdError::Len);
        }
        let len = len.parse().map_err(|_| ContentIdError::Len)?;
        Self::new(hash, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_through_its_string() {
        let id = ContentId::new(blake3::hash(b"hello"), 5).unwrap();
        let text = id.to_string();
        assert_eq!(text.len(), 66);
        assert!(text.ends_with("-5"));
        assert_eq!(text.parse::<ContentId>().unwrap(), id);
    }

    #[test]
    fn rejects_malformed_strings_with_the_reason() {
        let hash = blake3::hash(b"x").to_hex();
        assert!(matches!(
            "nohyphen".parse::<ContentId>(),
            Err(ContentIdError::Format(_))
        ));
        assert_eq!("abc-1".parse::<ContentId>(), Err(ContentIdError::Hash));
        assert_eq!(
            format!("{}-1", "z".repeat(64)).parse::<ContentId>(),
            Err(ContentIdError::Hash)
        );
        for len in ["", "+1", "-1", "1e3", "99999999999999999999999"] {
            assert_eq!(
                format!("{hash}-{len}").parse::<ContentId>(),
                Err(ContentIdError::Len),
                "{len:?}"
            );
        }
        assert_eq!(
            format!("{hash}-{}", MAX_CONTENT_LEN + 1).parse::<ContentId>(),
            Err(ContentIdError::Len)
        );
    }

    proptest! {
        #[test]
        fn any_string_parses_or_errs_without_panicking(s in ".{0,200}") {
            let _ = s.parse::<ContentId>();
        }

        #[test]
        fn every_id_round_trips(bytes in any::<[u8; 32]>(), len in 0..=MAX_CONTENT_LEN) {
            let id = ContentId::new(blake3::Hash::from_bytes(bytes), len).unwrap();
            prop_assert_eq!(id.to_string().parse::<ContentId>().unwrap(), id);
        }
    }
}
