//! What `Peer`'s sharing methods carry out: share a file (plain or sealed), download a content
//! and open it, share several files as a collection and read one back.

use std::rc::Rc;

use futures::{
    channel::{mpsc, oneshot},
    FutureExt, StreamExt,
};
use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, File};

use crate::browser::api::collection_progress::{CollectionProgress, FileProgress};
use crate::browser::api::content_options::DownloadOptions;
use crate::browser::content::cdn::Cdn;
use crate::browser::content::cipher::{fresh_key, Cipher};
use crate::browser::content::open_sealed::opened;
use crate::browser::content::service::{DownloadWaiter, Request, ServiceHandle};
use crate::browser::content::share::hash_and_store;
use crate::browser::content::share_source::ShareSource;
use crate::browser::content::store::ContentStore;
use crate::browser::js::blob::blob_bytes;
use crate::browser::js::error::js_message;
use crate::browser::js::listener::JsListener;
use crate::content::collection::{
    check_paths, Collection, CollectionError, CollectionFile, COLLECTION_TYPE, MAX_INDEX_LEN,
};
use crate::content::content_id::ContentId;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::PIECE_LEN;
use crate::content::sealed::ShareKey;
use crate::error::{ErrorCode, PeerError};

/// The tab's content store, the service serving and fetching from it, and `fetch`'s side.
#[derive(Clone)]
pub(crate) struct Content {
    pub(crate) store: Rc<ContentStore>,
    pub(crate) service: ServiceHandle,
    pub(crate) cdn: Rc<Cdn>,
}

impl Content {
    /// Stores `file` (named by `meta`), sealed under a fresh key when `encrypt`, and serves it;
    /// returns its content id and the key.
    pub(crate) async fn share(
        &self,
        file: Blob,
        meta: ContentMeta,
        encrypt: bool,
        progress: Option<&Function>,
    ) -> Result<(ContentId, Option<ShareKey>), PeerError> {
        let (source, key) = if encrypt {
            let internal = |e: String| PeerError::new(ErrorCode::Internal, e);
            let key = fresh_key().map_err(|e| internal(e.to_string()))?;
            let cipher = Cipher::new(&key)
                .await
                .map_err(|e| internal(e.to_string()))?;
            let source = ShareSource::sealed(file, &meta, &key, cipher)
                .map_err(|e| PeerError::new(ErrorCode::InvalidArgument, e.to_string()))?;
            (source, Some(key))
        } else {
            let source = ShareSource::plain(file)
                .await
                .map_err(|e| PeerError::new(ErrorCode::InvalidArgument, e))?;
            (source, None)
        };
        let id = hash_and_store(&self.store, &source, progress).await?;
        // Kept in this tab only (its transfers list), never sent.
        self.store
            .write_meta(&id, &meta)
            .await
            .map_err(PeerError::from)?;
        let _ = self.service.ask(Request::Shared(id, meta)).await;
        Ok((id, key))
    }

    /// Downloads `id` (verified, stored and served on) and opens it as `options` say.
    pub(crate) async fn download(
        &self,
        id: ContentId,
        options: DownloadOptions,
    ) -> Result<Blob, PeerError> {
        let key = options.key.clone();
        let fallback = options.meta.clone();
        let stored = self.stored(id, options).await?;
        opened(stored, key.as_ref(), &fallback).await
    }

    /// Downloads `id` (verified, stored and served on); resolves to the stored bytes, sealed or
    /// not. `options.key` is not used.
    pub(crate) async fn stored(
        &self,
        id: ContentId,
        options: DownloadOptions,
    ) -> Result<Blob, PeerError> {
        let (reply, blob) = oneshot::channel();
        let (abort_tx, mut aborted) = mpsc::channel::<()>(1);
        let _abort_listener = match &options.signal {
            Some(signal) if signal.aborted() => return Err(already_aborted()),
            Some(signal) => Some(JsListener::forward(
                signal,
                "abort",
                abort_tx.clone(),
                |_| Some(()),
            )),
            None => None,
        };
        let waiter = DownloadWaiter {
            meta: options.meta,
            progress: options.on_progress,
            not_found_after: options.not_found_after,
            watch: Default::default(),
            reply,
        };
        self.service
            .ask(Request::Download(id, waiter))
            .await
            .map_err(|_| PeerError::closed())?;
        let mut blob = blob.fuse();
        futures::select! {
            result = blob => match result {
                Ok(result) => result,
                Err(_) => Err(PeerError::new(ErrorCode::Cancelled, "cancelled: the peer closed")),
            },
            _ = aborted.next() => {
                drop(abort_tx);
                drop(blob);
                let _ = self.service.ask(Request::Cancel(id)).await;
                Err(PeerError::new(ErrorCode::Cancelled, "cancelled: the download was aborted"))
            }
        }
    }

    /// Shares each of `files` (each under its own fresh key when `encrypt`), then their index,
    /// named `name` (sealed under one more key when `encrypt`); returns the index's content id
    /// and key. A file's path is its `webkitRelativePath` (a dropped folder) or its name.
    pub(crate) async fn share_collection(
        &self,
        files: Vec<File>,
        name: String,
        encrypt: bool,
        progress: Option<&Function>,
    ) -> Result<(ContentId, Option<ShareKey>), PeerError> {
        // A dropped folder's files carry their path below it (web-sys does not bind it).
        let paths: Vec<String> = files
            .iter()
            .map(|file| {
                js_sys::Reflect::get(file, &"webkitRelativePath".into())
                    .ok()
                    .and_then(|p| p.as_string())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| file.name())
            })
            .collect();
        let invalid =
            |e: CollectionError| PeerError::new(ErrorCode::InvalidArgument, e.to_string());
        // Checked before any file is shared, and again with the content ids below.
        check_paths(paths.iter().map(String::as_str)).map_err(invalid)?;
        let reports = progress.map(|user| CollectionProgress::new(user.clone(), files.len()));
        let mut shared = Vec::with_capacity(files.len());
        for (index, (file, path)) in files.into_iter().zip(paths).enumerate() {
            // Kept until the file is shared: its callback stops working once dropped.
            let file_progress = reports.as_ref().map(|r| r.file(index, &path));
            let report = file_progress.as_ref().map(FileProgress::function);
            let meta = ContentMeta {
                name: Some(file.name()),
                mime: Some(file.type_()).filter(|t| !t.is_empty()),
            };
            let size = file.size() as u64;
            let (cid, key) = self
                .share(file.into(), meta, encrypt, report.as_ref())
                .await?;
            shared.push(CollectionFile {
                path,
                size,
                cid,
                key,
            });
        }
        let collection = Collection::new(shared).map_err(invalid)?;
        let index = blob_of(&collection.encode())?;
        let meta = ContentMeta {
            name: Some(name),
            mime: Some(COLLECTION_TYPE.into()),
        };
        self.share(index, meta, encrypt, None).await
    }

    /// Downloads and reads the collection index `id` (opened with `options.key` when private);
    /// returns its name (sealed in a private one; `options.name` or "files" for a public one)
    /// and its files.
    pub(crate) async fn open_collection(
        &self,
        id: ContentId,
        options: DownloadOptions,
    ) -> Result<(String, Collection), PeerError> {
        let not_a_collection = |why: String| {
            PeerError::new(
                ErrorCode::InvalidArgument,
                format!("not a collection: {why}"),
            )
        };
        // Sealing adds far less than a piece: anything longer cannot be an index.
        if id.len() > (MAX_INDEX_LEN as u64) + PIECE_LEN {
            return Err(not_a_collection(format!("{} bytes is too large", id.len())));
        }
        // A private index's name is sealed in it; only its link names a public one.
        let given = options.key.is_none().then(|| options.meta.name.clone());
        let index = self.download(id, options).await?;
        let name = match given {
            Some(given) => given.unwrap_or_else(|| "files".to_owned()),
            None => index
                .dyn_ref::<File>()
                .map_or_else(|| "files".to_owned(), File::name),
        };
        let bytes = blob_bytes(&index, 0, index.size() as u64)
            .await
            .map_err(|e| PeerError::new(ErrorCode::Storage, js_message(&e)))?;
        let collection = Collection::decode(&bytes).map_err(|e| not_a_collection(e.to_string()))?;
        Ok((name, collection))
    }
}

/// The error of a call whose signal was aborted before it started.
fn already_aborted() -> PeerError {
    PeerError::new(
        ErrorCode::Cancelled,
        "cancelled: the signal was already aborted",
    )
}

/// A `Blob` of `bytes`.
fn blob_of(bytes: &[u8]) -> Result<Blob, PeerError> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts)
        .map_err(|e: JsValue| PeerError::new(ErrorCode::Internal, js_message(&e)))
}
