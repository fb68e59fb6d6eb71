//! `Peer`, the class the page uses.

use crate::browser::api::content::Content;
use crate::browser::api::content_options::{DownloadOptions, SaveOptions, ShareOptions};
use crate::browser::api::join_options::JoinOptions;
use crate::browser::api::types::{
    DownloadOptionsArg, JoinOptionsArg, RequestInitArg, SaveOptionsArg, ShareOptionsArg,
};
use crate::browser::content::cdn::{pass_through, Cdn};
use crate::browser::content::service::{ContentService, Request, TransferInfo};
use crate::browser::content::store::{ContentStore, StoreError};
use crate::browser::js::error::js_message;
use crate::browser::js::events::dispatch;
use crate::browser::js::timeout::with_timeout;
use crate::browser::js::value::to_plain_js;
use crate::browser::node::command::Command;
use crate::browser::node::echo;
use crate::browser::node::join::join;
use crate::browser::node::tab_state::TabState;
use crate::browser::node::throughput;
use crate::content::content_id::ContentId;
use crate::content::sealed::ShareKey;
use crate::error::{ErrorCode, PeerError};
use futures::channel::{mpsc, oneshot};
use libp2p::PeerId;
use libp2p_stream::Control;
use std::{cell::RefCell, rc::Rc, sync::Once};
use wasm_bindgen::prelude::*;
use web_sys::EventTarget;

/// A tab in a peerfetch swarm.
#[wasm_bindgen]
pub struct Peer {
    id: String,
    state: Rc<RefCell<TabState>>,
    events: EventTarget,
    commands: mpsc::Sender<Command>,
    control: Control,
    /// Sharing and downloading, or why the tab cannot (no storage).
    content: Result<Content, PeerError>,
}

/// Why a page that is not a secure context cannot join (it would otherwise wait for storage that
/// never comes).
const INSECURE_CONTEXT: &str = "insecure context: peerfetch needs the Origin Private File System \
and WebCrypto, which browsers give only to secure contexts; serve the page over https (or from \
localhost)";

#[wasm_bindgen]
impl Peer {
    /// Joins the swarm through the server at `options.server` (default `location.origin`).
    /// Rejects with an `Error` naming the step that failed (`code`: `ERR_INVALID_OPTIONS`,
    /// `ERR_INSECURE_CONTEXT`, `ERR_UNREACHABLE`, `ERR_INTERNAL`).
    pub async fn join(options: Option<JoinOptionsArg>) -> Result<Peer, JsValue> {
        Ok(Self::join_with(options.map_or(JsValue::UNDEFINED, Into::into)).await?)
    }

    /// This tab's peer id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Where events are dispatched (see docs/js-api.md, "Events", for their names and details).
    #[wasm_bindgen(getter)]
    pub fn events(&self) -> EventTarget {
        self.events.clone()
    }

    /// Open connections: `[{ peer, transport, direction }]`.
    #[wasm_bindgen(unchecked_return_type = "ConnectionInfo[]")]
    pub fn connections(&self) -> Result<JsValue, JsValue> {
        let state = self.state.borrow();
        let list: Vec<_> = state.connections.values().collect();
        Ok(to_js(&list)?)
    }

    /// Counters and RTTs as a plain object, with `offload`: where `fetch` got its bytes
    /// (`{ fromPeers, fromOrigin, fromStore, offloadRatio, peers, resources: { path: { cid,
    /// fromPeers, fromOrigin, fromStore, peers, fetches } } }`).
    #[wasm_bindgen(unchecked_return_type = "PeerStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        let mut stats = serde_json::to_value(self.state.borrow().stats())
            .map_err(|e| PeerError::new(ErrorCode::Internal, e.to_string()))?;
        if let Ok(content) = &self.content {
            stats["offload"] = serde_json::to_value(content.cdn.stats())
                .map_err(|e| PeerError::new(ErrorCode::Internal, e.to_string()))?;
        }
        Ok(to_js(&stats)?)
    }

    /// Like `window.fetch(input, init)`, for a site that publishes a manifest: a `GET` of a
    /// resource the manifest covers is answered from this tab's store, from peers, or from the
    /// origin (only the parts peers did not deliver in time, by `Range`), verified against the
    /// manifest, honouring a `Range` header; anything else goes to the network unchanged.
    /// Resolves to a `Response` (with `x-peerfetch-source: peers | origin | store | …`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        init: Option<RequestInitArg>,
    ) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let request = to_request(&input, init.map(Into::into))?;
            let response = match content {
                Ok(content) => content.cdn.fetch(request).await?,
                Err(_) => pass_through(&request).await?,
            };
            Ok(response.into())
        })
    }

    /// Whether `fetch(input, init)` would look for the resource among peers: a `GET` the
    /// site's manifest covers (loading the manifest if needed).
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn covers(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        init: Option<RequestInitArg>,
    ) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let request = to_request(&input, init.map(Into::into))?;
            let covered = match content {
                Ok(content) => content.cdn.covers(&request).await,
                Err(_) => false,
            };
            Ok(JsValue::from_bool(covered))
        })
    }

    /// Opens a direct browser-to-browser WebRTC connection to `peer` (a peer id string of a tab
    /// joined to the same server), signalled through the server's relay. Resolves once the
    /// direct connection is up (at once if it already is).
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn connect(&mut self, peer: String) -> js_sys::Promise {
        let peer = match parse_peer(&peer) {
            Ok(peer) => peer,
            Err(e) => return js_sys::Promise::reject(&e.into()),
        };
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.try_send(Command::Connect(peer, reply));
        wasm_bindgen_futures::future_to_promise(async move {
            sent.map_err(|_| PeerError::new(ErrorCode::Closed, "the peer is closed or busy"))?;
            match answer.await {
                Ok(Ok(())) => Ok(JsValue::from_str(&peer.to_string())),
                Ok(Err(e)) => Err(PeerError::new(ErrorCode::ConnectFailed, e).into()),
                Err(_) => Err(PeerError::new(
                    ErrorCode::Closed,
                    "the peer closed before the connection was made",
                )
                .into()),
            }
        })
    }

    /// Sends `data` to `peer` on an echo stream and resolves to what came back (a `Uint8Array`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn echo(&self, peer: String, data: Vec<u8>) -> js_sys::Promise {
        let peer = parse_peer(&peer);
        let control = self.control.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let back = echo::echo(control, peer?, data)
                .await
                .map_err(|e| PeerError::new(ErrorCode::ConnectFailed, e))?;
            Ok(js_sys::Uint8Array::from(&back[..]).into())
        })
    }

    /// Sends `bytes` bytes to `peer` on one stream and resolves to `{ bytes, ms, megabytesPerSecond }`
    /// once the peer confirmed it received them all.
    #[wasm_bindgen(js_name = measureThroughput, unchecked_return_type = "Promise<ThroughputResult>")]
    pub fn measure_throughput(&self, peer: String, bytes: f64) -> js_sys::Promise {
        let peer = parse_peer(&peer);
        let control = self.control.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let started = crate::browser::js::clock::now();
            let counted = throughput::send(control, peer?, bytes as u64)
                .await
                .map_err(|e| PeerError::new(ErrorCode::ConnectFailed, e))?;
            let seconds = (crate::browser::js::clock::now() - started).as_secs_f64();
            let result = serde_json::json!({
                "bytes": counted,
                "ms": seconds * 1000.0,
                "megabytesPerSecond": counted as f64 / seconds / 1e6,
            });
            to_js(&result).map_err(Into::into)
        })
    }

    /// Hashes `file` (a `File` or `Blob`), stores it and serves it to other tabs; resolves to
    /// its content id. `options`: `{ name, type, encrypt, onProgress }`, where `onProgress` gets
    /// `{ phase: "hashing" | "storing", bytes, total }`. With `encrypt: true` the file, its name
    /// and type are sealed under a fresh key, and it resolves to `{ cid, key }`: the content id
    /// names the sealed bytes, and only a holder of `key` can open them. Its TypeScript
    /// signatures (one per `encrypt`) are in `types.rs`.
    #[wasm_bindgen(skip_typescript)]
    pub fn share(&self, file: web_sys::Blob, options: Option<ShareOptionsArg>) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let content = content?;
            let options = ShareOptions::read(&options.map_or(JsValue::UNDEFINED, Into::into))?;
            let mut meta = options.meta;
            if meta.name.is_none() {
                meta.name = file.dyn_ref::<web_sys::File>().map(|f| f.name());
            }
            if meta.mime.is_none() && !file.type_().is_empty() {
                meta.mime = Some(file.type_());
            }
            let (id, key) = content
                .share(file, meta, options.encrypt, options.on_progress.as_ref())
                .await?;
            shared(id, key)
        })
    }

    /// Downloads the resource `cid` from the tabs that have it, verifying every piece; resolves
    /// to a `Blob` once all of it is verified and stored. `options`: `{ name, type, key,
    /// onProgress, timeoutMs, signal }`; `onProgress` gets `{ bytes, total, bytesPerSecond,
    /// peers }`. Sealed content (`share(file, { encrypt: true })`) resolves to a `File` opened
    /// with `key`; the store keeps (and seeds) it sealed. Rejects with an `Error` whose `code` is
    /// `ERR_NOT_FOUND`, `ERR_QUOTA_FULL`, `ERR_CANCELLED`, `ERR_INVALID_ARGUMENT`,
    /// `ERR_INVALID_OPTIONS`, `ERR_NO_STORAGE`, `ERR_STORAGE`, `ERR_KEY_NEEDED` (sealed, no key)
    /// or `ERR_WRONG_KEY`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Blob>")]
    pub fn download(&self, cid: String, options: Option<DownloadOptionsArg>) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (content, id) = (content?, parse_content_id(&cid)?);
            let options = DownloadOptions::read(&options.map_or(JsValue::UNDEFINED, Into::into))?;
            Ok(content.download(id, options).await?.into())
        })
    }

    /// Shares several files under one content id (a dropped folder, or a few files): each file
    /// is shared, then an index of their paths, sizes and content ids. A file's path is its
    /// `webkitRelativePath`, or its name. `options`: `{ name, encrypt, onProgress }` as for
    /// `share` (`name` names the collection; with `encrypt: true` every file has a key of its
    /// own, listed in the index, which is sealed under the key it resolves with). Its
    /// TypeScript signatures are in `types.rs`.
    #[wasm_bindgen(js_name = shareFiles, skip_typescript)]
    pub fn share_files(
        &self,
        files: js_sys::Array,
        options: Option<ShareOptionsArg>,
    ) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let content = content?;
            let options = ShareOptions::read(&options.map_or(JsValue::UNDEFINED, Into::into))?;
            let files = files
                .iter()
                .map(|f| f.dyn_into::<web_sys::File>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    PeerError::new(
                        ErrorCode::InvalidArgument,
                        "shareFiles takes an array of File",
                    )
                })?;
            let name = options.meta.name.unwrap_or_else(|| "files".into());
            let (id, key) = content
                .share_collection(files, name, options.encrypt, options.on_progress.as_ref())
                .await?;
            shared(id, key)
        })
    }

    /// Downloads the index of the collection `cid` (`shareFiles`) and resolves to `{ name,
    /// files: [{ path, size, cid, key? }] }`; each file then downloads with
    /// `download(file.cid, { key: file.key })`. `options` as for `download` (`key` opens a
    /// private collection's index). Rejects with `ERR_INVALID_ARGUMENT` when `cid` is not a
    /// collection.
    #[wasm_bindgen(js_name = openCollection, unchecked_return_type = "Promise<CollectionInfo>")]
    pub fn open_collection(
        &self,
        cid: String,
        options: Option<DownloadOptionsArg>,
    ) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (content, id) = (content?, parse_content_id(&cid)?);
            let options = DownloadOptions::read(&options.map_or(JsValue::UNDEFINED, Into::into))?;
            let (name, collection) = content.open_collection(id, options).await?;
            let files: Vec<_> = collection
                .files()
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "path": f.path,
                        "size": f.size,
                        "cid": f.cid.to_string(),
                        "key": f.key.as_ref().map(ShareKey::to_link_text),
                    })
                })
                .collect();
            Ok(to_js(&serde_json::json!({ "name": name, "files": files }))?)
        })
    }

    /// Downloads the files of the collection `cid` (all, or those at `options.paths`) one
    /// after another and saves them, opened when private: as a zip streamed into `options.to`
    /// when it is a `FileSystemFileHandle` (`showSaveFilePicker`), each at its path below
    /// `options.to` when it is a `FileSystemDirectoryHandle` (`showDirectoryPicker`), and
    /// otherwise as a zip in the origin's private storage, which it resolves to (a `File` on
    /// disk, named `<collection name>.zip`, to save with `<a download>`; a public collection's
    /// name is the `name` option, since only its link carries it). `onProgress` gets each
    /// file's `download` progress with `path`, `file`, `files`, `collectionBytes` and
    /// `collectionTotal`. Only a piece at a time is in memory.
    #[wasm_bindgen(
        js_name = saveCollection,
        unchecked_return_type = "Promise<File | undefined>"
    )]
    pub fn save_collection(&self, cid: String, options: Option<SaveOptionsArg>) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (content, id) = (content?, parse_content_id(&cid)?);
            let options = SaveOptions::read(&options.map_or(JsValue::UNDEFINED, Into::into))?;
            let saved = content.save_collection(id, options).await?;
            Ok(saved.map_or(JsValue::UNDEFINED, Into::into))
        })
    }

    /// Whether every piece of `cid` is stored in this tab.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn has(&self, cid: String) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let content = content?;
            let id = parse_content_id(&cid)?;
            let have = content.store.pieces(&id).await.map_err(PeerError::from)?;
            Ok(JsValue::from_bool(have.is_full()))
        })
    }

    /// Stops serving `cid`, cancels its download, and deletes what is stored of it.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn remove(&self, cid: String) -> js_sys::Promise {
        let content = self.content.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let content = content?;
            let id = parse_content_id(&cid)?;
            let (reply, removed) = oneshot::channel();
            content
                .service
                .ask(Request::Remove(id, reply))
                .await
                .map_err(|_| PeerError::closed())?;
            match removed.await {
                Ok(Ok(())) => Ok(JsValue::UNDEFINED),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err(PeerError::closed().into()),
            }
        })
    }

    /// Every resource the tab holds or fetches: `[{ cid, name, bytes, total, pieces,
    /// totalPieces, downloading, peers: [{ peer, bytesReceived, bytesSent, connected }],
    /// banned }]`.
    #[wasm_bindgen(unchecked_return_type = "TransferInfo[]")]
    pub fn transfers(&self) -> Result<JsValue, JsValue> {
        let list = match &self.content {
            Ok(content) => to_js(&*content.service.transfers.borrow()),
            Err(_) => to_js(&Vec::<TransferInfo>::new()),
        };
        Ok(list?)
    }

    /// Bytes of content stored in this tab and the quota: `{ usedBytes, quotaBytes }`.
    #[wasm_bindgen(unchecked_return_type = "StorageInfo")]
    pub fn storage(&self) -> Result<JsValue, JsValue> {
        let content = self.content.as_ref().map_err(|e| e.clone())?;
        Ok(to_js(&serde_json::json!({
            "usedBytes": content.store.used(),
            "quotaBytes": content.store.quota(),
        }))?)
    }

    /// Closes every connection and stops the swarm; a `close` event follows.
    pub fn close(&mut self) {
        if let Ok(content) = &self.content {
            content.service.close();
        }
        if self.commands.try_send(Command::Close).is_err() {
            // Already closing or closed: say so once more for listeners that came late.
            dispatch(&self.events, "close", &serde_json::json!({}));
        }
    }
}

impl Peer {
    async fn join_with(options: JsValue) -> Result<Peer, PeerError> {
        let invalid = |e: String| PeerError::new(ErrorCode::InvalidOptions, e);
        let options: JoinOptions = if options.is_undefined() || options.is_null() {
            JoinOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| invalid(format!("invalid join options: {e}")))?
        };
        install_logging(options.log_level().map_err(invalid)?);
        let window = web_sys::window().ok_or_else(|| {
            PeerError::new(ErrorCode::Internal, "no window: Peer.join runs in a page")
        })?;
        if !window.is_secure_context() {
            return Err(PeerError::new(ErrorCode::InsecureContext, INSECURE_CONTEXT));
        }
        close_links_on_pagehide();
        let server = match &options.server {
            Some(server) => server.clone(),
            None => window
                .location()
                .origin()
                .map_err(|e| PeerError::new(ErrorCode::Internal, js_message(&e)))?,
        };
        let config = options.service_config().map_err(invalid)?;
        let page = window.location().href().unwrap_or_else(|_| server.clone());
        let cdn_config = options.cdn_config(&page).map_err(invalid)?;
        let quota = options.storage_quota().map_err(invalid)?;
        // Opened before joining: once joined, the swarm must be polled without a pause.
        // Bounded like every step of the join; a store that does not open turns sharing off.
        let step = options.step_timeout();
        let store = with_timeout(step, ContentStore::open(quota))
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "the Origin Private File System did not open within {} ms",
                    step.as_millis()
                )))
            });
        let (node, streams) = join(&options, &server).await?;
        let (commands, receiver) = mpsc::channel(64);
        let content = match store {
            Ok(store) => {
                let store = Rc::new(store);
                let local = *node.swarm.local_peer_id();
                let service =
                    ContentService::start(store.clone(), streams, commands.clone(), local, config);
                Ok(Content {
                    cdn: Cdn::new(
                        store.clone(),
                        service.clone(),
                        node.events.clone(),
                        cdn_config,
                    ),
                    store,
                    service,
                })
            }
            Err(e) => {
                tracing::warn!("sharing is off: {e}");
                Err(PeerError::new(
                    ErrorCode::NoStorage,
                    format!("sharing is off: {e}"),
                ))
            }
        };
        let peer = Peer {
            id: node.swarm.local_peer_id().to_string(),
            state: node.state.clone(),
            events: node.events.clone(),
            commands,
            control: node.control.clone(),
            content,
        };
        if options.diagnostics() {
            wasm_bindgen_futures::spawn_local(echo::serve(node.control.clone()));
            wasm_bindgen_futures::spawn_local(throughput::serve(node.control.clone()));
        }
        wasm_bindgen_futures::spawn_local(node.run(receiver));
        Ok(peer)
    }
}

/// The `Request` that `fetch(input, init)` describes.
fn to_request(input: &JsValue, init: Option<JsValue>) -> Result<web_sys::Request, JsValue> {
    let init: web_sys::RequestInit = match init {
        Some(init) if init.is_object() => init.unchecked_into(),
        _ => web_sys::RequestInit::new(),
    };
    match input.dyn_ref::<web_sys::Request>() {
        Some(request) => web_sys::Request::new_with_request_and_init(request, &init),
        None => match input
            .as_string()
            .or_else(|| input.dyn_ref::<web_sys::Url>().map(web_sys::Url::href))
        {
            Some(url) => web_sys::Request::new_with_str_and_init(&url, &init),
            None => Err(PeerError::new(
                ErrorCode::InvalidArgument,
                "fetch takes a URL string or a Request",
            )
            .into()),
        },
    }
}

fn parse_peer(peer: &str) -> Result<PeerId, PeerError> {
    peer.parse().map_err(|e| {
        PeerError::new(
            ErrorCode::InvalidArgument,
            format!("invalid peer id {peer:?}: {e}"),
        )
    })
}

fn parse_content_id(cid: &str) -> Result<ContentId, PeerError> {
    cid.trim().parse().map_err(|e| {
        PeerError::new(
            ErrorCode::InvalidArgument,
            format!("invalid content id: {e}"),
        )
    })
}

/// What `share` and `shareFiles` resolve to: the content id, or `{ cid, key }` when sealed.
fn shared(id: ContentId, key: Option<ShareKey>) -> Result<JsValue, JsValue> {
    match key {
        None => Ok(JsValue::from_str(&id.to_string())),
        Some(key) => Ok(to_js(&serde_json::json!({
            "cid": id.to_string(),
            "key": key.to_link_text(),
        }))?),
    }
}

fn to_js(value: &impl serde::Serialize) -> Result<JsValue, PeerError> {
    to_plain_js(value).map_err(|e| PeerError::new(ErrorCode::Internal, e.to_string()))
}

/// When the page goes away, close every peer connection synchronously (async cleanup does not
/// run during unload), so neighbours and the server notice at once instead of after ICE consent
/// checks time out. One listener for the page's lifetime.
fn close_links_on_pagehide() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let handler =
            Closure::<dyn FnMut()>::new(crate::browser::transport::rtc::close_all_peer_connections);
        let _ =
            window.add_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
        // Lives as long as the page, like the listener it backs.
        handler.forget();
    });
}

fn install_logging(level: tracing::Level) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        console_error_panic_hook::set_once();
        tracing_wasm::set_as_global_default_with_config(
            tracing_wasm::WASMLayerConfigBuilder::new()
                .set_max_level(level)
                .build(),
        );
    });
}

/// Hashes and verifies `megabytes` MiB of generated content in this tab; returns `{ bytes,
/// hashMegabytesPerSecond, verifyMegabytesPerSecond }`. For benchmarks.
#[wasm_bindgen(js_name = measureVerification, unchecked_return_type = "VerificationSpeed")]
pub fn measure_verification(megabytes: u32) -> Result<JsValue, JsValue> {
    let speed = crate::content::verify_speed::measure((megabytes as usize) << 20, || {
        crate::browser::js::clock::now().as_secs_f64()
    });
    Ok(to_js(&speed)?)
}
