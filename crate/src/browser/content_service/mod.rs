//! The tab's content service: one task that owns every resource the tab holds or fetches, the
//! `/peerfetch/swarm/1` links to other tabs about them, and their downloads and uploads.
//!
//! Store reads and writes, dials and lookups run as their own tasks and report back here, so the
//! service never waits on I/O while peers wait on it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use js_sys::Function;
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::Control;
use serde::Serialize;

mod downloads;
mod links;
mod uploads;

use super::clock::now;
use super::content_fetch::{Fetch, FetchReply};
use super::content_store::{ContentMeta, ContentStore, StoreError};
use super::swarm_link::{Link, LinkEvent, LinkId};
use super::tab_node::Command;
use crate::content::bitfield::Bitfield;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::PieceLayout;
use crate::content::piece_proof::verify_piece;
use crate::content::stored_piece::{encoded_from_stored, stored_form};
use crate::rate_limit::TokenBucket;
use crate::swarm::download::{Download, DownloadConfig, Event};
use crate::swarm::message::{RejectReason, SwarmMessage, PROTOCOL};
use crate::swarm::upload_queue::{Upload, UploadQueue, DEFAULT_MAX_QUEUED};

/// Links held per resource.
const MAX_LINKS: usize = 8;
/// Pieces being read or written to a peer at once.
const UPLOADS_PER_PEER: u32 = 4;
/// How often a fetch asks the server for providers while it has room for more links.
const LOOKUP_EVERY: Duration = Duration::from_secs(3);
/// How long a provider that could not be reached is left alone after its first failure; each
/// further failure doubles it, up to [`MAX_UNREACHABLE_REST`].
const UNREACHABLE_REST: Duration = Duration::from_secs(2);
const MAX_UNREACHABLE_REST: Duration = Duration::from_secs(30);
/// Provider lookups failing in a row that count as the server's answer (there are none).
const LOOKUP_FAILURES_AS_ANSWER: u32 = 3;
/// How often the service runs its timers.
const TICK_MS: u32 = 250;

/// What the page asks of the service.
pub(crate) enum Request {
    /// A resource was hashed and stored by `share()`: serve it.
    Shared(ContentId, ContentMeta),
    /// Fetch a resource; the waiter gets its `Blob` once every piece is verified and stored.
    Download(ContentId, Waiter),
    /// Give up fetching a resource; waiters get `cancelled`.
    Cancel(ContentId),
    /// Which pieces of a resource are verified and written (none if unknown to the service).
    Held(ContentId, oneshot::Sender<Bitfield>),
    /// Stop serving a resource and delete it.
    Remove(ContentId, oneshot::Sender<Result<(), String>>),
}

/// How the page reaches a running service.
#[derive(Clone)]
pub(crate) struct ServiceHandle {
    /// Where requests go.
    pub(crate) requests: mpsc::UnboundedSender<Request>,
    /// What `peer.transfers()` returns, kept up to date.
    pub(crate) transfers: Rc<RefCell<Vec<TransferInfo>>>,
}

/// A page waiting for a download.
pub(crate) struct Waiter {
    /// Name and type to record (from the link).
    pub(crate) meta: ContentMeta,
    /// Called with progress reports.
    pub(crate) progress: Option<Function>,
    /// Give up when no provider turns up for this long.
    pub(crate) not_found_after: Duration,
    /// Cells set to the time whenever bytes of the resource arrive (for waiters that watch).
    pub(crate) activity: Vec<Rc<Cell<Duration>>>,
    /// Gets the `Blob`, or why not.
    pub(crate) reply: FetchReply,
}

/// Tuning of the service, from the join options.
#[derive(Debug, Clone)]
pub(crate) struct ServiceConfig {
    /// Cap on the bytes per second this tab uploads, if any.
    pub(crate) upload_limit: Option<u64>,
    /// Test builds only: flip a byte in every piece served.
    #[cfg(feature = "corrupt-uploads")]
    pub(crate) corrupt_uploads: bool,
}

/// What one resource looks like from the page (`peer.transfers()`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferInfo {
    cid: String,
    name: Option<String>,
    bytes: u64,
    total: u64,
    pieces: u32,
    total_pieces: u32,
    downloading: bool,
    peers: Vec<TransferPeer>,
    banned: Vec<String>,
}

impl TransferInfo {
    /// The resource's content id, string form.
    pub(crate) fn cid(&self) -> &str {
        &self.cid
    }

    /// Peers that sent this tab some of the resource.
    pub(crate) fn suppliers(&self) -> impl Iterator<Item = String> + '_ {
        self.peers
            .iter()
            .filter(|p| p.bytes_received > 0)
            .map(|p| p.peer.clone())
    }
}

/// One peer's part in a transfer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferPeer {
    peer: String,
    bytes_received: u64,
    bytes_sent: u64,
    connected: bool,
}

/// Reports from the tasks the service starts.
enum Done {
    Opened(ContentId, PeerId, Stream),
    DialFailed(ContentId, PeerId, String),
    Providers(ContentId, Result<Vec<PeerId>, String>),
    Stored(ContentId, u32, Result<(), StoreError>),
    Read(ContentId, Upload<PeerId>, Result<Bytes, String>),
    Uploaded(ContentId, PeerId, u64),
    Assembled(ContentId, Result<web_sys::Blob, String>),
    Loaded(ContentId, Bitfield, ContentMeta),
    FetchReady(ContentId, Result<Bitfield, StoreError>, Waiter),
}

/// A resource the tab holds (some or all of) or fetches.
struct Resource {
    meta: ContentMeta,
    have: Bitfield,
    /// Verified pieces still being written, served from memory meanwhile.
    unwritten: HashMap<u32, Bytes>,
    fetch: Option<Fetch>,
    uploads: UploadQueue<PeerId>,
    uploading: HashMap<PeerId, u32>,
    links: HashMap<PeerId, LinkId>,
    dialing: HashSet<PeerId>,
    /// Providers that could not be reached: until when not to try again, and the last rest.
    unreachable: HashMap<PeerId, (Duration, Duration)>,
    received: HashMap<PeerId, u64>,
    sent: HashMap<PeerId, u64>,
    banned: HashSet<PeerId>,
}

impl Resource {
    fn new(have: Bitfield, meta: ContentMeta) -> Self {
        Self {
            meta,
            have,
            unwritten: HashMap::new(),
            fetch: None,
            uploads: UploadQueue::new(DEFAULT_MAX_QUEUED),
            uploading: HashMap::new(),
            links: HashMap::new(),
            dialing: HashSet::new(),
            unreachable: HashMap::new(),
            received: HashMap::new(),
            sent: HashMap::new(),
            banned: HashSet::new(),
        }
    }
}

struct LinkState {
    link: Link,
    /// The resource, once the opener said which (`Want`).
    content: Option<ContentId>,
}

/// The running service.
pub(crate) struct ContentService {
    store: Rc<ContentStore>,
    control: Control,
    node: mpsc::Sender<Command>,
    local: PeerId,
    #[cfg(feature = "corrupt-uploads")]
    corrupt_uploads: bool,
    resources: HashMap<ContentId, Resource>,
    links: HashMap<LinkId, LinkState>,
    next_link: LinkId,
    link_events: mpsc::UnboundedSender<LinkEvent>,
    done: mpsc::UnboundedSender<Done>,
    upload_budget: Option<TokenBucket>,
    transfers: Rc<RefCell<Vec<TransferInfo>>>,
}

/// The stream protocol of swarm links.
const SWARM_PROTOCOL: StreamProtocol = StreamProtocol::new(PROTOCOL);

impl ContentService {
    /// Starts the service for the tab `local`.
    pub(crate) fn start(
        store: Rc<ContentStore>,
        mut control: Control,
        node: mpsc::Sender<Command>,
        local: PeerId,
        config: ServiceConfig,
    ) -> Result<ServiceHandle, String> {
        let incoming = control
            .accept(SWARM_PROTOCOL)
            .map_err(|e| format!("cannot accept swarm streams: {e}"))?;
        let (requests, request_rx) = mpsc::unbounded();
        let (link_events, link_rx) = mpsc::unbounded();
        let (done, done_rx) = mpsc::unbounded();
        let transfers = Rc::new(RefCell::new(Vec::new()));
        let service = Self {
            store,
            control,
            node,
            local,
            upload_budget: config
                .upload_limit
                .map(|rate| TokenBucket::new(rate, now())),
            #[cfg(feature = "corrupt-uploads")]
            corrupt_uploads: config.corrupt_uploads,
            resources: HashMap::new(),
            links: HashMap::new(),
            next_link: 0,
            link_events,
            done,
            transfers: transfers.clone(),
        };
        wasm_bindgen_futures::spawn_local(service.run(request_rx, link_rx, done_rx, incoming));
        Ok(ServiceHandle {
            requests,
            transfers,
        })
    }

    async fn run(
        mut self,
        requests: mpsc::UnboundedReceiver<Request>,
        link_events: mpsc::UnboundedReceiver<LinkEvent>,
        done: mpsc::UnboundedReceiver<Done>,
        incoming: libp2p_stream::IncomingStreams,
    ) {
        self.load_stored();
        let mut requests = requests.fuse();
        let mut link_events = link_events.fuse();
        let mut done = done.fuse();
        let mut incoming = incoming.fuse();
        let mut ticks = gloo_timers::future::IntervalStream::new(TICK_MS).fuse();
        loop {
            futures::select! {
                request = requests.next() => match request {
                    Some(request) => self.on_request(request),
                    None => break,
                },
                event = link_events.next() => if let Some(event) = event {
                    self.on_link_event(event);
                },
                report = done.next() => if let Some(report) = report {
                    self.on_done(report);
                },
                stream = incoming.next() => if let Some((peer, stream)) = stream {
                    self.attach(peer, stream, None);
                },
                _ = ticks.next() => self.tick(),
            }
        }
        for (_, resource) in self.resources.drain() {
            if let Some(fetch) = resource.fetch {
                fetch.settle(Err("cancelled: the peer closed".into()));
            }
        }
    }

    /// Serves what the store holds from earlier visits.
    fn load_stored(&self) {
        let store = self.store.clone();
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let contents = match store.contents().await {
                Ok(contents) => contents,
                Err(e) => return tracing::warn!("cannot list stored content: {e}"),
            };
            for id in contents {
                match store.pieces(&id).await {
                    Ok(have) if have.count() > 0 => {
                        let meta = store.read_meta(&id).await;
                        let _ = done.unbounded_send(Done::Loaded(id, have, meta));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(%id, "cannot read stored pieces: {e}"),
                }
            }
        });
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Shared(id, meta) => {
                let have = Bitfield::full(PieceLayout::of(&id).piece_count());
                self.hold(id, have, meta);
            }
            Request::Download(id, waiter) => self.download(id, waiter),
            Request::Cancel(id) => {
                if let Some(fetch) = self.resources.get_mut(&id).and_then(|r| r.fetch.take()) {
                    fetch.settle(Err(format!("cancelled: download of {id} stopped")));
                }
            }
            Request::Held(id, reply) => {
                let layout = PieceLayout::of(&id);
                let mut held = Bitfield::empty(layout.piece_count());
                if let Some(resource) = self.resources.get(&id) {
                    for index in resource.have.iter() {
                        if !resource.unwritten.contains_key(&index) {
                            held.insert(index);
                        }
                    }
                }
                let _ = reply.send(held);
            }
            Request::Remove(id, reply) => {
                if let Some(resource) = self.resources.remove(&id) {
                    if let Some(fetch) = resource.fetch {
                        fetch.settle(Err(format!("cancelled: {id} was removed")));
                    }
                    for link in resource.links.values() {
                        self.links.remove(link);
                    }
                }
                self.tell_node(Command::Unprovide(id));
                let store = self.store.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = reply.send(store.remove(&id).await.map_err(|e| e.to_string()));
                });
            }
        }
        self.publish_transfers();
    }

    /// Starts serving `id` (merging with what is already known).
    fn hold(&mut self, id: ContentId, have: Bitfield, meta: ContentMeta) {
        let resource = self
            .resources
            .entry(id)
            .or_insert_with(|| Resource::new(Bitfield::empty(have.len()), ContentMeta::default()));
        for index in have.iter() {
            resource.have.insert(index);
        }
        if meta.name.is_some() || meta.mime.is_some() {
            resource.meta = meta;
        }
        if resource.have.is_full() {
            if let Some(fetch) = resource.fetch.as_mut() {
                fetch.finishing = true;
            }
        }
        self.tell_node(Command::Provide(id));
        self.finish_if_complete(id);
    }

    fn tell_node(&mut self, command: Command) {
        if let Err(e) = self.node.try_send(command) {
            // The node's queue is short: wait for room rather than drop the command.
            let command = e.into_inner();
            let mut node = self.node.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = node.send(command).await;
            });
        }
    }

    fn fetch_mut(&mut self, id: &ContentId) -> Option<&mut Fetch> {
        self.resources.get_mut(id)?.fetch.as_mut()
    }

    fn on_done(&mut self, report: Done) {
        match report {
            Done::Opened(id, peer, stream) => {
                if let Some(resource) = self.resources.get_mut(&id) {
                    resource.dialing.remove(&peer);
                    self.attach(peer, stream, Some(id));
                }
            }
            Done::DialFailed(id, peer, error) => {
                tracing::info!(%id, %peer, "cannot reach provider: {error}");
                if let Some(resource) = self.resources.get_mut(&id) {
                    resource.dialing.remove(&peer);
                    // A closed tab stays registered until its record expires: back off.
                    let rest = resource
                        .unreachable
                        .get(&peer)
                        .map_or(UNREACHABLE_REST, |(_, rest)| {
                            (*rest * 2).min(MAX_UNREACHABLE_REST)
                        });
                    resource.unreachable.insert(peer, (now() + rest, rest));
                }
            }
            Done::Providers(id, Ok(peers)) => {
                tracing::debug!(%id, providers = peers.len(), "provider lookup answered");
                if let Some(fetch) = self.fetch_mut(&id) {
                    fetch.lookup_answered = true;
                    fetch.lookup_failures = 0;
                }
                self.dial_providers(id, peers);
                self.give_up_if_not_found(id);
            }
            Done::Providers(id, Err(e)) => {
                // Maybe a request lost with its connection: ask again soon. Failing again and
                // again, the server is taken to know of no provider.
                tracing::info!(%id, "provider lookup failed: {e}");
                if let Some(fetch) = self.fetch_mut(&id) {
                    fetch.next_lookup = now();
                    fetch.lookup_failures += 1;
                }
                self.give_up_if_not_found(id);
            }
            Done::Stored(id, index, result) => self.on_stored(id, index, result),
            Done::Read(id, upload, result) => self.on_read(id, upload, result),
            Done::Uploaded(id, peer, bytes) => {
                if let Some(resource) = self.resources.get_mut(&id) {
                    if let Some(count) = resource.uploading.get_mut(&peer) {
                        *count -= 1;
                        if *count == 0 {
                            resource.uploading.remove(&peer);
                        }
                    }
                    *resource.sent.entry(peer).or_default() += bytes;
                }
                self.pump_uploads(id);
            }
            Done::Assembled(id, result) => {
                if let Some(fetch) = self.resources.get_mut(&id).and_then(|r| r.fetch.take()) {
                    fetch.settle(result);
                }
            }
            Done::Loaded(id, have, meta) => self.hold(id, have, meta),
            Done::FetchReady(id, have, waiter) => self.start_fetch(id, have, waiter),
        }
        self.publish_transfers();
    }

    fn tick(&mut self) {
        let now = now();
        let ids: Vec<ContentId> = self.resources.keys().copied().collect();
        for id in ids {
            let Some(fetch) = self.fetch_mut(&id) else {
                continue;
            };
            fetch.download.tick(now);
            if self.give_up_if_not_found(id) {
                continue;
            }
            self.drain_download(id);
            self.lookup_due(id);
        }
        self.publish_transfers();
    }

    /// Ends `id`'s fetch with `not found in swarm` if the server was asked for providers, none
    /// was ever found, and the fetch's patience ran out; says whether it did.
    fn give_up_if_not_found(&mut self, id: ContentId) -> bool {
        let now = now();
        let Some(fetch) = self.fetch_mut(&id) else {
            return false;
        };
        let idle = now.saturating_sub(fetch.last_activity);
        let asked = fetch.lookup_answered || fetch.lookup_failures >= LOOKUP_FAILURES_AS_ANSWER;
        let unfound = asked
            && !fetch.found_provider
            && !fetch.finishing
            && !fetch.assembling
            && idle >= fetch.not_found_after;
        if !unfound {
            return false;
        }
        if let Some(fetch) = self.resources.get_mut(&id).and_then(|r| r.fetch.take()) {
            fetch.settle(Err(format!(
                "not found in swarm: no peer has {id} (waited {} ms)",
                idle.as_millis()
            )));
        }
        true
    }

    /// Refreshes what `peer.transfers()` returns.
    fn publish_transfers(&mut self) {
        let mut list: Vec<TransferInfo> = self
            .resources
            .iter_mut()
            .map(|(id, resource)| {
                if let Some(fetch) = &resource.fetch {
                    for (peer, stats) in fetch.download.peers() {
                        resource.received.insert(*peer, stats.verified_bytes);
                    }
                }
                let layout = PieceLayout::of(id);
                let mut peers: HashSet<PeerId> = resource.received.keys().copied().collect();
                peers.extend(resource.sent.keys().copied());
                peers.extend(resource.links.keys().copied());
                let mut peers: Vec<TransferPeer> = peers
                    .into_iter()
                    .map(|peer| TransferPeer {
                        peer: peer.to_string(),
                        bytes_received: resource.received.get(&peer).copied().unwrap_or(0),
                        bytes_sent: resource.sent.get(&peer).copied().unwrap_or(0),
                        connected: resource.links.contains_key(&peer),
                    })
                    .collect();
                peers.sort_by(|a, b| a.peer.cmp(&b.peer));
                TransferInfo {
                    cid: id.to_string(),
                    name: resource.meta.name.clone(),
                    bytes: layout.bytes_in(&resource.have),
                    total: id.len(),
                    pieces: resource.have.count(),
                    total_pieces: layout.piece_count(),
                    downloading: resource.fetch.is_some(),
                    peers,
                    banned: resource.banned.iter().map(PeerId::to_string).collect(),
                }
            })
            .collect();
        list.sort_by(|a, b| a.cid.cmp(&b.cid));
        *self.transfers.borrow_mut() = list;
    }
}
