//! A downloaded content as the page gets it: sealed content is opened with the link's key,
//! block by block through WebCrypto, into a `File` named by its sealed name and type; without a
//! key it is refused rather than handed out as ciphertext. Nothing opened is kept in the store:
//! the store (and what this tab seeds) stays sealed.

use js_sys::Array;
use web_sys::{Blob, File, FilePropertyBag};

use crate::browser::content::cipher::{Cipher, CipherError};
use crate::browser::content::store::ContentMeta;
use crate::browser::js::blob::blob_bytes;
use crate::browser::js::error::js_message;
use crate::content::piece_layout::PieceLayout;
use crate::content::sealed::{decode_meta, SealedLayout, ShareKey, MAGIC};
use crate::error::{ErrorCode, PeerError};

/// The page's view of downloaded content `blob` (verified and stored): `blob` itself when it is
/// not sealed; when it is, the opened file, or an error if `key` is missing or wrong.
/// `fallback` names the file when the sealed name is absent.
pub(crate) async fn opened(
    blob: Blob,
    key: Option<&ShareKey>,
    fallback: &ContentMeta,
) -> Result<Blob, PeerError> {
    let start = read(&blob, 0, (MAGIC.len() as u64).min(blob.size() as u64)).await?;
    let sealed = SealedLayout::is_sealed(&start);
    match (sealed, key) {
        (false, None) => Ok(blob),
        (false, Some(_)) => Err(PeerError::new(
            ErrorCode::InvalidArgument,
            "not encrypted: a key was given for content that is not sealed",
        )),
        (true, None) => Err(PeerError::new(
            ErrorCode::KeyNeeded,
            "encrypted: key needed (the link's k= part: download(cid, { key }))",
        )),
        (true, Some(key)) => open(&blob, key, fallback).await.map(Into::into),
    }
}

async fn open(blob: &Blob, key: &ShareKey, fallback: &ContentMeta) -> Result<File, PeerError> {
    let sealed_len = blob.size() as u64;
    let layout = SealedLayout::of_sealed(sealed_len)
        .map_err(|e| PeerError::new(ErrorCode::InvalidArgument, format!("not encrypted: {e}")))?;
    let cipher = Cipher::new(key).await.map_err(cipher_error)?;
    let pieces = PieceLayout::with_len(sealed_len);
    let parts = Array::new();
    let mut meta = ContentMeta::default();
    for index in 0..layout.blocks() {
        let piece = pieces.piece_bytes(index).expect("a block per piece");
        let bytes = read(blob, piece.start, piece.end).await?;
        let block = &bytes[SealedLayout::clear_prefix(index).len()..];
        let plain = cipher
            .open(
                &SealedLayout::nonce(index),
                &layout.associated_data(index),
                block,
            )
            .await
            .map_err(cipher_error)?;
        if index == 0 {
            let (read_meta, start) = decode_meta(&plain.to_vec()).map_err(|e| {
                PeerError::new(ErrorCode::InvalidArgument, format!("sealed content: {e}"))
            })?;
            meta = read_meta;
            parts.push(&plain.subarray(start as u32, plain.length()));
        } else {
            parts.push(&plain);
        }
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

fn cipher_error(error: CipherError) -> PeerError {
    match error {
        CipherError::WrongKey => PeerError::new(
            ErrorCode::WrongKey,
            "wrong key: the link's key does not open this content",
        ),
        CipherError::Crypto(e) => PeerError::new(ErrorCode::Internal, format!("WebCrypto: {e}")),
    }
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
