//! The tab's content service: one task that owns every resource the tab holds or fetches, the
//! `/peerfetch/swarm/1` links to other tabs about them, and their downloads and uploads.
//!
//! Store reads and writes, dials and lookups run as their own tasks and report back here, so the
//! service never waits on I/O while peers wait on it.

use std::cell::RefCell;
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

    /// Adds a waiter to `id`'s fetch, starting it once the store says which pieces it holds
    /// already (so an interrupted download resumes instead of fetching them again).
    fn download(&mut self, id: ContentId, waiter: Waiter) {
        if let Some(fetch) = self.fetch_mut(&id) {
            fetch.last_activity = now();
            fetch.not_found_after = waiter.not_found_after;
            fetch.wait(waiter.reply, waiter.progress);
            return;
        }
        let store = self.store.clone();
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let have = store.pieces(&id).await;
            if have.is_ok() {
                let _ = store.write_meta(&id, &waiter.meta).await;
            }
            let _ = done.unbounded_send(Done::FetchReady(id, have, waiter));
        });
    }

    /// Starts `id`'s fetch from the pieces held (or fails it if the store could not say).
    fn start_fetch(&mut self, id: ContentId, have: Result<Bitfield, StoreError>, waiter: Waiter) {
        let now = now();
        if self.fetch_mut(&id).is_some() {
            // Another request started it meanwhile.
            return self.download(id, waiter);
        }
        let have = match have {
            Ok(have) => have,
            Err(e) => {
                let _ = waiter.reply.send(Err(e.to_string()));
                return;
            }
        };
        let resource = self
            .resources
            .entry(id)
            .or_insert_with(|| Resource::new(Bitfield::empty(have.len()), ContentMeta::default()));
        let newly_held: Vec<u32> = have.iter().filter(|i| resource.have.insert(*i)).collect();
        if resource.meta.name.is_none() && resource.meta.mime.is_none() {
            resource.meta = waiter.meta.clone();
        }
        let config = DownloadConfig {
            seed: u64::from(now.subsec_nanos()) ^ self.next_link,
            ..DownloadConfig::default()
        };
        let mut fetch = Fetch::new(Download::new(id, resource.have.clone(), config), now);
        fetch.finishing = resource.have.is_full();
        fetch.not_found_after = waiter.not_found_after;
        fetch.wait(waiter.reply, waiter.progress);
        for peer in resource.links.keys() {
            fetch.download.add_peer(*peer, now);
        }
        // Peers linked already learn what the store held beyond what they were told.
        for link in resource.links.values().filter_map(|l| self.links.get(l)) {
            for index in &newly_held {
                link.link.send(&SwarmMessage::HavePiece(*index));
            }
        }
        resource.fetch = Some(fetch);
        self.tell_node(Command::Provide(id));
        self.finish_if_complete(id);
        self.lookup_due(id);
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

    /// Asks the server for providers of `id` if its fetch has room for more links and the last
    /// lookup is old enough.
    fn lookup_due(&mut self, id: ContentId) {
        let now = now();
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let Some(fetch) = resource.fetch.as_mut() else {
            return;
        };
        if fetch.finishing
            || now < fetch.next_lookup
            || resource.links.len() + resource.dialing.len() >= MAX_LINKS
        {
            return;
        }
        fetch.next_lookup = now + LOOKUP_EVERY;
        let (reply, answer) = oneshot::channel();
        self.tell_node(Command::FindProviders(id, reply));
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = answer
                .await
                .unwrap_or_else(|_| Err("the peer closed".to_owned()));
            let _ = done.unbounded_send(Done::Providers(id, result));
        });
    }

    /// Dials providers of `id` it is not linked to, up to [`MAX_LINKS`].
    fn dial_providers(&mut self, id: ContentId, providers: Vec<PeerId>) {
        let now = now();
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let Some(fetch) = resource.fetch.as_mut() else {
            return;
        };
        if !providers.is_empty() {
            fetch.found_provider = true;
        }
        for peer in providers {
            if resource.links.len() + resource.dialing.len() >= MAX_LINKS {
                break;
            }
            let resting = resource
                .unreachable
                .get(&peer)
                .is_some_and(|(until, _)| *until > now);
            if peer == self.local
                || resting
                || resource.links.contains_key(&peer)
                || resource.dialing.contains(&peer)
                || resource.banned.contains(&peer)
            {
                continue;
            }
            resource.dialing.insert(peer);
            let (reply, connected) = oneshot::channel();
            let mut node = self.node.clone();
            let mut control = self.control.clone();
            let done = self.done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = async {
                    node.send(Command::Connect(peer, reply))
                        .await
                        .map_err(|_| "the peer closed".to_owned())?;
                    connected
                        .await
                        .map_err(|_| "the peer closed".to_owned())??;
                    control
                        .open_stream(peer, SWARM_PROTOCOL)
                        .await
                        .map_err(|e| format!("cannot open a swarm stream: {e}"))
                }
                .await;
                let report = match outcome {
                    Ok(stream) => Done::Opened(id, peer, stream),
                    Err(e) => Done::DialFailed(id, peer, e),
                };
                let _ = done.unbounded_send(report);
            });
        }
    }

    /// Takes a new stream: outbound ones are about `content`, inbound ones say with `Want`.
    fn attach(&mut self, peer: PeerId, stream: Stream, content: Option<ContentId>) {
        let link_id = self.next_link;
        self.next_link += 1;
        let link = Link::start(
            link_id,
            peer,
            content.is_some(),
            stream,
            self.link_events.clone(),
        );
        self.links.insert(
            link_id,
            LinkState {
                link,
                content: None,
            },
        );
        if let Some(id) = content {
            self.links[&link_id].link.send(&SwarmMessage::Want(id));
            self.join_resource(link_id, id);
        }
    }

    /// Makes `link` the link to its peer about `id`, and exchanges bitfields.
    fn join_resource(&mut self, link_id: LinkId, id: ContentId) {
        let now = now();
        let Some(state) = self.links.get(&link_id) else {
            return;
        };
        let peer = state.link.peer;
        let Some(resource) = self.resources.get_mut(&id) else {
            // Not ours (any more): closing the stream says so.
            self.links.remove(&link_id);
            return;
        };
        if let Some(existing) = resource.links.get(&peer).copied() {
            // Both tabs opened a stream at once: both keep the one the smaller peer id opened.
            let opener = |outbound: bool| if outbound { self.local } else { peer };
            let new_opener = opener(state.link.outbound);
            let old_opener = opener(self.links[&existing].link.outbound);
            if old_opener <= new_opener {
                self.links.remove(&link_id);
                return;
            }
            self.links.remove(&existing);
            resource.uploads.remove_peer(&peer);
            if let Some(fetch) = resource.fetch.as_mut() {
                fetch.download.remove_peer(&peer, now);
            }
        }
        resource.links.insert(peer, link_id);
        let state = self.links.get_mut(&link_id).expect("checked above");
        state.content = Some(id);
        let have = Bytes::copy_from_slice(resource.have.as_bytes());
        state.link.send(&SwarmMessage::Have(have));
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.download.add_peer(peer, now);
        }
        self.drain_download(id);
    }

    /// Forgets a link and everything its peer was doing through it.
    fn close_link(&mut self, link_id: LinkId) {
        let Some(state) = self.links.remove(&link_id) else {
            return;
        };
        let peer = state.link.peer;
        let Some(id) = state.content else {
            return;
        };
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        if resource.links.get(&peer) != Some(&link_id) {
            return;
        }
        resource.links.remove(&peer);
        resource.uploads.remove_peer(&peer);
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.download.remove_peer(&peer, now());
        }
        self.drain_download(id);
        self.lookup_due(id);
    }

    fn on_link_event(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Progress(link_id) => {
                if let Some((id, peer)) = self.link_target(link_id) {
                    if let Some(fetch) = self.fetch_mut(&id) {
                        fetch.download.progress(&peer, now());
                    }
                }
            }
            LinkEvent::Message(link_id, message) => self.on_message(link_id, message),
            LinkEvent::Malformed(link_id, reason) => {
                tracing::warn!(link = link_id, "malformed swarm message: {reason}");
                if let Some((id, peer)) = self.link_target(link_id) {
                    if let Some(fetch) = self.fetch_mut(&id) {
                        fetch.download.protocol_error(&peer, reason, now());
                    }
                    self.drain_download(id);
                }
                self.close_link(link_id);
            }
            LinkEvent::Closed(link_id, error) => {
                if let Some(error) = error {
                    tracing::debug!(link = link_id, "swarm stream failed: {error}");
                }
                self.close_link(link_id);
            }
        }
    }

    fn link_target(&self, link_id: LinkId) -> Option<(ContentId, PeerId)> {
        let state = self.links.get(&link_id)?;
        Some((state.content?, state.link.peer))
    }

    fn fetch_mut(&mut self, id: &ContentId) -> Option<&mut Fetch> {
        self.resources.get_mut(id)?.fetch.as_mut()
    }

    fn on_message(&mut self, link_id: LinkId, message: SwarmMessage) {
        let Some(state) = self.links.get(&link_id) else {
            return;
        };
        let peer = state.link.peer;
        let Some(id) = state.content else {
            match message {
                SwarmMessage::Want(id) if !state.link.outbound => self.join_resource(link_id, id),
                _ => {
                    tracing::debug!(%peer, "swarm stream did not start with Want");
                    self.links.remove(&link_id);
                }
            }
            return;
        };
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        match message {
            SwarmMessage::Request { id: request, piece } => {
                if let Some(reject) = resource
                    .uploads
                    .request(peer, request, piece, &resource.have)
                {
                    self.links[&link_id].link.send(&reject);
                }
                self.pump_uploads(id);
            }
            SwarmMessage::Cancel { id: request } => {
                resource.uploads.cancel(&peer, request);
            }
            SwarmMessage::Want(_) => {
                if let Some(fetch) = resource.fetch.as_mut() {
                    fetch.download.protocol_error(&peer, "second Want", now());
                }
                self.close_link(link_id);
            }
            message => {
                if let Some(fetch) = resource.fetch.as_mut() {
                    fetch.download.handle(&peer, message, now());
                    self.drain_download(id);
                }
            }
        }
    }

    /// Carries out what `id`'s download asks for.
    fn drain_download(&mut self, id: ContentId) {
        let now = now();
        loop {
            let Some(resource) = self.resources.get_mut(&id) else {
                return;
            };
            let Some(fetch) = resource.fetch.as_mut() else {
                return;
            };
            let Some(event) = fetch.download.poll_event() else {
                fetch.report(now, false);
                return;
            };
            match event {
                Event::Send(peer, message) => {
                    if let Some(state) = resource.links.get(&peer).and_then(|l| self.links.get(l)) {
                        state.link.send(&message);
                    }
                }
                Event::Verified(piece) => {
                    fetch.last_activity = now;
                    let index = piece.index();
                    let stored = stored_form(&piece);
                    resource.have.insert(index);
                    resource.unwritten.insert(index, stored.clone());
                    let store = self.store.clone();
                    let done = self.done.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = store.write_piece(&id, index, &stored).await;
                        let _ = done.unbounded_send(Done::Stored(id, index, result));
                    });
                }
                Event::Drop(peer, reason) => {
                    tracing::warn!(%id, %peer, ?reason, "dropping swarm peer");
                    if reason.is_ban() {
                        resource.banned.insert(peer);
                    }
                    if let Some(link) = resource.links.get(&peer).copied() {
                        self.close_link(link);
                    }
                }
                Event::Finished => {
                    fetch.finishing = true;
                    self.finish_if_complete(id);
                }
            }
        }
    }

    /// Hands out the `Blob` once every piece is verified and written.
    fn finish_if_complete(&mut self, id: ContentId) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let ready = resource.fetch.as_ref().is_some_and(|f| f.finishing)
            && resource.have.is_full()
            && resource.unwritten.is_empty();
        if !ready {
            return;
        }
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.report(now(), true);
        }
        let store = self.store.clone();
        let done = self.done.clone();
        let mime = resource.meta.mime.clone().unwrap_or_default();
        wasm_bindgen_futures::spawn_local(async move {
            let blob = store.blob(&id, &mime).await.map_err(|e| e.to_string());
            let _ = done.unbounded_send(Done::Assembled(id, blob));
        });
        // Settled when the Blob is ready; no more assembling meanwhile.
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.finishing = false;
            fetch.assembling = true;
        }
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
                self.dial_providers(id, peers)
            }
            Done::Providers(id, Err(e)) => tracing::warn!(%id, "provider lookup failed: {e}"),
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

    fn on_stored(&mut self, id: ContentId, index: u32, result: Result<(), StoreError>) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        resource.unwritten.remove(&index);
        match result {
            Ok(()) => self.finish_if_complete(id),
            Err(e) => {
                tracing::warn!(%id, index, "cannot store piece: {e}");
                resource.have.remove(index);
                if let Some(fetch) = resource.fetch.take() {
                    fetch.settle(Err(e.to_string()));
                }
            }
        }
    }

    /// Starts serving queued requests, up to [`UPLOADS_PER_PEER`] at once per peer.
    fn pump_uploads(&mut self, id: ContentId) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        loop {
            let busy = &resource.uploading;
            let Some(upload) = resource
                .uploads
                .next_upload_if(|peer| busy.get(peer).copied().unwrap_or(0) < UPLOADS_PER_PEER)
            else {
                return;
            };
            *resource.uploading.entry(upload.peer).or_default() += 1;
            let done = self.done.clone();
            if let Some(stored) = resource.unwritten.get(&upload.piece).cloned() {
                let layout = PieceLayout::of(&id);
                let encoded =
                    encoded_from_stored(&layout, upload.piece, &stored).map_err(|e| e.to_string());
                let _ = done.unbounded_send(Done::Read(id, upload, encoded));
                continue;
            }
            let store = self.store.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = read_verified(&store, &id, upload.piece).await;
                let _ = done.unbounded_send(Done::Read(id, upload, result));
            });
        }
    }

    /// Sends a piece read from the store (or rejects the request if it could not be read).
    fn on_read(&mut self, id: ContentId, upload: Upload<PeerId>, result: Result<Bytes, String>) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let link = resource
            .links
            .get(&upload.peer)
            .and_then(|l| self.links.get(l));
        let encoded = match result {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::warn!(%id, piece = upload.piece, "cannot serve piece: {e}");
                resource.have.remove(upload.piece);
                if let Some(state) = link {
                    state.link.send(&SwarmMessage::Reject {
                        id: upload.id,
                        reason: RejectReason::NotHave,
                    });
                }
                let _ = self.done.unbounded_send(Done::Uploaded(id, upload.peer, 0));
                return;
            }
        };
        let Some(state) = link else {
            let _ = self.done.unbounded_send(Done::Uploaded(id, upload.peer, 0));
            return;
        };
        #[cfg(feature = "corrupt-uploads")]
        let encoded = if self.corrupt_uploads {
            corrupt(encoded)
        } else {
            encoded
        };
        let message = SwarmMessage::Piece {
            id: upload.id,
            piece: upload.piece,
            encoded,
        };
        let bytes = message.encode();
        let len = bytes.len() as u64;
        let delay = self
            .upload_budget
            .as_mut()
            .map_or(Duration::ZERO, |budget| budget.reserve(len, now()));
        let writer = state.link.writer();
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if !delay.is_zero() {
                gloo_timers::future::sleep(delay).await;
            }
            let _ = writer.send_tracked(bytes).await;
            let _ = done.unbounded_send(Done::Uploaded(id, upload.peer, len));
        });
    }

    fn tick(&mut self) {
        let now = now();
        let ids: Vec<ContentId> = self.resources.keys().copied().collect();
        for id in ids {
            let Some(fetch) = self.fetch_mut(&id) else {
                continue;
            };
            fetch.download.tick(now);
            let idle = now.saturating_sub(fetch.last_activity);
            if !fetch.found_provider
                && !fetch.finishing
                && !fetch.assembling
                && idle >= fetch.not_found_after
            {
                let fetch = self.resources.get_mut(&id).and_then(|r| r.fetch.take());
                if let Some(fetch) = fetch {
                    fetch.settle(Err(format!(
                        "not found in swarm: no peer has {id} (waited {} s)",
                        idle.as_secs()
                    )));
                }
                continue;
            }
            self.drain_download(id);
            self.lookup_due(id);
        }
        self.publish_transfers();
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
                    bytes: resource
                        .have
                        .iter()
                        .filter_map(|i| layout.piece_bytes(i))
                        .map(|r| r.end - r.start)
                        .sum(),
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

/// Reads piece `index` of `id` from the store and checks it before it goes to a peer: a piece
/// damaged on disk is removed, never served.
async fn read_verified(store: &ContentStore, id: &ContentId, index: u32) -> Result<Bytes, String> {
    let stored = store
        .read_piece(id, index)
        .await
        .map_err(|e| e.to_string())?;
    let layout = PieceLayout::of(id);
    let encoded = encoded_from_stored(&layout, index, &stored).map_err(|e| e.to_string());
    let checked = encoded.and_then(|encoded| {
        verify_piece(id, index, &encoded)
            .map(|_| encoded)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = &checked {
        tracing::warn!(%id, index, "stored piece is damaged, removing it: {e}");
        let _ = store.remove_piece(id, index).await;
    }
    checked
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
