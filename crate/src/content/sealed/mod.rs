//! Sealed content: a file encrypted piece by piece under a key that travels only in the share
//! link's fragment, so the server, relays and peers without the link handle ciphertext only.
//!
//! The content id names the **sealed** bytes (their BLAKE3 root, like any content), so every
//! peer verifies what it receives, and bans a liar, without the key. Layout (version 1):
//!
//! - Sealed content is cut into 1 MiB pieces exactly like plain content ([`PIECE_LEN`]); each
//!   piece holds one AES-256-GCM block (ciphertext, then its 16-byte tag), so each piece
//!   decrypts on its own, in any order.
//! - Piece 0 starts with a clear [`header`]: [`MAGIC`], so a tab that
//!   downloads sealed content without a key says so instead of handing out ciphertext, then a
//!   commitment to the key, so a wrong key is known before any decryption and the content
//!   opens under one key only.
//! - Block `i`'s nonce is the piece index (big-endian, in the last 8 of 12 bytes); its
//!   associated data is [`MAGIC`] and whether it is the last block. One key seals one content.
//! - The plaintext starts with the file's [`ContentMeta`] (name and type, so they are
//!   encrypted too), then the file's bytes.
//!
//! The cipher itself is WebCrypto's in the browser; tests use the RustCrypto `aes-gcm` crate,
//! which computes the same AES-256-GCM.
//!
//! [`PIECE_LEN`]: crate::content::piece_layout::PIECE_LEN
//! [`ContentMeta`]: crate::content::content_meta::ContentMeta

#[cfg(test)]
mod round_trip_tests;
mod sealed_header;
mod sealed_layout;
mod sealed_meta;
mod share_key;

pub use sealed_header::{check_header, header, is_sealed, HeaderError, HEADER_LEN, MAGIC};
pub use sealed_layout::{SealedLayout, SealedLayoutError, TAG_LEN};
pub use sealed_meta::{decode_meta, encode_meta, SealedMetaError, MAX_META_LEN};
pub use share_key::{ShareKey, ShareKeyError, KEY_LEN};
