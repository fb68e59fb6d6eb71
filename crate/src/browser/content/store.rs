//! [`ContentStore`]: verified pieces in the Origin Private File System, one file per piece in
//! a folder per resource, so a resource of any size stays out of wasm memory, survives a reload,
//! and reaches the page as a `Blob` made of slices of those files.
//!
//! ```text
//! <OPFS root>/peerfetch/<content id>/p<index>   the piece's bytes, then its proof
//!                                   /meta.json  { "name", "type" } when known
//! ```
//!
//! A piece file is written whole by one `FileSystemWritableFileStream` and committed by its
//! `close()`; a file of the wrong size counts as missing and is left alone: it may be a write
//! under way (the file exists, empty, from its handle's creation until `close()`), and the
//! next write of the piece replaces it.

use crate::content::piece_proof::verify_piece;
use crate::content::quota::{Quota, QuotaFull};
use crate::content::stored_piece::encoded_from_stored;
use crate::error::{ErrorCode, PeerError};
use bytes::Bytes;
use std::cell::Cell;

use js_sys::{Array, AsyncIterator, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, File, FileSystemDirectoryHandle, FileSystemFileHandle,
    FileSystemGetDirectoryOptions, FileSystemGetFileOptions, FileSystemRemoveOptions,
    FileSystemWritableFileStream,
};

use crate::browser::js::error::{js_error_name, js_message};
use crate::content::bitfield::Bitfield;
use crate::content::content_id::ContentId;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::PieceLayout;

const ROOT_DIR: &str = "peerfetch";
const META_FILE: &str = "meta.json";

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StoreError {
    /// The page has no Origin Private File System (not a secure context, or an old browser).
    #[error("no storage: the Origin Private File System is unavailable ({0})")]
    Unavailable(String),
    /// Writing would pass the quota.
    #[error(transparent)]
    QuotaFull(#[from] QuotaFull),
    /// A piece is not stored.
    #[error("piece {0} is not stored")]
    Missing(u32),
    /// The browser's own storage quota for the origin is exhausted.
    #[error("storage quota full: the browser refused the write ({0})")]
    BrowserQuota(String),
    /// Any other file system error.
    #[error("storage error: {0}")]
    Io(String),
}

impl From<StoreError> for PeerError {
    fn from(error: StoreError) -> Self {
        let code = match &error {
            StoreError::Unavailable(_) => ErrorCode::NoStorage,
            StoreError::QuotaFull(_) | StoreError::BrowserQuota(_) => ErrorCode::QuotaFull,
            StoreError::Missing(_) | StoreError::Io(_) => ErrorCode::Storage,
        };
        PeerError::new(code, error.to_string())
    }
}

/// A stored piece that passed its check.
pub(crate) struct CheckedPiece {
    /// Its wire encoding, to upload.
    pub(crate) encoded: Bytes,
    /// Its bytes.
    pub(crate) data: Bytes,
}

/// The tab's store of verified pieces.
pub(crate) struct ContentStore {
    root: FileSystemDirectoryHandle,
    quota: Cell<Quota>,
}

impl ContentStore {
    /// Opens (creating if needed) the store, counting what it already holds against `quota`.
    pub(crate) async fn open(quota: u64) -> Result<Self, StoreError> {
        let navigator = web_sys::window()
            .ok_or_else(|| StoreError::Unavailable("no window".into()))?
            .navigator();
        // Outside a secure context (and in old browsers) `navigator.storage` or its
        // `getDirectory` is missing; calling it would throw out of wasm and never settle.
        let has_opfs = js_sys::Reflect::get(&navigator, &"storage".into())
            .ok()
            .filter(|storage| !storage.is_undefined())
            .and_then(|storage| js_sys::Reflect::get(&storage, &"getDirectory".into()).ok())
            .is_some_and(|get_directory| get_directory.is_function());
        if !has_opfs {
            return Err(StoreError::Unavailable(
                "navigator.storage.getDirectory is missing".into(),
            ));
        }
        let storage = navigator.storage();
        let origin_root: FileSystemDirectoryHandle = await_js(storage.get_directory())
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let root = subdirectory(&origin_root, ROOT_DIR, true).await?;
        let store = Self {
            root,
            quota: Cell::new(Quota::new(quota)),
        };
        for id in store.contents().await? {
            let layout = PieceLayout::of(&id);
            let held = layout.bytes_in(&store.pieces(&id).await?);
            store.update_quota(|quota| quota.found(held));
        }
        Ok(store)
    }

    /// Bytes of piece data stored.
    pub(crate) fn used(&self) -> u64 {
        self.quota.get().used()
    }

    /// The quota in bytes.
    pub(crate) fn quota(&self) -> u64 {
        self.quota.get().limit()
    }

    fn update_quota<T>(&self, change: impl FnOnce(&mut Quota) -> T) -> T {
        let mut quota = self.quota.get();
        let result = change(&mut quota);
        self.quota.set(quota);
        result
    }

    /// Resources with a folder in the store (complete or not).
    pub(crate) async fn contents(&self) -> Result<Vec<ContentId>, StoreError> {
        Ok(entry_names(&self.root)
            .await?
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect())
    }

    /// The pieces of `id` stored whole. Cut-short files are removed.
    pub(crate) async fn pieces(&self, id: &ContentId) -> Result<Bitfield, StoreError> {
        let layout = PieceLayout::of(id);
        let mut have = Bitfield::empty(layout.piece_count());
        let Some(dir) = self.content_dir(id, false).await? else {
            return Ok(have);
        };
        for name in entry_names(&dir).await? {
            let Some(index) = name.strip_prefix('p').and_then(|i| i.parse::<u32>().ok()) else {
                continue;
            };
            let Some(expected) = stored_len(&layout, index) else {
                continue;
            };
            let file = piece_file(&dir, index).await?;
            if file.size() as u64 == expected {
                have.insert(index);
            }
        }
        Ok(have)
    }

    /// Stores piece `index` of `id` in its stored form (bytes, then proof).
    pub(crate) async fn write_piece(
        &self,
        id: &ContentId,
        index: u32,
        stored: &[u8],
    ) -> Result<(), StoreError> {
        let layout = PieceLayout::of(id);
        let needed = layout.piece_len(index);
        // Reserved before the first await, so writes running at once cannot all pass.
        self.update_quota(|quota| quota.reserve(needed))?;
        let written = async {
            let dir = self.content_dir(id, true).await?.expect("created");
            // A whole piece file already there was counted when it was written or found.
            let counted = match piece_file(&dir, index).await {
                Ok(file) => Some(file.size() as u64) == stored_len(&layout, index),
                Err(_) => false,
            };
            write_file(&dir, &piece_name(index), stored).await?;
            Ok(counted)
        }
        .await;
        match written {
            Ok(counted) => {
                if counted {
                    self.update_quota(|quota| quota.release(needed));
                }
                Ok(())
            }
            Err(e) => {
                self.update_quota(|quota| quota.release(needed));
                Err(self.quota_error(e, needed))
            }
        }
    }

    /// The stored form of piece `index` of `id`.
    pub(crate) async fn read_piece(
        &self,
        id: &ContentId,
        index: u32,
    ) -> Result<Vec<u8>, StoreError> {
        let dir = self
            .content_dir(id, false)
            .await?
            .ok_or(StoreError::Missing(index))?;
        let file = piece_file(&dir, index)
            .await
            .map_err(|_| StoreError::Missing(index))?;
        let buffer: js_sys::ArrayBuffer = await_js(file.array_buffer()).await?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }

    /// Piece `index` of `id`, checked against the content id first: a piece damaged on disk
    /// (or changed by another script of the origin) is removed, never served, to a peer or to
    /// the page.
    pub(crate) async fn read_verified(
        &self,
        id: &ContentId,
        index: u32,
    ) -> Result<CheckedPiece, String> {
        let stored = self
            .read_piece(id, index)
            .await
            .map_err(|e| e.to_string())?;
        let layout = PieceLayout::of(id);
        let checked = encoded_from_stored(&layout, index, &stored)
            .map_err(|e| e.to_string())
            .and_then(|encoded| {
                verify_piece(id, index, &encoded)
                    .map(|piece| CheckedPiece {
                        encoded,
                        data: piece.data().clone(),
                    })
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = &checked {
            tracing::warn!(%id, index, "stored piece is damaged, removing it: {e}");
            let _ = self.remove_piece(id, index).await;
        }
        checked
    }

    /// Forgets a stored piece (found corrupt).
    pub(crate) async fn remove_piece(&self, id: &ContentId, index: u32) -> Result<(), StoreError> {
        if let Some(dir) = self.content_dir(id, false).await? {
            await_js::<JsValue>(dir.remove_entry(&piece_name(index))).await?;
            let len = PieceLayout::of(id).piece_len(index);
            self.update_quota(|quota| quota.release(len));
        }
        Ok(())
    }

    /// The whole resource as a `Blob` of `mime` type, made of slices of the piece files (not
    /// read into memory). Every piece must be stored.
    pub(crate) async fn blob(&self, id: &ContentId, mime: &str) -> Result<Blob, StoreError> {
        let layout = PieceLayout::of(id);
        let parts = Array::new();
        if layout.piece_count() > 0 {
            let dir = self
                .content_dir(id, false)
                .await?
                .ok_or(StoreError::Missing(0))?;
            for index in 0..layout.piece_count() {
                let file = piece_file(&dir, index)
                    .await
                    .map_err(|_| StoreError::Missing(index))?;
                let len = layout.piece_len(index);
                let data = file
                    .slice_with_f64_and_f64(0.0, len as f64)
                    .map_err(io_error)?;
                parts.push(&data);
            }
        }
        let options = BlobPropertyBag::new();
        options.set_type(mime);
        Blob::new_with_blob_sequence_and_options(&parts, &options).map_err(io_error)
    }

    /// Deletes everything stored for `id`.
    pub(crate) async fn remove(&self, id: &ContentId) -> Result<(), StoreError> {
        let layout = PieceLayout::of(id);
        let freed = layout.bytes_in(&self.pieces(id).await?);
        if self.content_dir(id, false).await?.is_some() {
            let options = FileSystemRemoveOptions::new();
            options.set_recursive(true);
            await_js::<JsValue>(
                self.root
                    .remove_entry_with_options(&id.to_string(), &options),
            )
            .await?;
        }
        self.update_quota(|quota| quota.release(freed));
        Ok(())
    }

    /// Records the name and type of `id`.
    pub(crate) async fn write_meta(
        &self,
        id: &ContentId,
        meta: &ContentMeta,
    ) -> Result<(), StoreError> {
        let dir = self.content_dir(id, true).await?.expect("created");
        let json = serde_json::to_vec(meta).map_err(|e| StoreError::Io(e.to_string()))?;
        write_file(&dir, META_FILE, &json).await
    }

    /// The name and type of `id`, if recorded.
    pub(crate) async fn read_meta(&self, id: &ContentId) -> ContentMeta {
        let Ok(Some(dir)) = self.content_dir(id, false).await else {
            return ContentMeta::default();
        };
        let Ok(handle) = await_js::<FileSystemFileHandle>(dir.get_file_handle(META_FILE)).await
        else {
            return ContentMeta::default();
        };
        let Ok(file) = await_js::<File>(handle.get_file()).await else {
            return ContentMeta::default();
        };
        let Ok(text) = await_js::<JsValue>(file.text()).await else {
            return ContentMeta::default();
        };
        serde_json::from_str(&text.as_string().unwrap_or_default()).unwrap_or_default()
    }

    async fn content_dir(
        &self,
        id: &ContentId,
        create: bool,
    ) -> Result<Option<FileSystemDirectoryHandle>, StoreError> {
        match subdirectory(&self.root, &id.to_string(), create).await {
            Ok(dir) => Ok(Some(dir)),
            Err(_) if !create => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn quota_error(&self, error: StoreError, needed: u64) -> StoreError {
        match error {
            StoreError::BrowserQuota(_) => StoreError::QuotaFull(self.quota.get().full(needed)),
            other => other,
        }
    }
}

/// Size of piece `index`'s file: its bytes and proof.
fn stored_len(layout: &PieceLayout, index: u32) -> Option<u64> {
    let proof = crate::content::stored_piece::proof_len(layout, index).ok()?;
    Some(layout.piece_len(index) + proof as u64)
}

fn piece_name(index: u32) -> String {
    format!("p{index}")
}

async fn piece_file(dir: &FileSystemDirectoryHandle, index: u32) -> Result<File, StoreError> {
    let handle: FileSystemFileHandle = await_js(dir.get_file_handle(&piece_name(index))).await?;
    await_js(handle.get_file()).await
}

async fn subdirectory(
    parent: &FileSystemDirectoryHandle,
    name: &str,
    create: bool,
) -> Result<FileSystemDirectoryHandle, StoreError> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    await_js(parent.get_directory_handle_with_options(name, &options)).await
}

/// Writes `name` whole; the content appears only once `close()` commits it.
async fn write_file(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let handle: FileSystemFileHandle =
        await_js(dir.get_file_handle_with_options(name, &options)).await?;
    let writable: FileSystemWritableFileStream = await_js(handle.create_writable()).await?;
    // A copy in JS memory: the write completes after wasm memory may have moved.
    let data = Uint8Array::from(bytes);
    let written = match writable.write_with_js_u8_array(&data) {
        Ok(promise) => await_js::<JsValue>(promise).await,
        Err(e) => Err(io_error(e)),
    };
    if let Err(e) = written {
        let _ = await_js::<JsValue>(writable.abort()).await;
        return Err(e);
    }
    await_js::<JsValue>(writable.close()).await?;
    Ok(())
}

async fn entry_names(dir: &FileSystemDirectoryHandle) -> Result<Vec<String>, StoreError> {
    let keys: AsyncIterator = dir.keys();
    let mut names = Vec::new();
    loop {
        let step: JsValue = await_js(keys.next().map_err(io_error)?).await?;
        let done = js_sys::Reflect::get(&step, &"done".into()).map_err(io_error)?;
        if done.is_truthy() {
            return Ok(names);
        }
        let value = js_sys::Reflect::get(&step, &"value".into()).map_err(io_error)?;
        if let Some(name) = value.as_string() {
            names.push(name);
        }
    }
}

async fn await_js<T: JsCast>(promise: Promise) -> Result<T, StoreError> {
    JsFuture::from(promise)
        .await
        .map_err(io_error)?
        .dyn_into()
        .map_err(|v| StoreError::Io(format!("unexpected value {v:?}")))
}

fn io_error(error: JsValue) -> StoreError {
    match js_error_name(&error) {
        Some(name) if name == "QuotaExceededError" => StoreError::BrowserQuota(js_message(&error)),
        Some(name) => StoreError::Io(format!("{name}: {}", js_message(&error))),
        None => StoreError::Io(js_message(&error)),
    }
}
