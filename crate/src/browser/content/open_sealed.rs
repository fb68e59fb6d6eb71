//! A downloaded content as the page gets it: sealed content is opened with the link's key,
//! block by block through WebCrypto, into a `File` named by its sealed name and type; without a
//! key it is refused rather than handed out as ciphertext. Nothing opened is kept in the store:
//! the store (and what this tab seeds) stays sealed.

use js_sys::Array;
use web_sys::{Blob, BlobPropertyBag, File, FilePropertyBag};

use crate::browser::content::cipher::Cipher;
use crate::browser::js::blob::blob_bytes;
use crate::browser::js::error::js_message;
use crate::content::content_meta::ContentMeta;
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
    let start = read(&blob, 0, (HEADER_LEN as u64).min(blob.size() as u64)).await?;
    let Some(key) = key else {
        if is_sealed(&start) {
            let reason = "encrypted: key needed (the link's k= part: download(cid, { key }))";
            return Err(PeerError::new(ErrorCode::KeyNeeded, reason));
        }
        return Ok(blob);
    };
    match check_header(&start, key) {
        Ok(()) => open(&blob, key, fallback).await.map(Into::into),
        Err(HeaderError::NotSealed) => Err(PeerError::new(
            ErrorCode::InvalidArgument,
            "not encrypted: a key was given for content that is not sealed",
        )),
        Err(HeaderError::WrongKey) => Err(PeerError::new(
            ErrorCode::WrongKey,
            "wrong key: the link's key does not open this content",
        )),
    }
}

/// Opens sealed content whose header commits to `key`.
async fn open(blob: &Blob, key: &ShareKey, fallback: &ContentMeta) -> Result<File, PeerError> {
    let malformed = |why: String| {
        PeerError::new(
            ErrorCode::InvalidArgument,
            format!("malformed sealed content: {why}"),
        )
    };
    let sealed_len = blob.size() as u64;
    let layout = SealedLayout::of_sealed(sealed_len).map_err(|e| malformed(e.to_string()))?;
    let cipher = Cipher::new(key)
        .await
        .map_err(|e| PeerError::new(ErrorCode::Internal, format!("WebCrypto: {e}")))?;
    let mut folded: Option<Blob> = None;
    let parts = Array::new();
    let mut meta = ContentMeta::default();
    for index in 0..layout.blocks() {
        let range = layout
            .sealed_range(index)
            .ok_or_else(|| malformed(format!("no block {index}")))?;
        let block = read(blob, range.start, range.end).await?;
        let nonce = SealedLayout::nonce(index);
        let plain = cipher
            .open(&nonce, &layout.associated_data(index), &block)
            .await
            // The header holds the right key's commitment, so the sharer sealed this block wrong.
            .map_err(|e| malformed(format!("block {index} does not open: {e}")))?;
        if index == 0 {
            let head_len = plain.length().min(4 + MAX_META_LEN as u32);
            let (read_meta, start) = decode_meta(&plain.subarray(0, head_len).to_vec())
                .map_err(|e| malformed(e.to_string()))?;
            meta = read_meta;
            parts.push(&plain.subarray(start as u32, plain.length()));
        } else {
            parts.push(&plain);
        }
        if parts.length() >= BLOCKS_PER_FOLD {
            folded = Some(fold(folded.take(), &parts)?);
            parts.set_length(0);
        }
    }
    if let Some(earlier) = folded {
        parts.unshift(&earlier);
    }
    let name = meta
        .name
        .or_else(|| fallback.name.clone())
        .unwrap_or_else(|| "download".into());
    let options = FilePropertyBag::new();
    if let Some(mime) = meta.mime.as_ref().or(fallback.mime.as_ref()) {
        options.set_type(mime);
    }
    File::new_with_u8_array_sequence_and_options(&parts, &name, &options)
        .map_err(|e| PeerError::new(ErrorCode::Internal, js_message(&e)))
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
    blob_bytes(blob, start, end).await.map_err(|e| {
        PeerError::new(
            ErrorCode::Storage,
            format!("storage error: {}", js_message(&e)),
        )
    })
}
