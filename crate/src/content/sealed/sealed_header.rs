//! The clear start of sealed content: [`MAGIC`], then a commitment to the key. A tab tells
//! sealed content from plain by the magic, and a wrong key by the commitment, before any
//! decryption; the commitment also binds the content to one key (AES-GCM alone does not: a
//! sharer could make one ciphertext that opens to two files under two keys).

use super::share_key::ShareKey;

/// Sealed content starts with these bytes (format version 1).
pub const MAGIC: [u8; 16] = *b"peerfetch/seal/1";

/// Bytes of the clear header: [`MAGIC`] and the key's commitment.
pub const HEADER_LEN: usize = MAGIC.len() + 32;

/// The BLAKE3 key-derivation context of the commitment.
const COMMITMENT_CONTEXT: &str = "peerfetch 2026-12 sealed content key commitment v1";

/// What the clear header says about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The content does not start with [`MAGIC`].
    #[error("not sealed content")]
    NotSealed,
    /// The header commits to another key.
    #[error("the key does not open this content")]
    WrongKey,
}

/// The header of content sealed under `key`.
pub fn header(key: &ShareKey) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..MAGIC.len()].copy_from_slice(&MAGIC);
    header[MAGIC.len()..].copy_from_slice(&commitment(key));
    header
}

/// Whether content whose first bytes are `start` is sealed.
pub fn is_sealed(start: &[u8]) -> bool {
    start.starts_with(&MAGIC)
}

/// Checks that content starting with `start` is sealed under `key`.
pub fn check_header(start: &[u8], key: &ShareKey) -> Result<(), HeaderError> {
    if !is_sealed(start) {
        return Err(HeaderError::NotSealed);
    }
    match start.get(MAGIC.len()..HEADER_LEN) {
        Some(committed) if committed == commitment(key) => Ok(()),
        _ => Err(HeaderError::WrongKey),
    }
}

fn commitment(key: &ShareKey) -> [u8; 32] {
    blake3::derive_key(COMMITMENT_CONTEXT, key.bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_its_key_only() {
        let key = ShareKey::from_bytes([1; 32]);
        let start = header(&key);
        assert!(is_sealed(&start));
        assert_eq!(check_header(&start, &key), Ok(()));
        let other = ShareKey::from_bytes([2; 32]);
        assert_eq!(check_header(&start, &other), Err(HeaderError::WrongKey));
        assert_eq!(check_header(&start[..20], &key), Err(HeaderError::WrongKey));
        assert_eq!(
            check_header(b"plain bytes", &key),
            Err(HeaderError::NotSealed)
        );
        assert!(
            !start.windows(32).any(|w| w == key.bytes()),
            "the key itself is not in it"
        );
    }
}
