//! The options objects of `peer.share(file, options)`, `peer.download(cid, options)` and
//! `peer.saveCollection(cid, options)`. They carry callbacks, an `AbortSignal` and file system
//! handles, so they are read field by field rather than by serde.

use std::time::Duration;

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, FileSystemDirectoryHandle, FileSystemFileHandle};

use crate::browser::content::save_target::SaveTo;

use crate::content::content_meta::ContentMeta;
use crate::content::sealed::ShareKey;
use crate::error::{ErrorCode, PeerError};

/// How long a download waits for a first provider by default.
const DEFAULT_NOT_FOUND_AFTER: Duration = Duration::from_secs(15);

/// `share(file, { name, type, encrypt, onProgress })`.
pub(crate) struct ShareOptions {
    pub(crate) meta: ContentMeta,
    /// Seal the file under a fresh key (`encrypt: true`).
    pub(crate) encrypt: bool,
    pub(crate) on_progress: Option<Function>,
}

/// `download(cid, { name, type, key, onProgress, timeoutMs, signal })`.
#[derive(Clone)]
pub(crate) struct DownloadOptions {
    pub(crate) meta: ContentMeta,
    /// Opens sealed content (`key`: the link's `k=` text).
    pub(crate) key: Option<ShareKey>,
    pub(crate) on_progress: Option<Function>,
    /// Give up when no peer has the resource for this long (`timeoutMs`, default 15000).
    pub(crate) not_found_after: Duration,
    pub(crate) signal: Option<AbortSignal>,
}

impl ShareOptions {
    /// Reads `options`; a field of the wrong type is `ERR_INVALID_OPTIONS`.
    pub(crate) fn read(options: &JsValue) -> Result<Self, PeerError> {
        Self::read_fields(options).map_err(|e| PeerError::new(ErrorCode::InvalidOptions, e))
    }

    fn read_fields(options: &JsValue) -> Result<Self, String> {
        let encrypt = match field(options, "encrypt") {
            None => false,
            Some(value) => value.as_bool().ok_or("encrypt must be a boolean")?,
        };
        Ok(Self {
            meta: meta(options)?,
            encrypt,
            on_progress: callback(options, "onProgress")?,
        })
    }
}

impl DownloadOptions {
    /// Reads `options`; a field of the wrong type is `ERR_INVALID_OPTIONS`.
    pub(crate) fn read(options: &JsValue) -> Result<Self, PeerError> {
        Self::read_fields(options).map_err(|e| PeerError::new(ErrorCode::InvalidOptions, e))
    }

    fn read_fields(options: &JsValue) -> Result<Self, String> {
        let not_found_after = match field(options, "timeoutMs") {
            None => DEFAULT_NOT_FOUND_AFTER,
            Some(value) => match value.as_f64() {
                Some(ms) if ms >= 0.0 && ms.is_finite() => Duration::from_secs_f64(ms / 1000.0),
                _ => return Err("timeoutMs must be a number of milliseconds".into()),
            },
        };
        let signal = match field(options, "signal") {
            None => None,
            Some(value) => Some(
                value
                    .dyn_into::<AbortSignal>()
                    .map_err(|_| "signal must be an AbortSignal".to_owned())?,
            ),
        };
        let key = text(options, "key")?
            .map(|text| ShareKey::parse(&text).map_err(|e| format!("invalid key: {e}")))
            .transpose()?;
        Ok(Self {
            meta: meta(options)?,
            key,
            on_progress: callback(options, "onProgress")?,
            not_found_after,
            signal,
        })
    }
}

/// `saveCollection(cid, { key, paths, to, onProgress, timeoutMs, signal })`: `download`'s
/// options (for the index, and for each file but its key and progress) and what to save where.
pub(crate) struct SaveOptions {
    pub(crate) download: DownloadOptions,
    /// The files to save (all when absent).
    pub(crate) paths: Option<Vec<String>>,
    /// Where (a zip in private storage when absent).
    pub(crate) to: Option<SaveTo>,
}

impl SaveOptions {
    /// Reads `options`; a field of the wrong type is `ERR_INVALID_OPTIONS`.
    pub(crate) fn read(options: &JsValue) -> Result<Self, PeerError> {
        let invalid = |e: String| PeerError::new(ErrorCode::InvalidOptions, e);
        let download = DownloadOptions::read(options)?;
        let paths = field(options, "paths")
            .map(|value| {
                let not_paths = || "paths must be an array of strings".to_owned();
                value
                    .dyn_into::<js_sys::Array>()
                    .map_err(|_| not_paths())?
                    .iter()
                    .map(|path| path.as_string().ok_or_else(not_paths))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(invalid)?;
        let to = field(options, "to")
            .map(|value| match value.dyn_into::<FileSystemFileHandle>() {
                Ok(file) => Ok(SaveTo::ZipFile(file)),
                Err(value) => value
                    .dyn_into::<FileSystemDirectoryHandle>()
                    .map(SaveTo::Folder)
                    .map_err(|_| {
                        "to must be a FileSystemFileHandle or a FileSystemDirectoryHandle"
                            .to_owned()
                    }),
            })
            .transpose()
            .map_err(invalid)?;
        Ok(Self {
            download,
            paths,
            to,
        })
    }
}

fn meta(options: &JsValue) -> Result<ContentMeta, String> {
    Ok(ContentMeta {
        name: text(options, "name")?,
        mime: text(options, "type")?,
    })
}

/// A present, non-null field.
fn field(options: &JsValue, name: &str) -> Option<JsValue> {
    if !options.is_object() {
        return None;
    }
    Reflect::get(options, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn text(options: &JsValue, name: &str) -> Result<Option<String>, String> {
    field(options, name)
        .map(|v| v.as_string().ok_or(format!("{name} must be a string")))
        .transpose()
}

fn callback(options: &JsValue, name: &str) -> Result<Option<Function>, String> {
    field(options, name)
        .map(|v| {
            v.dyn_into::<Function>()
                .map_err(|_| format!("{name} must be a function"))
        })
        .transpose()
}
