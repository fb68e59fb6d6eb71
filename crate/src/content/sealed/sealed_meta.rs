//! The start of a sealed content's plaintext: the file's name and type, encrypted with it (the
//! server and seeding peers never see them). A little-endian `u32` length, then that much JSON.

use crate::content::content_meta::ContentMeta;

/// Most bytes of the JSON: it must fit block 0 with room to spare.
pub const MAX_META_LEN: usize = 4096;

/// Bytes of the length in front of the JSON.
const LEN_PREFIX: usize = 4;

/// Why the metadata cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealedMetaError {
    /// Longer than [`MAX_META_LEN`].
    #[error("the name and type take {0} bytes, more than {MAX_META_LEN}")]
    TooLong(usize),
    /// The plaintext ends before the metadata does.
    #[error("the sealed content ends inside its name and type")]
    Truncated,
    /// Not the JSON we write.
    #[error("the sealed name and type are malformed: {0}")]
    Malformed(String),
}

/// The bytes that start the plaintext of a file named by `meta`.
pub fn encode_meta(meta: &ContentMeta) -> Result<Vec<u8>, SealedMetaError> {
    let json = serde_json::to_vec(meta).map_err(|e| SealedMetaError::Malformed(e.to_string()))?;
    if json.len() > MAX_META_LEN {
        return Err(SealedMetaError::TooLong(json.len()));
    }
    let mut bytes = (json.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(&json);
    Ok(bytes)
}

/// Reads the metadata at the start of `plaintext`; also returns where the file's bytes start.
pub fn decode_meta(plaintext: &[u8]) -> Result<(ContentMeta, usize), SealedMetaError> {
    let prefix: [u8; LEN_PREFIX] = plaintext
        .get(..LEN_PREFIX)
        .and_then(|p| p.try_into().ok())
        .ok_or(SealedMetaError::Truncated)?;
    let len = u32::from_le_bytes(prefix) as usize;
    if len > MAX_META_LEN {
        return Err(SealedMetaError::TooLong(len));
    }
    let end = LEN_PREFIX + len;
    let json = plaintext
        .get(LEN_PREFIX..end)
        .ok_or(SealedMetaError::Truncated)?;
    let meta =
        serde_json::from_slice(json).map_err(|e| SealedMetaError::Malformed(e.to_string()))?;
    Ok((meta, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_survives_and_says_where_the_file_starts() {
        let meta = ContentMeta {
            name: Some("holiday \u{1f3d6}.jpg".into()),
            mime: Some("image/jpeg".into()),
        };
        let mut plaintext = encode_meta(&meta).unwrap();
        let start = plaintext.len();
        plaintext.extend_from_slice(b"file bytes");
        assert_eq!(decode_meta(&plaintext), Ok((meta, start)));
        assert_eq!(&plaintext[start..], b"file bytes");
    }

    #[test]
    fn bad_metadata_fails_saying_why() {
        let long = ContentMeta {
            name: Some("x".repeat(MAX_META_LEN)),
            mime: None,
        };
        assert!(matches!(
            encode_meta(&long),
            Err(SealedMetaError::TooLong(_))
        ));
        assert_eq!(decode_meta(&[1, 0]), Err(SealedMetaError::Truncated));
        assert_eq!(
            decode_meta(&[10, 0, 0, 0, b'{']),
            Err(SealedMetaError::Truncated)
        );
        assert_eq!(
            decode_meta(&u32::MAX.to_le_bytes()),
            Err(SealedMetaError::TooLong(u32::MAX as usize))
        );
        assert!(matches!(
            decode_meta(b"\x01\0\0\x003"),
            Err(SealedMetaError::Malformed(_))
        ));
    }
}
