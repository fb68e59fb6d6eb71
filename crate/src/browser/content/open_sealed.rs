//! A downloaded content as the page gets it: sealed content is opened with the link's key,
//! block by block through WebCrypto; without a key it is refused rather than handed out as
//! ciphertext. Nothing opened is kept in the store: the store (and what this tab seeds) stays
//! sealed.
//!
//! [`Plaintext`] reads a content's bytes in order, chunk by chunk, so a caller can stream them
//! (into a zip or a folder); [`opened`] gathers them into a `File` for `download`.

use js_sys::{Array, Uint8Array};
use web_sys::{Blob, BlobPropertyBag, File, FilePropertyBag};

use crate::browser::content::cipher::Cipher;
use crate::browser::js::blob::blob_bytes;
use crate::browser::js::error::js_message;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::PIECE_LEN;
use crate::content::sealed::{
    check_header, decode_meta, is_sealed, HeaderError, SealedLayout, ShareKey, HEADER_LEN,
    MAX_META_LEN,
};
use crate::error::{ErrorCode, PeerError};

/// Opened blocks held in JS memory before they are folded into one `Blob`, which the browser
/// may keep on disk: a large file is never whole in memory.
const BLOCKS_PER_FOLD: u32 = 16;

/// The page's view of downloaded content `blob` (verified and stored): `blob` itself when it is
/// not sealed; when it is, the opened file, or an error if `key` is missing or wrong.
/// `fallback` names the file when the sealed name is absent.
pub(crate) async fn opened(
    blob: Blob,
    key: Option<&ShareKey>,
    fallback: &ContentMeta,
) -> Result<Blob, PeerError> {
    let mut plain = match Plaintext::of(blob, key).await? {
        Plaintext::Plain { blob, .. } => return Ok(blob),
        sealed => sealed,
    };
    let mut folded: Option<Blob> = None;
    let parts = Array::new();
    while let Some(chunk) = plain.next().await? {
        parts.push(&chunk);
        if parts.length() >= BLOCKS_PER_FOLD {
            folded = Some(fold(folded.take(), &parts)?);
            parts.set_length(0);
        }
    }
    if let Some(earlier) = folded {
        parts.unshift(&earlier);
    }
    let meta = plain.meta();
    let name = meta
        .name
        .clone()
        .or_else(|| fallback.name.clone())
        .unwrap_or_else(|| "download".into());
    let options = FilePropertyBag::new();
    if let Some(mime) = meta.mime.as_ref().or(fallback.mime.as_ref()) {
        options.set_type(mime);
    }
    let file = File::new_with_u8_array_sequence_and_options(&parts, &name, &options)
        .map_err(|e| PeerError::new(ErrorCode::Internal, js_message(&e)))?;
    Ok(file.into())
}

/// A stored content's plaintext, read in order: a plain content's bytes, or a sealed content's
/// opened blocks.
pub(crate) enum Plaintext {
    /// Not sealed: its bytes as stored.
    Plain {
        /// The stored content.
        blob: Blob,
        /// Bytes handed out so far.
        read: u64,
    },
    /// Sealed, with a key its header commits to.
    Sealed(SealedBlocks),
}

/// A sealed content's blocks, opened one at a time.
pub(crate) struct SealedBlocks {
    blob: Blob,
    layout: SealedLayout,
    cipher: Cipher,
    next: u32,
    meta: ContentMeta,
}

impl Plaintext {
    /// The plaintext of stored content `blob`, opened with `key` when sealed. Sealed content
    /// without a key, a key for plain content and a wrong key are errors, found from the
    /// header before anything is read.
    pub(crate) async fn of(blob: Blob, key: Option<&ShareKey>) -> Result<Self, PeerError> {
        let start = read(&blob, 0, (HEADER_LEN as u64).min(blob.size() as u64)).await?;
        let Some(key) = key else {
            if is_sealed(&start) {
                let reason = "encrypted: key needed (the link's k= part: download(cid, { key }))";
                return Err(PeerError::new(ErrorCode::KeyNeeded, reason));
            }
            return Ok(Self::Plain { blob, read: 0 });
        };
        match check_header(&start, key) {
            Ok(()) => {}
            Err(HeaderError::NotSealed) => {
                return Err(PeerError::new(
                    ErrorCode::InvalidArgument,
                    "not encrypted: a key was given for content that is not sealed",
                ))
            }
            Err(HeaderError::WrongKey) => {
                return Err(PeerError::new(
                    ErrorCode::WrongKey,
                    "wrong key: the link's key does not open this content",
                ))
            }
        }
        let layout =
            SealedLayout::of_sealed(blob.size() as u64).map_err(|e| malformed(e.to_string()))?;
        let cipher = Cipher::new(key)
            .await
            .map_err(|e| PeerError::new(ErrorCode::Internal, format!("WebCrypto: {e}")))?;
        Ok(Self::Sealed(SealedBlocks {
            blob,
            layout,
            cipher,
            next: 0,
            meta: ContentMeta::default(),
        }))
    }

    /// The next chunk of plaintext (at most a piece), or `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<Uint8Array>, PeerError> {
        match self {
            Self::Plain { blob, read: done } => {
                let len = blob.size() as u64;
                if *done >= len {
                    return Ok(None);
                }
                let end = (*done + PIECE_LEN).min(len);
                let slice = blob
                    .slice_with_f64_and_f64(*done as f64, end as f64)
                    .map_err(|e| storage_error(&e))?;
                let bytes = wasm_bindgen_futures::JsFuture::from(slice.array_buffer())
                    .await
                    .map_err(|e| storage_error(&e))?;
                *done = end;
                Ok(Some(Uint8Array::new(&bytes)))
            }
            Self::Sealed(blocks) => blocks.next().await,
        }
    }

    /// The sealed name and type, known once the first chunk is read; empty for plain content.
    pub(crate) fn meta(&self) -> &ContentMeta {
        static PLAIN: ContentMeta = ContentMeta {
            name: None,
            mime: None,
        };
        match self {
            Self::Plain { .. } => &PLAIN,
            Self::Sealed(blocks) => &blocks.meta,
        }
    }
}

impl SealedBlocks {
    async fn next(&mut self) -> Result<Option<Uint8Array>, PeerError> {
        let index = self.next;
        if index >= self.layout.blocks() {
            return Ok(None);
        }
        let range = self
            .layout
            .sealed_range(index)
            .ok_or_else(|| malformed(format!("no block {index}")))?;
        let block = read(&self.blob, range.start, range.end).await?;
        let plain = self
            .cipher
            .open(
                &SealedLayout::nonce(index),
                &self.layout.associated_data(index),
                &block,
            )
            .await
            // The header holds the right key's commitment, so the sharer sealed this block wrong.
            .map_err(|e| malformed(format!("block {index} does not open: {e}")))?;
        self.next += 1;
        if index > 0 {
            return Ok(Some(plain));
        }
        let head_len = plain.length().min(4 + MAX_META_LEN as u32);
        let (meta, start) = decode_meta(&plain.subarray(0, head_len).to_vec())
            .map_err(|e| malformed(e.to_string()))?;
        self.meta = meta;
        Ok(Some(plain.subarray(start as u32, plain.length())))
    }
}

fn malformed(why: String) -> PeerError {
    PeerError::new(
        ErrorCode::InvalidArgument,
        format!("malformed sealed content: {why}"),
    )
}

/// One `Blob` of `earlier` (if any) and `parts`.
fn fold(earlier: Option<Blob>, parts: &Array) -> Result<Blob, PeerError> {
    let all = Array::new();
    if let Some(earlier) = earlier {
        all.push(&earlier);
    }
    for part in parts.iter() {
        all.push(&part);
    }
    Blob::new_with_u8_array_sequence_and_options(&all, &BlobPropertyBag::new())
        .map_err(|e| PeerError::new(ErrorCode::Internal, js_message(&e)))
}

/// Bytes `start..end` of the stored content.
async fn read(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, PeerError> {
    blob_bytes(blob, start, end)
        .await
        .map_err(|e| storage_error(&e))
}

fn storage_error(error: &wasm_bindgen::JsValue) -> PeerError {
    PeerError::new(
        ErrorCode::Storage,
        format!("storage error: {}", js_message(error)),
    )
}
