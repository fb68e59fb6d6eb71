//! The tab's content service: one task that carries out what the tab's swarms
//! ([`TabSwarms`], sans-IO) decide about every resource the tab holds or downloads, and connects
//! them to the page, the store, the node and the `/peerfetch/swarm/1` streams.
//!
//! Every decision (which providers to dial, when to look up, which stream to keep, when to give
//! up, what to upload) is the swarms'; this task only feeds them what happened and does what
//! they ask, through [`ServiceIo`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use js_sys::Function;
use libp2p::{PeerId, Stream};

mod io;
mod transfers;
mod waiters;

use self::io::{Report, ServiceIo};
pub(crate) use self::transfers::TransferInfo;
pub(crate) use self::waiters::Watch;
use self::waiters::{DownloadReply, Waiters};
use crate::browser::content::link::{Link, LinkEvent, QueueFull, MAX_QUEUED_EVENTS};
use crate::browser::content::store::ContentStore;
use crate::browser::js::clock::now;
use crate::browser::node::command::Command;
use crate::browser::node::tab_node::SwarmStreams;
use crate::content::bitfield::Bitfield;
use crate::content::content_id::ContentId;
use crate::content::content_meta::ContentMeta;
use crate::content::piece_layout::PieceLayout;
use crate::error::{ErrorCode, PeerError};
use crate::net::direct_streams::IncomingStreams;
use crate::swarm::resource::{Input, LinkId, Output};
use crate::swarm::tab::{LinkInput, TabConfig, TabOutput, TabSwarms};

/// How often the service runs the swarms' timers.
const TICK_MS: u32 = 250;
/// Page requests waiting for the service; callers wait while it is full.
const MAX_QUEUED_REQUESTS: usize = 64;
/// Reports of finished tasks waiting for the service; tasks wait while it is full.
const MAX_QUEUED_REPORTS: usize = 256;

/// What the page asks of the service.
pub(crate) enum Request {
    /// A resource was hashed and stored by `share()`: serve it.
    Shared(ContentId, ContentMeta),
    /// Fetch a resource; the waiter gets its `Blob` once every piece is verified and stored.
    Download(ContentId, DownloadWaiter),
    /// A caller stopped waiting for a resource (it dropped its end of the reply first); the
    /// download stops once nobody waits.
    Cancel(ContentId),
    /// A reader waits for these pieces of a resource, in order: ask for them first.
    Prefer(ContentId, Range<u32>),
    /// A stored piece was found damaged and removed.
    Lost(ContentId, u32),
    /// Serve again what the store holds of these resources (kept from an earlier visit: the
    /// site's current manifest names them). What a page stored earlier is not announced on its
    /// own: the server would learn a tab's whole download history at every visit.
    Serve(Vec<ContentId>),
    /// Which pieces of a resource the service holds (none if it does not know the resource).
    Held(ContentId, oneshot::Sender<HeldPieces>),
    /// Stop serving a resource and delete it.
    Remove(ContentId, oneshot::Sender<Result<(), PeerError>>),
}

/// The pieces of a resource the service holds: verified, and either written to the store or
/// (just verified, a write under way) only in memory.
pub(crate) struct HeldPieces {
    /// Every piece verified.
    pub(crate) have: Bitfield,
    /// The stored form (the piece's bytes first) of those not written yet.
    pub(crate) unwritten: HashMap<u32, Bytes>,
}

/// How the page reaches a running service.
#[derive(Clone)]
pub(crate) struct ServiceHandle {
    /// Where requests go (see [`ServiceHandle::ask`]).
    requests: mpsc::Sender<Request>,
    /// What `peer.transfers()` returns, kept up to date.
    pub(crate) transfers: Rc<RefCell<Vec<TransferInfo>>>,
}

/// The service stopped (the peer closed).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the peer is closed")]
pub(crate) struct ServiceClosed;

impl ServiceHandle {
    /// Hands `request` to the service, waiting while its queue is full.
    pub(crate) async fn ask(&self, request: Request) -> Result<(), ServiceClosed> {
        self.requests
            .clone()
            .send(request)
            .await
            .map_err(|_| ServiceClosed)
    }

    /// Stops the service once it has taken the requests already queued: every caller still
    /// waiting gets `ERR_CLOSED`, and later requests fail with [`ServiceClosed`].
    pub(crate) fn close(&self) {
        // Closes the channel for every sender, not only this clone.
        self.requests.clone().close_channel();
    }
}

/// A page waiting for a download.
pub(crate) struct DownloadWaiter {
    /// Name and type to record (from the link).
    pub(crate) meta: ContentMeta,
    /// Called with progress reports.
    pub(crate) progress: Option<Function>,
    /// Give up when no peer has the resource for this long.
    pub(crate) not_found_after: Duration,
    /// Cells the caller watches the download in.
    pub(crate) watch: Watch,
    /// Gets the `Blob`, or why not.
    pub(crate) reply: DownloadReply,
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

/// A download the page asked for whose storage check is under way.
struct Pending {
    waiters: Waiters,
    not_found_after: Duration,
    /// Pieces a reader waits for, to ask for first once the download starts.
    prefer: Option<Range<u32>>,
}

/// What waiters get when the service stops.
fn closed() -> PeerError {
    PeerError::new(ErrorCode::Cancelled, "cancelled: the peer closed")
}

/// The running service.
pub(crate) struct ContentService {
    io: ServiceIo,
    swarms: TabSwarms<PeerId>,
    links: HashMap<LinkId, Link>,
    next_link: LinkId,
    link_events: mpsc::Sender<LinkEvent>,
    /// Who waits for each resource being downloaded.
    waiting: HashMap<ContentId, Waiters>,
    /// Fetches asked for whose stored pieces are being listed.
    pending: HashMap<ContentId, Pending>,
    meta: HashMap<ContentId, ContentMeta>,
    transfers: Rc<RefCell<Vec<TransferInfo>>>,
}

impl ContentService {
    /// Starts the service for the tab `local`.
    pub(crate) fn start(
        store: Rc<ContentStore>,
        streams: SwarmStreams,
        node: mpsc::Sender<Command>,
        local: PeerId,
        config: ServiceConfig,
    ) -> ServiceHandle {
        let (requests, request_rx) = mpsc::channel(MAX_QUEUED_REQUESTS);
        let (link_events, link_rx) = mpsc::channel(MAX_QUEUED_EVENTS);
        let (reports, report_rx) = mpsc::channel(MAX_QUEUED_REPORTS);
        let transfers = Rc::new(RefCell::new(Vec::new()));
        #[allow(unused_mut)]
        let mut io = ServiceIo::new(store, streams.control, node, reports, config.upload_limit);
        #[cfg(feature = "corrupt-uploads")]
        io.corrupt_uploads(config.corrupt_uploads);
        let service = Self {
            io,
            swarms: TabSwarms::new(local, TabConfig::default()),
            links: HashMap::new(),
            next_link: 0,
            link_events,
            waiting: HashMap::new(),
            pending: HashMap::new(),
            meta: HashMap::new(),
            transfers: transfers.clone(),
        };
        wasm_bindgen_futures::spawn_local(service.run(
            request_rx,
            link_rx,
            report_rx,
            streams.incoming,
        ));
        ServiceHandle {
            requests,
            transfers,
        }
    }

    async fn run(
        mut self,
        requests: mpsc::Receiver<Request>,
        link_events: mpsc::Receiver<LinkEvent>,
        reports: mpsc::Receiver<Report>,
        incoming: IncomingStreams,
    ) {
        let mut requests = requests.fuse();
        let mut link_events = link_events.fuse();
        let mut reports = reports.fuse();
        let mut incoming = incoming.fuse();
        let mut ticks = gloo_timers::future::IntervalStream::new(TICK_MS).fuse();
        loop {
            // What peers send (one message at a time, perhaps a flood of them) does not
            // refresh `peer.transfers()`; the page's requests, finished tasks and ticks do.
            let publish = futures::select! {
                request = requests.next() => match request {
                    Some(request) => { self.on_request(request); true }
                    None => break,
                },
                event = link_events.next() => {
                    if let Some(event) = event {
                        self.on_link_event(event);
                    }
                    false
                },
                report = reports.next() => {
                    if let Some(report) = report {
                        self.on_report(report);
                    }
                    true
                },
                stream = incoming.next() => {
                    if let Some((peer, stream)) = stream {
                        self.attach(peer, stream, None);
                    }
                    false
                },
                _ = ticks.next() => { self.swarms.tick(now()); true }
            };
            self.carry_out();
            if publish {
                self.publish_transfers();
            }
        }
        for (_, waiters) in self.waiting.drain() {
            waiters.settle(Err(closed()));
        }
        for (_, pending) in self.pending.drain() {
            pending.waiters.settle(Err(closed()));
        }
    }

    fn on_request(&mut self, request: Request) {
        let now = now();
        match request {
            Request::Shared(id, meta) => {
                self.meta.insert(id, meta);
                let full = Bitfield::full(PieceLayout::of(&id).piece_count());
                self.swarms.handle(now, id, Input::Hold(full));
            }
            Request::Download(id, waiter) => self.download(id, waiter),
            Request::Cancel(id) => {
                // Only the callers that stopped waiting leave; the download stops with the last.
                let waiting = self.waiting.get_mut(&id).is_some_and(Waiters::prune)
                    || self.pending.get_mut(&id).is_some_and(|p| p.waiters.prune());
                if !waiting {
                    self.waiting.remove(&id);
                    self.pending.remove(&id);
                    self.swarms.handle(now, id, Input::Cancel);
                }
            }
            Request::Prefer(id, pieces) => match self.pending.get_mut(&id) {
                Some(pending) => pending.prefer = Some(pieces),
                None => self.swarms.handle(now, id, Input::Prefer(pieces)),
            },
            Request::Lost(id, index) => self.swarms.handle(now, id, Input::Lost(index)),
            Request::Serve(ids) => {
                let ids = ids
                    .into_iter()
                    .filter(|id| self.swarms.resource(id).is_none())
                    .collect();
                self.io.load_stored(ids);
            }
            Request::Held(id, reply) => {
                let held = self.swarms.resource(&id).map_or_else(
                    || HeldPieces {
                        have: Bitfield::empty(PieceLayout::of(&id).piece_count()),
                        unwritten: HashMap::new(),
                    },
                    |swarm| HeldPieces {
                        have: swarm.have().clone(),
                        unwritten: swarm.unwritten().clone(),
                    },
                );
                let _ = reply.send(held);
            }
            Request::Remove(id, reply) => {
                let reason = format!("cancelled: {id} was removed");
                self.settle(id, Err(PeerError::new(ErrorCode::Cancelled, reason)));
                self.swarms.remove(&id);
                self.meta.remove(&id);
                self.io.tell_node(Command::Unprovide(id));
                let store = self.io.store().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = reply.send(store.remove(&id).await.map_err(PeerError::from));
                });
            }
        }
    }

    /// Adds a waiter to `id`'s download, starting it once the store says which pieces it holds
    /// already (so an interrupted download resumes instead of downloading them again).
    fn download(&mut self, id: ContentId, waiter: DownloadWaiter) {
        let DownloadWaiter {
            meta,
            progress,
            not_found_after,
            watch,
            reply,
        } = waiter;
        if let Some(waiters) = self.waiting.get_mut(&id) {
            waiters.add(reply, progress, watch);
            let have = Bitfield::empty(PieceLayout::of(&id).piece_count());
            let renew = Input::Download {
                have,
                not_found_after,
                seed: 0,
            };
            return self.swarms.handle(now(), id, renew);
        }
        let pending = self.pending.entry(id).or_insert_with(|| Pending {
            waiters: Waiters::default(),
            not_found_after,
            prefer: None,
        });
        pending.waiters.add(reply, progress, watch);
        pending.not_found_after = not_found_after;
        let named = self
            .meta
            .get(&id)
            .is_some_and(|m| m.name.is_some() || m.mime.is_some());
        if !named {
            self.meta.insert(id, meta.clone());
        }
        self.io.prepare_download(id, meta);
    }

    /// Settles everyone waiting for `id` with `result`.
    fn settle(&mut self, id: ContentId, result: Result<web_sys::Blob, PeerError>) {
        if let Some(waiters) = self.waiting.remove(&id) {
            waiters.settle(result.clone());
        }
        if let Some(pending) = self.pending.remove(&id) {
            pending.waiters.settle(result);
        }
    }

    fn on_report(&mut self, report: Report) {
        let now = now();
        match report {
            Report::Opened(id, peer, stream) => self.attach(peer, stream, Some(id)),
            Report::DialFailed(id, peer, error) => {
                tracing::info!(%id, %peer, "cannot reach provider: {error}");
                self.swarms.handle(now, id, Input::DialFailed(peer));
            }
            Report::Providers(id, answer) => {
                match &answer {
                    Ok(peers) => tracing::debug!(%id, providers = peers.len(), "provider lookup"),
                    Err(e) => tracing::info!(%id, "provider lookup failed: {e}"),
                }
                self.swarms.handle(now, id, Input::Providers(answer));
            }
            Report::Stored(id, index, result) => {
                let result = result.map_err(PeerError::from);
                if let Err(e) = &result {
                    tracing::warn!(%id, index, "cannot store piece: {e}");
                }
                self.swarms.handle(now, id, Input::Written(index, result));
            }
            Report::Read(id, upload, result) => {
                if let Err(e) = &result {
                    tracing::warn!(%id, piece = upload.piece, "cannot serve piece: {e}");
                }
                self.swarms.handle(now, id, Input::Read(upload, result));
            }
            Report::Uploaded(id, peer, bytes) => {
                self.swarms.handle(now, id, Input::Uploaded(peer, bytes));
            }
            Report::Assembled(id, blob) => {
                self.settle(id, blob);
                self.swarms.handle(now, id, Input::Assembled);
            }
            Report::Loaded(id, have, meta) => {
                self.meta.entry(id).or_insert(meta);
                self.swarms.handle(now, id, Input::Hold(have));
            }
            Report::DownloadReady(id, have) => {
                let Some(pending) = self.pending.remove(&id) else {
                    return;
                };
                let have = match have {
                    Ok(have) => have,
                    Err(e) => return pending.waiters.settle(Err(e.into())),
                };
                self.waiting.insert(id, pending.waiters);
                let download = Input::Download {
                    have,
                    not_found_after: pending.not_found_after,
                    seed: (js_sys::Math::random() * u64::MAX as f64) as u64,
                };
                self.swarms.handle(now, id, download);
                if let Some(pieces) = pending.prefer {
                    self.swarms.handle(now, id, Input::Prefer(pieces));
                }
            }
        }
    }

    /// Takes a new stream: outbound ones are about `about`, inbound ones say with `Want`.
    fn attach(&mut self, peer: PeerId, stream: Stream, about: Option<ContentId>) {
        let link = self.next_link;
        self.next_link += 1;
        let started = Link::start(link, peer, stream, self.link_events.clone());
        self.links.insert(link, started);
        self.swarms.link_opened(now(), link, peer, about);
    }

    fn on_link_event(&mut self, event: LinkEvent) {
        let (link, input) = match event {
            LinkEvent::Progress(link) => (link, LinkInput::Bytes),
            LinkEvent::Message(link, message) => (link, LinkInput::Message(message)),
            LinkEvent::Malformed(link, reason) => {
                tracing::warn!(link, "malformed swarm message: {reason}");
                (link, LinkInput::Malformed(reason))
            }
            LinkEvent::Closed(link, error) => {
                if let Some(error) = error {
                    tracing::debug!(link, "swarm stream failed: {error}");
                }
                self.links.remove(&link);
                (link, LinkInput::Closed)
            }
        };
        self.swarms.link_input(now(), link, input);
    }

    /// Does what the swarms ask.
    fn carry_out(&mut self) {
        while let Some(output) = self.swarms.poll_output() {
            let (id, output) = match output {
                TabOutput::Close(link) => {
                    self.links.remove(&link);
                    continue;
                }
                TabOutput::Resource(id, output) => (id, output),
            };
            match output {
                Output::Send(link, message) => {
                    let sent = self.links.get(&link).map(|l| l.send(&message));
                    if let Some(Err(e)) = sent {
                        self.drop_link(link, e);
                    }
                }
                Output::Upload(link, upload, message) => match self.links.get(&link) {
                    Some(writer) => self.io.upload(id, writer.writer(), upload, message),
                    None => self
                        .swarms
                        .handle(now(), id, Input::Uploaded(upload.peer, 0)),
                },
                Output::Read(upload) => self.io.read(id, upload),
                Output::Write(index, stored) => self.io.write(id, index, stored),
                Output::Dial(peer) => self.io.dial(id, peer),
                Output::Lookup => self.io.lookup(id),
                Output::Close(link) => {
                    self.links.remove(&link);
                }
                Output::Provide => self.io.tell_node(Command::Provide(id)),
                Output::Assemble => {
                    let mime = self.meta.get(&id).and_then(|m| m.mime.clone());
                    self.io.assemble(id, mime.unwrap_or_default());
                }
                Output::Failed(error) => self.settle(id, Err(error.into())),
                Output::Activity => {
                    if let Some(waiters) = self.waiting.get(&id) {
                        waiters.touch(now());
                    }
                }
                Output::Arriving => {
                    if let Some(waiters) = self.waiting.get(&id) {
                        waiters.arriving(now());
                    }
                }
                Output::Offered => {
                    if let Some(waiters) = self.waiting.get(&id) {
                        waiters.offered(now());
                    }
                }
                Output::Progress(progress) => {
                    if let Some(waiters) = self.waiting.get(&id) {
                        waiters.report(&progress);
                    }
                }
                Output::Dropped(peer, reason) => {
                    tracing::warn!(%id, %peer, ?reason, "dropping swarm peer");
                }
            }
        }
    }

    /// Closes a link whose peer does not read; its swarm learns it closed.
    fn drop_link(&mut self, link: LinkId, reason: QueueFull) {
        tracing::warn!(link, "closing swarm stream: {reason}");
        self.links.remove(&link);
        self.swarms.link_input(now(), link, LinkInput::Closed);
    }

    /// Refreshes what `peer.transfers()` returns.
    fn publish_transfers(&mut self) {
        let mut list: Vec<TransferInfo> = self
            .swarms
            .resources()
            .map(|swarm| {
                let name = self.meta.get(swarm.id()).and_then(|m| m.name.clone());
                TransferInfo::of(swarm, name)
            })
            .collect();
        list.sort_by(|a, b| a.cid().cmp(b.cid()));
        *self.transfers.borrow_mut() = list;
    }
}
