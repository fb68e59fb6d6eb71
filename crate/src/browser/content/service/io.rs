//! [`ServiceIo`]: what the content service carries out for the swarms: store reads and
//! writes, dials, provider lookups, paced uploads. Each runs as its own task and sends a
//! [`Report`] back, so the service never waits on I/O while peers wait on it.

use std::rc::Rc;
use std::time::Duration;

use crate::net::direct_streams::{Control, OpenStreamError};
use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::SinkExt;
use libp2p::{PeerId, Stream};

use crate::browser::content::link::LinkWriter;
use crate::browser::content::store::{ContentStore, StoreError};
use crate::browser::js::clock::now;
use crate::browser::node::command::Command;
use crate::content::bitfield::Bitfield;
use crate::content::content_id::ContentId;
use crate::content::content_meta::ContentMeta;
use crate::error::PeerError;
use crate::swarm::message::SwarmMessage;
use crate::swarm::upload_queue::Upload;
use crate::util::rate_limit::TokenBucket;

/// What a task the service started reports back.
pub(crate) enum Report {
    /// A stream to a provider of the resource opened.
    Opened(ContentId, PeerId, Stream),
    /// The provider could not be reached.
    DialFailed(ContentId, PeerId, String),
    /// The server's answer to a provider lookup.
    Providers(ContentId, Result<Vec<PeerId>, String>),
    /// A piece was written (or not).
    Stored(ContentId, u32, Result<(), StoreError>),
    /// A piece to upload was read and verified (or not).
    Read(ContentId, Upload<PeerId>, Result<Bytes, String>),
    /// An upload is on its stream (bytes sent; 0 if it failed).
    Uploaded(ContentId, PeerId, u64),
    /// The resource was put together for its waiters.
    Assembled(ContentId, Result<web_sys::Blob, PeerError>),
    /// The store holds pieces of a resource from an earlier visit.
    Loaded(ContentId, Bitfield, ContentMeta),
    /// The store said which pieces of a resource to download it holds already.
    DownloadReady(ContentId, Result<Bitfield, StoreError>),
}

/// The service's hands: storage, the node, streams, and the upload budget.
pub(crate) struct ServiceIo {
    store: Rc<ContentStore>,
    control: Control,
    node: mpsc::Sender<Command>,
    reports: mpsc::Sender<Report>,
    upload_budget: Option<TokenBucket>,
    #[cfg(feature = "corrupt-uploads")]
    corrupt_uploads: bool,
}

impl ServiceIo {
    /// Hands that report to `reports`; uploads stay within `upload_limit` bytes per second.
    pub(crate) fn new(
        store: Rc<ContentStore>,
        control: Control,
        node: mpsc::Sender<Command>,
        reports: mpsc::Sender<Report>,
        upload_limit: Option<u64>,
    ) -> Self {
        Self {
            store,
            control,
            node,
            reports,
            upload_budget: upload_limit.map(|rate| TokenBucket::new(rate, now())),
            #[cfg(feature = "corrupt-uploads")]
            corrupt_uploads: false,
        }
    }

    /// Test builds only: flip a byte in every piece served.
    #[cfg(feature = "corrupt-uploads")]
    pub(crate) fn corrupt_uploads(&mut self, corrupt: bool) {
        self.corrupt_uploads = corrupt;
    }

    /// The store.
    pub(crate) fn store(&self) -> &Rc<ContentStore> {
        &self.store
    }

    /// Tells the node (announce, withdraw), waiting for room rather than dropping it.
    pub(crate) fn tell_node(&mut self, command: Command) {
        if let Err(e) = self.node.try_send(command) {
            let command = e.into_inner();
            let mut node = self.node.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = node.send(command).await;
            });
        }
    }

    fn spawn_reporting(&self, task: impl std::future::Future<Output = Report> + 'static) {
        let mut reports = self.reports.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = reports.send(task.await).await;
        });
    }

    /// Reads which pieces of `ids` the store holds, one [`Report::Loaded`] per resource held.
    pub(crate) fn load_stored(&self, ids: Vec<ContentId>) {
        let store = self.store.clone();
        let mut reports = self.reports.clone();
        wasm_bindgen_futures::spawn_local(async move {
            for id in ids {
                match store.pieces(&id).await {
                    Ok(have) if have.count() > 0 => {
                        let meta = store.read_meta(&id).await;
                        let _ = reports.send(Report::Loaded(id, have, meta)).await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(%id, "cannot read stored pieces: {e}"),
                }
            }
        });
    }

    /// Records `meta` and asks the store which pieces of `id` it holds.
    pub(crate) fn prepare_download(&self, id: ContentId, meta: ContentMeta) {
        let store = self.store.clone();
        self.spawn_reporting(async move {
            let have = store.pieces(&id).await;
            if have.is_ok() {
                let _ = store.write_meta(&id, &meta).await;
            }
            Report::DownloadReady(id, have)
        });
    }

    /// Asks the server who provides `id`.
    pub(crate) fn lookup(&mut self, id: ContentId) {
        let (reply, answer) = oneshot::channel();
        self.tell_node(Command::FindProviders(id, reply));
        self.spawn_reporting(async move {
            let result = answer
                .await
                .unwrap_or_else(|_| Err("the peer closed".to_owned()));
            Report::Providers(id, result)
        });
    }

    /// Opens a swarm stream to `peer` about `id`.
    pub(crate) fn dial(&self, id: ContentId, peer: PeerId) {
        let mut node = self.node.clone();
        let mut control = self.control.clone();
        self.spawn_reporting(async move {
            let mut outcome = connect_and_open(&mut node, &mut control, peer).await;
            // When both tabs dialed each other at once, the stream may have gone to the link
            // both then close as the duplicate: once more (connecting waits until it is gone).
            if matches!(&outcome, Err(OpenError::Stream(OpenStreamError::Closed))) {
                outcome = connect_and_open(&mut node, &mut control, peer).await;
            }
            match outcome {
                Ok(stream) => Report::Opened(id, peer, stream),
                Err(e) => Report::DialFailed(id, peer, e.to_string()),
            }
        });
    }

    /// Writes a verified piece.
    pub(crate) fn write(&self, id: ContentId, index: u32, stored: Bytes) {
        let store = self.store.clone();
        self.spawn_reporting(async move {
            let result = store.write_piece(&id, index, &stored).await;
            Report::Stored(id, index, result)
        });
    }

    /// Reads a piece to upload, checking it first.
    pub(crate) fn read(&self, id: ContentId, upload: Upload<PeerId>) {
        let store = self.store.clone();
        self.spawn_reporting(async move {
            let result = store
                .read_verified(&id, upload.piece)
                .await
                .map(|piece| piece.encoded);
            Report::Read(id, upload, result)
        });
    }

    /// Sends a piece on `writer` within the upload budget.
    pub(crate) fn upload(
        &mut self,
        id: ContentId,
        writer: LinkWriter,
        upload: Upload<PeerId>,
        message: SwarmMessage,
    ) {
        #[cfg(feature = "corrupt-uploads")]
        let message = match message {
            SwarmMessage::Piece { id, piece, encoded } if self.corrupt_uploads => {
                SwarmMessage::Piece {
                    id,
                    piece,
                    encoded: corrupt(encoded),
                }
            }
            message => message,
        };
        let bytes = message.encode();
        let len = bytes.len() as u64;
        let delay = self
            .upload_budget
            .as_mut()
            .map_or(Duration::ZERO, |budget| budget.reserve(len, now()));
        self.spawn_reporting(async move {
            if !delay.is_zero() {
                gloo_timers::future::sleep(delay).await;
            }
            let sent = match writer.send_tracked(bytes) {
                Ok(written) => written.await.map_or(0, |()| len),
                Err(_) => 0,
            };
            Report::Uploaded(id, upload.peer, sent)
        });
    }

    /// Puts `id` together as a `Blob` of type `mime`.
    pub(crate) fn assemble(&self, id: ContentId, mime: String) {
        let store = self.store.clone();
        self.spawn_reporting(async move {
            let blob = store.blob(&id, &mime).await.map_err(PeerError::from);
            Report::Assembled(id, blob)
        });
    }
}

/// Why a swarm stream to a provider could not be opened.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("the peer closed")]
    Closed,
    #[error("{0}")]
    Connect(String),
    #[error("cannot open a swarm stream: {0}")]
    Stream(OpenStreamError),
}

/// Makes sure there is a direct connection to `peer` (and no other left to close), then opens a
/// swarm stream on it.
async fn connect_and_open(
    node: &mut mpsc::Sender<Command>,
    control: &mut Control,
    peer: PeerId,
) -> Result<Stream, OpenError> {
    let (reply, connected) = oneshot::channel();
    node.send(Command::Connect(peer, reply))
        .await
        .map_err(|_| OpenError::Closed)?;
    connected
        .await
        .map_err(|_| OpenError::Closed)?
        .map_err(OpenError::Connect)?;
    control.open_stream(peer).await.map_err(OpenError::Stream)
}

/// Test builds only: the piece with one byte flipped, as a lying peer would send it.
#[cfg(feature = "corrupt-uploads")]
fn corrupt(encoded: Bytes) -> Bytes {
    let mut bytes = encoded.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    bytes.into()
}
