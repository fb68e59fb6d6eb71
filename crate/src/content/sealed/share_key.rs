//! The key of sealed content: 32 random bytes, written in share links as base64url.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// Bytes in a key (AES-256).
pub const KEY_LEN: usize = 32;

/// A key that seals one content.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareKey([u8; KEY_LEN]);

/// Why a link's key text is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareKeyError {
    /// Not base64url.
    #[error("the key is not base64url: {0}")]
    NotBase64(String),
    /// Decodes to the wrong number of bytes.
    #[error("the key has {0} bytes, not {KEY_LEN}")]
    WrongLength(usize),
}

impl ShareKey {
    /// The key made of `bytes` (fresh random ones for a new share).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads the key from its link text (base64url, no padding).
    pub fn parse(text: &str) -> Result<Self, ShareKeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|e| ShareKeyError::NotBase64(e.to_string()))?;
        let len = bytes.len();
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| ShareKeyError::WrongLength(len))
    }

    /// The key's link text (base64url, no padding: 43 characters).
    pub fn to_link_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The raw key bytes, for the cipher.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// Never prints the key itself (logs and error messages must not leak it).
impl std::fmt::Debug for ShareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_its_link_text() {
        let key = ShareKey::from_bytes(std::array::from_fn(|i| i as u8 * 7));
        let text = key.to_link_text();
        assert_eq!(text.len(), 43);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(ShareKey::parse(&text), Ok(key));
    }

    #[test]
    fn bad_key_texts_say_why() {
        assert!(matches!(
            ShareKey::parse("not base64!"),
            Err(ShareKeyError::NotBase64(_))
        ));
        assert_eq!(ShareKey::parse("AAAA"), Err(ShareKeyError::WrongLength(3)));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = ShareKey::from_bytes([0xab; KEY_LEN]);
        assert!(!format!("{key:?}").contains("ab"));
    }
}
