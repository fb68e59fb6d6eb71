//! Where `saveCollection` writes a collection's files, one chunk at a time: a zip archive
//! streamed into a file (one the user picked, or one in the origin's private storage handed
//! back as a disk-backed `File`), or the files themselves at their paths under a folder the
//! user picked. Either way only the chunk being written is in memory.
//!
//! A save in private storage lives in `<OPFS root>/peerfetch-saves/<random>/<name>.zip`; the
//! next save there removes saves more than an hour old (the page has long saved them to disk
//! by then; a `File` of a removed save can no longer be read).

use js_sys::{AsyncIterator, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

use crate::browser::js::error::{js_error_name, js_message};
use crate::content::zip_stream::ZipStream;
use crate::error::{ErrorCode, PeerError};

/// The folder of saves in the origin's private storage.
const SAVES_DIR: &str = "peerfetch-saves";

/// A save in private storage older than this is removed by the next one.
const SAVE_KEPT_MS: f64 = 60.0 * 60.0 * 1000.0;

/// Where the page asked the files to go (`to`).
pub(crate) enum SaveTo {
    /// A zip archive written into this file.
    ZipFile(FileSystemFileHandle),
    /// Each file at its path below this folder.
    Folder(FileSystemDirectoryHandle),
    /// A zip archive in the origin's private storage, named `<name>.zip` (`name`: a safe file
    /// name).
    PrivateZip(String),
}

/// A save under way.
pub(crate) struct SaveTarget {
    sink: Sink,
}

enum Sink {
    Zip {
        zip: ZipStream,
        out: FileSystemWritableFileStream,
        file: FileSystemFileHandle,
        /// The save's own folder in private storage, when it is there.
        private_dir: Option<(FileSystemDirectoryHandle, String)>,
    },
    Folder {
        root: FileSystemDirectoryHandle,
        /// The file being written.
        current: Option<FileSystemWritableFileStream>,
    },
}

impl SaveTarget {
    /// Opens `to` for writing.
    pub(crate) async fn open(to: SaveTo) -> Result<Self, PeerError> {
        let sink = match to {
            SaveTo::ZipFile(file) => Sink::Zip {
                zip: ZipStream::new(),
                out: writable(&file).await?,
                file,
                private_dir: None,
            },
            SaveTo::Folder(root) => Sink::Folder {
                root,
                current: None,
            },
            SaveTo::PrivateZip(name) => {
                let saves = private_saves().await?;
                remove_old_saves(&saves).await;
                // Unique enough to keep saves of one name apart; not a secret.
                let id = format!(
                    "{:x}-{:08x}",
                    js_sys::Date::now() as u64,
                    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
                );
                let dir = directory(&saves, &id).await?;
                let file = file_in(&dir, &format!("{name}.zip")).await?;
                Sink::Zip {
                    zip: ZipStream::new(),
                    out: writable(&file).await?,
                    file,
                    private_dir: Some((saves, id)),
                }
            }
        };
        Ok(Self { sink })
    }

    /// Starts the file at `path` (checked: relative, no `.` or `..`) of `size` bytes.
    pub(crate) async fn start(&mut self, path: &str, size: u64) -> Result<(), PeerError> {
        match &mut self.sink {
            Sink::Zip { zip, out, .. } => {
                let header = zip.start(path, size).map_err(zip_error)?;
                write(out, &Uint8Array::from(header.as_slice())).await
            }
            Sink::Folder { root, current } => {
                let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
                let mut dir = root.clone();
                for part in dirs.split('/').filter(|p| !p.is_empty()) {
                    dir = directory(&dir, part).await?;
                }
                *current = Some(writable(&file_in(&dir, name).await?).await?);
                Ok(())
            }
        }
    }

    /// Appends `chunk` to the current file.
    pub(crate) async fn write(&mut self, chunk: &Uint8Array) -> Result<(), PeerError> {
        match &mut self.sink {
            Sink::Zip { zip, out, .. } => {
                let bytes = zip.write(&chunk.to_vec()).map_err(zip_error)?;
                write(out, &Uint8Array::from(bytes.as_slice())).await
            }
            Sink::Folder { current, .. } => match current {
                Some(out) => write(out, chunk).await,
                None => Err(PeerError::new(ErrorCode::Internal, "no file started")),
            },
        }
    }

    /// Ends the current file (a folder's file appears once ended).
    pub(crate) async fn end_file(&mut self) -> Result<(), PeerError> {
        if let Sink::Folder { current, .. } = &mut self.sink {
            if let Some(out) = current.take() {
                js(out.close()).await?;
            }
        }
        Ok(())
    }

    /// Ends the save; resolves to the archive when it is in private storage.
    pub(crate) async fn finish(self) -> Result<Option<File>, PeerError> {
        match self.sink {
            Sink::Zip {
                zip,
                out,
                file,
                private_dir,
            } => {
                let end = zip.finish().map_err(zip_error)?;
                write(&out, &Uint8Array::from(end.as_slice())).await?;
                js(out.close()).await?;
                if private_dir.is_none() {
                    return Ok(None);
                }
                let saved: File = js(file.get_file()).await?.unchecked_into();
                Ok(Some(saved))
            }
            Sink::Folder { current, .. } => {
                if let Some(out) = current {
                    js(out.close()).await?;
                }
                Ok(None)
            }
        }
    }

    /// Gives the save up: nothing of a zip is kept, and a folder keeps only its whole files.
    pub(crate) async fn abort(self) {
        match self.sink {
            Sink::Zip {
                out, private_dir, ..
            } => {
                let _ = js(out.abort()).await;
                if let Some((saves, id)) = private_dir {
                    let _ = remove(&saves, &id).await;
                }
            }
            Sink::Folder {
                current: Some(out), ..
            } => {
                let _ = js(out.abort()).await;
            }
            Sink::Folder { current: None, .. } => {}
        }
    }
}

/// The folder of saves in the origin's private storage.
async fn private_saves() -> Result<FileSystemDirectoryHandle, PeerError> {
    let window = web_sys::window().ok_or_else(|| storage("no window".into()))?;
    let root: FileSystemDirectoryHandle = js(window.navigator().storage().get_directory())
        .await?
        .unchecked_into();
    directory(&root, SAVES_DIR).await
}

/// Removes the saves in `saves` last written more than [`SAVE_KEPT_MS`] ago. Best effort: a
/// save another tab is writing or that cannot be read is left.
async fn remove_old_saves(saves: &FileSystemDirectoryHandle) {
    let now = js_sys::Date::now();
    let keys: AsyncIterator = saves.keys();
    let mut old = Vec::new();
    while let Ok(step) = async {
        let next = keys.next().map_err(|e| storage(js_message(&e)))?;
        js(next).await
    }
    .await
    {
        if js_sys::Reflect::get(&step, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            break;
        }
        let Some(id) = js_sys::Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        else {
            continue;
        };
        if let Some(written) = last_written(saves, &id).await {
            if now - written > SAVE_KEPT_MS {
                old.push(id);
            }
        }
    }
    for id in old {
        let _ = remove(saves, &id).await;
    }
}

/// When the zip in save folder `id` was last written.
async fn last_written(saves: &FileSystemDirectoryHandle, id: &str) -> Option<f64> {
    let options = FileSystemGetDirectoryOptions::new();
    let dir: FileSystemDirectoryHandle = js(saves.get_directory_handle_with_options(id, &options))
        .await
        .ok()?
        .unchecked_into();
    let keys: AsyncIterator = dir.keys();
    let step = js(keys.next().ok()?).await.ok()?;
    let name = js_sys::Reflect::get(&step, &"value".into())
        .ok()?
        .as_string()?;
    let handle: FileSystemFileHandle = js(dir.get_file_handle(&name)).await.ok()?.unchecked_into();
    let file: File = js(handle.get_file()).await.ok()?.unchecked_into();
    Some(file.last_modified())
}

async fn remove(parent: &FileSystemDirectoryHandle, name: &str) -> Result<(), PeerError> {
    let options = FileSystemRemoveOptions::new();
    options.set_recursive(true);
    js(parent.remove_entry_with_options(name, &options)).await?;
    Ok(())
}

async fn directory(
    parent: &FileSystemDirectoryHandle,
    name: &str,
) -> Result<FileSystemDirectoryHandle, PeerError> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    Ok(js(parent.get_directory_handle_with_options(name, &options))
        .await?
        .unchecked_into())
}

async fn file_in(
    dir: &FileSystemDirectoryHandle,
    name: &str,
) -> Result<FileSystemFileHandle, PeerError> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    Ok(js(dir.get_file_handle_with_options(name, &options))
        .await?
        .unchecked_into())
}

async fn writable(file: &FileSystemFileHandle) -> Result<FileSystemWritableFileStream, PeerError> {
    Ok(js(file.create_writable()).await?.unchecked_into())
}

async fn write(out: &FileSystemWritableFileStream, chunk: &Uint8Array) -> Result<(), PeerError> {
    let promise = out
        .write_with_js_u8_array(chunk)
        .map_err(|e| storage(js_message(&e)))?;
    js(promise).await?;
    Ok(())
}

async fn js(promise: Promise) -> Result<JsValue, PeerError> {
    JsFuture::from(promise)
        .await
        .map_err(|e| match js_error_name(&e).as_deref() {
            Some("QuotaExceededError") => PeerError::new(
                ErrorCode::QuotaFull,
                format!("no room to save: {}", js_message(&e)),
            ),
            Some("NotAllowedError") => PeerError::new(
                ErrorCode::InvalidArgument,
                format!("not allowed to write there: {}", js_message(&e)),
            ),
            _ => storage(js_message(&e)),
        })
}

fn storage(message: String) -> PeerError {
    PeerError::new(ErrorCode::Storage, format!("cannot save: {message}"))
}

fn zip_error(error: crate::content::zip_stream::ZipStreamError) -> PeerError {
    PeerError::new(ErrorCode::Internal, error.to_string())
}
