//! What a share stores, piece by piece: a file's bytes as they are, or sealed under a key
//! ([`crate::content::sealed`]). Pieces are read from the file when asked for, never the whole
//! file into wasm memory; a sealed piece is encrypted again each time (the same key and nonce
//! give the same bytes).

use web_sys::Blob;

use crate::browser::content::cipher::Cipher;
use crate::browser::js::blob::blob_bytes;
use crate::browser::js::error::js_message;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::PieceLayout;
use crate::content::sealed::{encode_meta, SealedLayout};

/// A file to share, and how.
pub(crate) enum ShareSource {
    /// The file's own bytes.
    Plain(Blob),
    /// The file sealed: its name and type, then its bytes, encrypted block by block.
    Sealed {
        blob: Blob,
        /// The encoded [`ContentMeta`] that starts the plaintext.
        meta: Vec<u8>,
        layout: SealedLayout,
        cipher: Cipher,
    },
}

impl ShareSource {
    /// `blob` sealed with `cipher`, named by `meta`; too large a file is refused.
    pub(crate) fn sealed(blob: Blob, meta: &ContentMeta, cipher: Cipher) -> Result<Self, String> {
        let meta = encode_meta(meta).map_err(|e| e.to_string())?;
        let layout = SealedLayout::for_plain(meta.len() as u64 + blob.size() as u64)
            .map_err(|e| e.to_string())?;
        Ok(Self::Sealed {
            blob,
            meta,
            layout,
            cipher,
        })
    }

    /// Bytes of the content the share names (sealed ones for a sealed share).
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Plain(blob) => blob.size() as u64,
            Self::Sealed { layout, .. } => layout.sealed_len(),
        }
    }

    /// The bytes of piece `index` of the content.
    pub(crate) async fn piece(&self, index: u32) -> Result<Vec<u8>, String> {
        match self {
            Self::Plain(blob) => {
                let range = PieceLayout::with_len(self.len())
                    .piece_bytes(index)
                    .ok_or("no such piece")?;
                read(blob, range.start, range.end).await
            }
            Self::Sealed {
                blob,
                meta,
                layout,
                cipher,
            } => {
                let plain = layout.plain_range(index).ok_or("no such piece")?;
                // The plaintext is `meta`, then the file: take this block's share of each.
                let meta_len = meta.len() as u64;
                let mut block = meta
                    .get(plain.start.min(meta_len) as usize..plain.end.min(meta_len) as usize)
                    .unwrap_or_default()
                    .to_vec();
                let file_start = plain.start.max(meta_len) - meta_len;
                let file_end = plain.end.max(meta_len) - meta_len;
                if file_end > file_start {
                    block.extend_from_slice(&read(blob, file_start, file_end).await?);
                }
                let sealed = cipher
                    .seal(
                        &SealedLayout::nonce(index),
                        &layout.associated_data(index),
                        &block,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                Ok([SealedLayout::clear_prefix(index), &sealed].concat())
            }
        }
    }
}

/// Bytes `start..end` of the file.
async fn read(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, String> {
    blob_bytes(blob, start, end)
        .await
        .map_err(|e| format!("cannot read the file: {}", js_message(&e)))
}
