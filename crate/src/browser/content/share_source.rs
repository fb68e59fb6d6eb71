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
use crate::content::sealed::{
    encode_meta, header, is_sealed, SealedLayout, SealedLayoutError, SealedMetaError, ShareKey,
    MAGIC,
};

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
        /// The clear start of piece 0.
        header: Vec<u8>,
        cipher: Cipher,
    },
}

/// Why a file cannot be sealed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SealError {
    /// Its name and type are too long.
    #[error(transparent)]
    Meta(#[from] SealedMetaError),
    /// It is too large.
    #[error(transparent)]
    Layout(#[from] SealedLayoutError),
}

impl ShareSource {
    /// `blob` as it is; refused if it starts like sealed content, which downloads would take
    /// for sealed and never hand out without a key.
    pub(crate) async fn plain(blob: Blob) -> Result<Self, String> {
        let start = read(&blob, 0, (MAGIC.len() as u64).min(blob.size() as u64)).await?;
        if is_sealed(&start) {
            return Err(
                "the file starts like sealed content (peerfetch/seal/1): share it with \
                 encrypt: true"
                    .into(),
            );
        }
        Ok(Self::Plain(blob))
    }

    /// `blob` sealed under `key` (imported as `cipher`), named by `meta`.
    pub(crate) fn sealed(
        blob: Blob,
        meta: &ContentMeta,
        key: &ShareKey,
        cipher: Cipher,
    ) -> Result<Self, SealError> {
        let meta = encode_meta(meta)?;
        let layout = SealedLayout::for_plain(meta.len() as u64 + blob.size() as u64)?;
        Ok(Self::Sealed {
            blob,
            meta,
            layout,
            header: header(key).to_vec(),
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
                header,
                cipher,
            } => {
                let (meta_part, file_part) = layout
                    .block_parts(index, meta.len() as u64)
                    .ok_or("no such piece")?;
                let mut block = meta[meta_part].to_vec();
                if !file_part.is_empty() {
                    block.extend_from_slice(&read(blob, file_part.start, file_part.end).await?);
                }
                let sealed = cipher
                    .seal(
                        &SealedLayout::nonce(index),
                        &layout.associated_data(index),
                        &block,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let header = &header[..SealedLayout::header_len(index)];
                Ok([header, &sealed].concat())
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
