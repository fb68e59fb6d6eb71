//! [`ResourceSwarm`]: one resource as the tab sees it, sans-IO: the pieces it holds, the links to
//! peers about it, the uploads it owes them and, while the page asks for it, the download.
//!
//! The caller feeds it [`Input`]s with the time and carries out the [`Output`]s it returns:
//! messages to send, streams to open and close, pieces to write and read, lookups at the
//! server. The rules it keeps:
//!
//! - Links: at most [`ResourceConfig::max_links`] links and dials together, one link per peer.
//!   Links peers open to this tab are held apart: at most [`ResourceConfig::max_inbound_links`]
//!   at once, and new ones at most at [`ResourceConfig::inbound_link_rate`] (peer ids cost
//!   nothing, so a ban per id only holds if new ids come slowly).
//!   When both tabs opened a stream at once, both keep the one the smaller peer id opened.
//! - Providers: the server is asked every [`ResourceConfig::lookup_every`] while there is room
//!   for more links, and at once when a link drops; a banned peer is never dialed again (the
//!   tab leaves out of answers the providers it could not reach lately, see
//!   [`super::unreachable`]).
//! - Giving up: once the server answered (or failed [`ResourceConfig::lookup_failures_as_answer`]
//!   times in a row), the download fails when no byte arrived for its patience while no dial was
//!   under way and no linked peer held a missing piece (or had yet to say what it holds).
//! - Uploads: requests are served in turns across peers, at most
//!   [`ResourceConfig::uploads_per_peer`] at once per peer; a piece that cannot be read is
//!   rejected and dropped from what the tab holds.
//! - Finishing: the resource is handed out once every piece is verified *and* written.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;

use super::ban_list::BanList;
use super::download::{made, Download, DownloadConfig, DropReason, Event, PeerStats};
use super::message::{RejectReason, SwarmMessage};
use super::progress::{Progress, ProgressMeter};
use super::upload_queue::{Upload, UploadQueue, DEFAULT_MAX_QUEUED};
use crate::content::bitfield::Bitfield;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::PieceLayout;
use crate::content::piece_proof::verify_piece;
use crate::content::stored_piece::{encoded_from_stored, stored_form};
use crate::error::{ErrorCode, PeerError};
use crate::util::rate_limit::TokenBucket;

/// `HavePiece`s for pieces a peer said it holds already, beyond one per piece of the resource,
/// after which it is banned.
const MAX_REPEATED_HAVES: u32 = 64;
/// Peers remembered with the bytes they sent this tab, and those remembered with the bytes
/// this tab sent them.
const MAX_REMEMBERED_PEERS: usize = 1024;

/// Names a stream for the life of the tab (the caller allocates them).
pub type LinkId = u64;

/// Tuning of a [`ResourceSwarm`].
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// Links this tab opened and dials, held at once.
    pub max_links: usize,
    /// Links peers opened to this tab, held at once; more are closed.
    pub max_inbound_links: usize,
    /// New links peers may open: a burst, then one per interval; more are closed.
    pub inbound_link_rate: (u32, Duration),
    /// Pieces being read or written to one peer at once.
    pub uploads_per_peer: u32,
    /// Requests a peer may have queued before more are refused as busy.
    pub max_queued_requests: usize,
    /// How often a download asks the server for providers while it has room for more links.
    pub lookup_every: Duration,
    /// Provider lookups failing in a row that count as the server's answer (there are none).
    pub lookup_failures_as_answer: u32,
    /// The download's tuning.
    pub download: DownloadConfig,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        Self {
            max_links: 8,
            max_inbound_links: 32,
            inbound_link_rate: (16, Duration::from_millis(250)),
            uploads_per_peer: 4,
            max_queued_requests: DEFAULT_MAX_QUEUED,
            lookup_every: Duration::from_secs(3),
            lookup_failures_as_answer: 3,
            download: DownloadConfig::default(),
        }
    }
}

/// What happened, for the swarm to decide on.
#[derive(Debug)]
pub enum Input<P> {
    /// More pieces are held (shared by the page, or found in storage).
    Hold(Bitfield),
    /// A stored piece was found damaged and removed: it is no longer held.
    Lost(u32),
    /// The page asks for the resource; `have` is what storage holds, `seed` randomizes the
    /// download's tie-breaks. Asked again while downloading, it only renews the patience.
    Download {
        /// Pieces storage holds already.
        have: Bitfield,
        /// Fail when no provider turns up for this long.
        not_found_after: Duration,
        /// Randomness for the download.
        seed: u64,
    },
    /// A reader waits for these pieces, in order (a `Range` request): while downloading, they
    /// are asked for before any other.
    Prefer(Range<u32>),
    /// The page gave up the download (the caller tells its waiters).
    Cancel,
    /// A stream to `peer` about this resource is open; `outbound` if this tab opened it.
    LinkUp {
        /// The stream.
        link: LinkId,
        /// The peer at the other end.
        peer: P,
        /// Whether this tab opened it.
        outbound: bool,
    },
    /// A stream ended.
    LinkClosed(LinkId),
    /// Bytes arrived on a stream that do not make a whole message yet.
    Bytes(LinkId),
    /// A whole message arrived on a stream.
    Message(LinkId, SwarmMessage),
    /// A stream carried bytes that are not a message.
    Malformed(LinkId, String),
    /// The server's answer to [`Output::Lookup`].
    Providers(Result<Vec<P>, String>),
    /// [`Output::Dial`] failed.
    DialFailed(P),
    /// [`Output::Write`] finished.
    Written(u32, Result<(), PeerError>),
    /// [`Output::Read`] finished: the piece's wire encoding, verified.
    Read(Upload<P>, Result<Bytes, String>),
    /// [`Output::Upload`] is on the stream (or failed: `bytes` 0).
    Uploaded(P, u64),
    /// [`Output::Assemble`] finished; the caller handed the resource to its waiters.
    Assembled,
    /// Time passed.
    Tick,
}

/// What the caller must do.
#[derive(Debug, PartialEq)]
pub enum Output<P> {
    /// Send a message on a stream.
    Send(LinkId, SwarmMessage),
    /// Send a piece on a stream, within the tab's upload budget; report [`Input::Uploaded`].
    Upload(LinkId, Upload<P>, SwarmMessage),
    /// Read piece and verify it from storage; report [`Input::Read`].
    Read(Upload<P>),
    /// Write a verified piece (stored form) to storage; report [`Input::Written`].
    Write(u32, Bytes),
    /// Open a stream to a provider; report [`Input::LinkUp`] or [`Input::DialFailed`].
    Dial(P),
    /// Ask the server who provides the resource; report [`Input::Providers`].
    Lookup,
    /// Close a stream; the swarm has forgotten it.
    Close(LinkId),
    /// Tell the server this tab provides the resource.
    Provide,
    /// Every piece is verified and written: hand the resource out, report [`Input::Assembled`].
    Assemble,
    /// The download ended without the resource (the caller tells its waiters).
    Failed(DownloadError),
    /// A piece of the resource arrived and was verified.
    Activity,
    /// Bytes of a piece arrived from a linked peer, not verified yet (a piece takes a while
    /// when many share the link; this says peers still send).
    Arriving,
    /// A linked peer offered pieces the download lacks: peers answer (once per download).
    Offered,
    /// How the download is going.
    Progress(Progress),
    /// A peer was dropped from the download (a ban if [`DropReason::is_ban`]).
    Dropped(P, DropReason),
}

/// Why a download ended without the resource.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DownloadError {
    /// No reachable peer had any missing piece, for the whole patience.
    #[error("not found in swarm: no reachable peer has {id} (waited {} ms)", waited.as_millis())]
    NotFound {
        /// The resource.
        id: ContentId,
        /// How long the download waited.
        waited: Duration,
    },
    /// A verified piece could not be written.
    #[error("{0}")]
    Store(PeerError),
}

impl From<DownloadError> for PeerError {
    fn from(error: DownloadError) -> Self {
        match error {
            DownloadError::NotFound { .. } => {
                PeerError::new(ErrorCode::NotFound, error.to_string())
            }
            DownloadError::Store(error) => error,
        }
    }
}

/// Where a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Pieces are missing.
    Downloading,
    /// Every piece is verified; the last writes are under way.
    Writing,
    /// The resource is being handed out.
    Assembling,
}

/// One peer's part in the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPart<P> {
    /// The peer.
    pub peer: P,
    /// Verified bytes it sent this tab.
    pub received: u64,
    /// Bytes this tab sent it.
    pub sent: u64,
    /// Whether a link to it is open.
    pub linked: bool,
}

#[derive(Debug)]
struct Wanted<P> {
    download: Download<P>,
    stage: Stage,
    /// When a piece last arrived (or the page last asked).
    last_activity: Duration,
    /// When a linked peer last held (or could still say it holds) a missing piece, or a dial
    /// was under way.
    last_hope: Duration,
    not_found_after: Duration,
    next_lookup: Duration,
    lookup_answered: bool,
    lookup_failures: u32,
    meter: ProgressMeter,
    /// Whether [`Output::Offered`] went out.
    offered: bool,
}

#[derive(Debug, Clone)]
struct LinkInfo<P> {
    peer: P,
    outbound: bool,
    /// What the peer said it holds (kept while no download runs, for the next one).
    has: Option<Bitfield>,
    /// `HavePiece`s it sent for pieces it had said it holds already.
    repeated_haves: u32,
}

/// What [`ResourceSwarm::remember_holdings`] made of a message.
#[derive(Debug, PartialEq, Eq)]
enum Holdings {
    /// Noted.
    Kept,
    /// The peer repeats what it holds past any honest reason.
    Flooded,
}

/// One resource's swarm, from this tab.
#[derive(Debug)]
pub struct ResourceSwarm<P> {
    id: ContentId,
    local: P,
    config: ResourceConfig,
    have: Bitfield,
    /// Verified pieces still being written, served from memory meanwhile.
    unwritten: HashMap<u32, Bytes>,
    wanted: Option<Wanted<P>>,
    uploads: UploadQueue<P>,
    uploading: HashMap<P, u32>,
    links: HashMap<P, LinkId>,
    link_info: HashMap<LinkId, LinkInfo<P>>,
    dialing: HashSet<P>,
    received: BTreeMap<P, u64>,
    sent: BTreeMap<P, u64>,
    banned: BanList<P>,
    /// The id the next download's first request gets: ids go on across downloads, since a
    /// peer may still answer a request of the last one.
    next_request: u32,
    /// Budget of new links peers open.
    inbound_budget: TokenBucket,
    outputs: VecDeque<Output<P>>,
}

impl<P: Copy + Ord + Hash + Debug> ResourceSwarm<P> {
    /// The swarm of `id` for the tab `local`, holding nothing yet.
    pub fn new(id: ContentId, local: P, config: ResourceConfig) -> Self {
        let pieces = PieceLayout::of(&id).piece_count();
        Self {
            id,
            local,
            have: Bitfield::empty(pieces),
            unwritten: HashMap::new(),
            wanted: None,
            uploads: UploadQueue::new(config.max_queued_requests),
            uploading: HashMap::new(),
            links: HashMap::new(),
            link_info: HashMap::new(),
            dialing: HashSet::new(),
            received: BTreeMap::new(),
            sent: BTreeMap::new(),
            banned: BanList::default(),
            next_request: 0,
            inbound_budget: TokenBucket::with_burst(
                config.inbound_link_rate.0,
                config.inbound_link_rate.1,
                Duration::ZERO,
            ),
            outputs: VecDeque::new(),
            config,
        }
    }

    /// The resource.
    pub fn id(&self) -> &ContentId {
        &self.id
    }

    /// Pieces verified (some perhaps still being written).
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Pieces verified and written.
    pub fn written(&self) -> Bitfield {
        let mut written = self.have.clone();
        for index in self.unwritten.keys() {
            written.remove(*index);
        }
        written
    }

    /// Pieces verified but still on their way to storage, in their stored form (the piece's
    /// bytes first): until written, these are the only copy.
    pub fn unwritten(&self) -> &HashMap<u32, Bytes> {
        &self.unwritten
    }

    /// Where the download is, if the page asked for the resource.
    pub fn stage(&self) -> Option<Stage> {
        self.wanted.as_ref().map(|w| w.stage)
    }

    /// The download, while downloading.
    pub fn download(&self) -> Option<&Download<P>> {
        self.wanted.as_ref().map(|f| &f.download)
    }

    /// Peers banned from this swarm.
    pub fn banned(&self) -> impl Iterator<Item = &P> {
        self.banned.iter()
    }

    /// The peers linked, or that sent or were sent part of the resource, in order.
    pub fn peers(&self) -> Vec<PeerPart<P>> {
        let mut peers: Vec<P> = self.received.keys().copied().collect();
        peers.extend(self.sent.keys().copied());
        peers.extend(self.links.keys().copied());
        peers.sort();
        peers.dedup();
        peers
            .into_iter()
            .map(|peer| PeerPart {
                peer,
                received: self.received.get(&peer).copied().unwrap_or(0),
                sent: self.sent.get(&peer).copied().unwrap_or(0),
                linked: self.links.contains_key(&peer),
            })
            .collect()
    }

    /// The next thing to do, if any. Call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.outputs.pop_front()
    }

    /// Takes `input` at `now`.
    pub fn handle(&mut self, now: Duration, input: Input<P>) {
        match input {
            Input::Hold(have) => self.hold(now, &have),
            Input::Lost(index) => self.lose(index),
            Input::Download {
                have,
                not_found_after,
                seed,
            } => self.start_download(now, &have, not_found_after, seed),
            Input::Cancel | Input::Assembled => self.end_download(Ok(())),
            Input::LinkUp {
                link,
                peer,
                outbound,
            } => self.link_up(now, link, peer, outbound),
            Input::LinkClosed(link) => self.close_link(now, link),
            Input::Bytes(link) => {
                // Keeps the peer from counting as silent, but is not progress: only verified
                // pieces are (bytes trickled to look alive must not hold the page).
                if let (Some(peer), Some(wanted)) = (self.linked_peer(link), self.wanted.as_mut()) {
                    wanted.download.progress(&peer, now);
                    self.outputs.push_back(Output::Arriving);
                }
            }
            Input::Message(link, message) => self.on_message(now, link, message),
            Input::Malformed(link, reason) => {
                if let (Some(peer), Some(wanted)) = (self.linked_peer(link), self.wanted.as_mut()) {
                    wanted.download.protocol_error(&peer, reason, now);
                }
                self.drop_link(now, link);
            }
            Input::Providers(answer) => self.on_providers(now, answer),
            Input::DialFailed(peer) => {
                self.dialing.remove(&peer);
            }
            Input::Written(index, result) => self.on_written(now, index, result),
            Input::Read(upload, result) => {
                self.serve(upload, result);
                self.pump_uploads();
            }
            Input::Uploaded(peer, bytes) => {
                self.upload_done(peer, bytes);
                self.pump_uploads();
            }
            Input::Prefer(pieces) => {
                if let Some(wanted) = self.wanted.as_mut() {
                    wanted.download.prefer(pieces, now);
                    self.drain_download(now);
                }
            }
            Input::Tick => {
                if let Some(wanted) = self.wanted.as_mut() {
                    wanted.download.tick(now);
                }
                if !self.give_up_if_not_found(now) {
                    self.drain_download(now);
                    self.lookup_due(now);
                }
            }
        }
        self.close_whole_links(now);
    }

    /// Closes the links on which both ends hold every piece: neither has anything to give the
    /// other, and an open stream costs both tabs a data channel and its buffers (a tab that
    /// fetched a site's hundred assets from one neighbour kept a hundred streams to it).
    fn close_whole_links(&mut self, now: Duration) {
        if !self.have.is_full() {
            return;
        }
        let whole: Vec<LinkId> = self
            .link_info
            .iter()
            .filter(|(_, info)| info.has.as_ref().is_some_and(Bitfield::is_full))
            .map(|(link, _)| *link)
            .collect();
        for link in whole {
            self.forget_link(now, link);
            self.outputs.push_back(Output::Close(link));
        }
    }

    fn linked_peer(&self, link: LinkId) -> Option<P> {
        let info = self.link_info.get(&link)?;
        (self.links.get(&info.peer) == Some(&link)).then_some(info.peer)
    }

    fn hold(&mut self, now: Duration, have: &Bitfield) {
        let newly_held: Vec<u32> = have.iter().filter(|i| self.have.insert(*i)).collect();
        if let Some(wanted) = self.wanted.as_mut() {
            wanted.download.held(&newly_held, now);
        }
        self.announce(&newly_held);
        if let Some(wanted) = self.wanted.as_mut() {
            if self.have.is_full() && wanted.stage == Stage::Downloading {
                wanted.stage = Stage::Writing;
            }
        }
        self.outputs.push_back(Output::Provide);
        self.finish_if_complete(now);
        self.drain_download(now);
    }

    fn start_download(&mut self, now: Duration, have: &Bitfield, patience: Duration, seed: u64) {
        if let Some(wanted) = self.wanted.as_mut() {
            // Another waiter: the most patient one sets the patience.
            wanted.last_activity = now;
            wanted.not_found_after = wanted.not_found_after.max(patience);
            return;
        }
        let newly_held: Vec<u32> = have.iter().filter(|i| self.have.insert(*i)).collect();
        // Peers linked already learn what storage held beyond what they were told.
        self.announce(&newly_held);
        let config = DownloadConfig {
            seed,
            ..self.config.download.clone()
        };
        let mut download =
            Download::new(self.id, self.have.clone(), config).numbering_from(self.next_request);
        // Peers linked before the download started said what they hold already.
        for (peer, link) in &self.links {
            download.add_peer(*peer, now);
            let known = self.link_info.get(link).and_then(|info| info.has.as_ref());
            if let Some(has) = known {
                let has = Bytes::copy_from_slice(has.as_bytes());
                download.handle(peer, SwarmMessage::Have(has), now);
            }
        }
        self.wanted = Some(Wanted {
            download,
            stage: if self.have.is_full() {
                Stage::Writing
            } else {
                Stage::Downloading
            },
            last_activity: now,
            last_hope: now,
            not_found_after: patience,
            next_lookup: now,
            lookup_answered: false,
            lookup_failures: 0,
            meter: ProgressMeter::default(),
            offered: false,
        });
        let links: Vec<LinkId> = self.links.values().copied().collect();
        for link in links {
            self.note_offer(link);
        }
        self.outputs.push_back(Output::Provide);
        self.finish_if_complete(now);
        self.drain_download(now);
        self.lookup_due(now);
    }

    /// Asks the server for providers if the download has room for more links and the last
    /// lookup is old enough.
    fn lookup_due(&mut self, now: Duration) {
        // Links peers opened to us do not take the room of providers we look for.
        let room = self.outbound_links() + self.dialing.len() < self.config.max_links;
        let Some(wanted) = self.wanted.as_mut() else {
            return;
        };
        if wanted.stage != Stage::Downloading || now < wanted.next_lookup || !room {
            return;
        }
        wanted.next_lookup = now + self.config.lookup_every;
        // Only an answer to this question counts as the server's answer.
        wanted.lookup_answered = false;
        self.outputs.push_back(Output::Lookup);
    }

    fn on_providers(&mut self, now: Duration, answer: Result<Vec<P>, String>) {
        let Some(wanted) = self.wanted.as_mut() else {
            return;
        };
        match answer {
            Ok(providers) => {
                wanted.lookup_answered = true;
                wanted.lookup_failures = 0;
                self.dial(providers);
            }
            Err(_) => {
                // Maybe a request lost with its connection: ask again soon. Failing again and
                // again, the server is taken to know of no provider.
                wanted.next_lookup = now;
                wanted.lookup_failures += 1;
            }
        }
        self.give_up_if_not_found(now);
    }

    /// Dials providers not linked, up to the link cap.
    fn dial(&mut self, providers: Vec<P>) {
        for peer in providers {
            if self.outbound_links() + self.dialing.len() >= self.config.max_links {
                break;
            }
            if peer == self.local
                || self.links.contains_key(&peer)
                || self.dialing.contains(&peer)
                || self.banned.contains(&peer)
            {
                continue;
            }
            self.dialing.insert(peer);
            self.outputs.push_back(Output::Dial(peer));
        }
    }

    /// Fails the download with [`DownloadError::NotFound`] if the server answered the last
    /// provider lookup (or failed to, often enough), and for the download's patience no piece
    /// arrived, no dial was under way and no linked peer held a missing piece (or was new enough
    /// to say yet what it holds); says whether it did. (A provider record can outlive its tab,
    /// and tabs downloading the same resource provide it before they hold any of it.)
    fn give_up_if_not_found(&mut self, now: Duration) -> bool {
        let dialing = !self.dialing.is_empty();
        let Some(wanted) = self.wanted.as_mut() else {
            return false;
        };
        let hopeful = dialing || wanted.download.may_obtain_more(now);
        if hopeful {
            wanted.last_hope = now;
        }
        let idle = now.saturating_sub(wanted.last_activity.max(wanted.last_hope));
        let asked = wanted.lookup_answered
            || wanted.lookup_failures >= self.config.lookup_failures_as_answer;
        let unfound = asked
            && wanted.stage == Stage::Downloading
            && !hopeful
            && idle >= wanted.not_found_after;
        if unfound {
            self.end_download(Err(DownloadError::NotFound {
                id: self.id,
                waited: idle,
            }));
        }
        unfound
    }

    fn end_download(&mut self, result: Result<(), DownloadError>) {
        self.record_received();
        if let Some(wanted) = self.wanted.take() {
            self.next_request = wanted.download.next_request();
        }
        if let Err(e) = result {
            self.outputs.push_back(Output::Failed(e));
        }
    }

    fn link_up(&mut self, now: Duration, link: LinkId, peer: P, outbound: bool) {
        if self.banned.contains(&peer)
            || self.links.get(&peer) == Some(&link)
            || (!outbound && !self.links.contains_key(&peer) && !self.admit_inbound(now))
        {
            self.outputs.push_back(Output::Close(link));
            return;
        }
        if outbound {
            self.dialing.remove(&peer);
        }
        if let Some(existing) = self.links.get(&peer).copied() {
            // Both tabs opened a stream at once: both keep the one the smaller peer id opened.
            let opener = |outbound: bool| if outbound { self.local } else { peer };
            let old_outbound = self.link_info.get(&existing).is_some_and(|i| i.outbound);
            if opener(old_outbound) <= opener(outbound) {
                self.outputs.push_back(Output::Close(link));
                return;
            }
            self.forget_link(now, existing);
            self.outputs.push_back(Output::Close(existing));
        }
        self.links.insert(peer, link);
        let info = LinkInfo {
            peer,
            outbound,
            has: None,
            repeated_haves: 0,
        };
        self.link_info.insert(link, info);
        let have = Bytes::copy_from_slice(self.have.as_bytes());
        self.outputs
            .push_back(Output::Send(link, SwarmMessage::Have(have)));
        if let Some(wanted) = self.wanted.as_mut() {
            wanted.download.add_peer(peer, now);
        }
        self.drain_download(now);
    }

    /// Forgets `link` and what its peer was doing through it; says whether it was the peer's
    /// link.
    fn forget_link(&mut self, now: Duration, link: LinkId) -> bool {
        let Some(info) = self.link_info.remove(&link) else {
            return false;
        };
        if self.links.get(&info.peer) != Some(&link) {
            return false;
        }
        self.links.remove(&info.peer);
        self.uploads.remove_peer(&info.peer);
        self.record_received_from(&info.peer);
        if let Some(wanted) = self.wanted.as_mut() {
            wanted.download.remove_peer(&info.peer, now);
        }
        true
    }

    /// A stream ended: what went through it goes elsewhere, and the server is asked again at
    /// once (the peer may still be there on another connection).
    fn close_link(&mut self, now: Duration, link: LinkId) {
        if !self.forget_link(now, link) {
            return;
        }
        if let Some(wanted) = self.wanted.as_mut() {
            wanted.next_lookup = now;
        }
        self.drain_download(now);
        self.lookup_due(now);
    }

    /// Closes a stream this swarm gave up on.
    fn drop_link(&mut self, now: Duration, link: LinkId) {
        self.outputs.push_back(Output::Close(link));
        self.close_link(now, link);
    }

    fn on_message(&mut self, now: Duration, link: LinkId, message: SwarmMessage) {
        let Some(peer) = self.linked_peer(link) else {
            return;
        };
        match message {
            SwarmMessage::Request { id, piece } => {
                if let Some(reject) = self.uploads.request(peer, id, piece, &self.have) {
                    self.outputs.push_back(Output::Send(link, reject));
                }
                self.pump_uploads();
            }
            SwarmMessage::Cancel { id } => {
                self.uploads.cancel(&peer, id);
            }
            SwarmMessage::Want(_) => {
                if let Some(wanted) = self.wanted.as_mut() {
                    wanted.download.protocol_error(&peer, "second Want", now);
                }
                self.drop_link(now, link);
            }
            message => {
                if self.remember_holdings(link, &message) == Holdings::Flooded {
                    let reason = "announces pieces it said it holds, again and again";
                    self.banned.ban(peer);
                    let dropped = Output::Dropped(peer, DropReason::Protocol(reason.into()));
                    self.outputs.push_back(dropped);
                    return self.drop_link(now, link);
                }
                if let Some(wanted) = self.wanted.as_mut() {
                    wanted.download.handle(&peer, message, now);
                    self.note_offer(link);
                    self.drain_download(now);
                } else if let SwarmMessage::Piece { id, piece, encoded } = &message {
                    self.unasked_piece(now, link, peer, *id, *piece, encoded);
                }
            }
        }
    }

    /// A piece came while this tab downloads nothing of the resource (not yet: its storage is
    /// being checked; or no more: an answer to a request cancelled as the download ended).
    /// Nothing is kept, but as during a download, its sender is banned if it answers a request
    /// never made or sends a piece that fails verification: a liar must not go unnoticed for
    /// having lied early.
    fn unasked_piece(
        &mut self,
        now: Duration,
        link: LinkId,
        peer: P,
        request: u32,
        piece: u32,
        encoded: &[u8],
    ) {
        let reason = if !made(request, self.next_request) {
            let reason = format!("sent piece {piece} for request {request}, which was never made");
            DropReason::Protocol(reason)
        } else if self.have.contains(piece) {
            return;
        } else if let Err(e) = verify_piece(&self.id, piece, encoded) {
            DropReason::BadPiece(format!("piece {piece}: {e}"))
        } else {
            return;
        };
        self.banned.ban(peer);
        self.outputs.push_back(Output::Dropped(peer, reason));
        self.drop_link(now, link);
    }

    /// Says once per download that peers answer, when the peer on `link` holds a piece the
    /// download lacks.
    fn note_offer(&mut self, link: LinkId) {
        let Some(wanted) = self.wanted.as_mut().filter(|w| !w.offered) else {
            return;
        };
        let has = self.link_info.get(&link).and_then(|info| info.has.as_ref());
        if has.is_some_and(|has| has.iter().any(|piece| !self.have.contains(piece))) {
            wanted.offered = true;
            self.outputs.push_back(Output::Offered);
        }
    }

    /// Keeps what a linked peer says it holds, for a download that starts later. (A running
    /// download checks these messages itself; a bad one is dropped here.) A peer may announce
    /// a piece again after losing it, but one that keeps repeating itself only makes this tab
    /// work: past [`MAX_REPEATED_HAVES`] more than the resource's pieces, it has flooded.
    fn remember_holdings(&mut self, link: LinkId, message: &SwarmMessage) -> Holdings {
        let pieces = self.have.len();
        let Some(info) = self.link_info.get_mut(&link) else {
            return Holdings::Kept;
        };
        match message {
            SwarmMessage::Have(bits) => info.has = Bitfield::from_bytes(bits, pieces).ok(),
            SwarmMessage::HavePiece(piece) if *piece < pieces => {
                let has = info.has.get_or_insert_with(|| Bitfield::empty(pieces));
                if !has.insert(*piece) {
                    info.repeated_haves += 1;
                    if info.repeated_haves > pieces.saturating_add(MAX_REPEATED_HAVES) {
                        return Holdings::Flooded;
                    }
                }
            }
            _ => {}
        }
        Holdings::Kept
    }

    /// Tells every linked peer about pieces newly held.
    fn announce(&mut self, pieces: &[u32]) {
        for link in self.links.values() {
            for index in pieces {
                self.outputs
                    .push_back(Output::Send(*link, SwarmMessage::HavePiece(*index)));
            }
        }
    }

    /// Leaves `peer` alone for a while (longer after each time): it could not be reached, or
    /// stalled.
    /// A stored piece turned out damaged and was removed. A running download counted it as
    /// held, so it cannot finish: it fails (the page may ask again).
    fn lose(&mut self, index: u32) {
        if !self.have.remove(index) {
            return;
        }
        if self.wanted.is_some() {
            let lost = PeerError::new(
                ErrorCode::Storage,
                format!("piece {index} of {} was damaged in storage", self.id),
            );
            self.end_download(Err(DownloadError::Store(lost)));
        }
    }

    /// Links this tab opened.
    fn outbound_links(&self) -> usize {
        self.link_info.values().filter(|info| info.outbound).count()
    }

    /// Whether a peer not linked yet may open one more link to this tab now.
    fn admit_inbound(&mut self, now: Duration) -> bool {
        let inbound = self.link_info.len() - self.outbound_links();
        inbound < self.config.max_inbound_links && self.inbound_budget.try_take(now)
    }

    /// Carries out what the download asks for.
    fn drain_download(&mut self, now: Duration) {
        loop {
            let Some(wanted) = self.wanted.as_mut() else {
                return;
            };
            let Some(event) = wanted.download.poll_event() else {
                self.report(now, false);
                return;
            };
            match event {
                Event::Send(peer, message) => {
                    if let Some(link) = self.links.get(&peer) {
                        self.outputs.push_back(Output::Send(*link, message));
                    }
                }
                Event::Verified(piece) => {
                    wanted.last_activity = now;
                    self.outputs.push_back(Output::Activity);
                    let index = piece.index();
                    let stored = stored_form(&piece);
                    self.have.insert(index);
                    self.unwritten.insert(index, stored.clone());
                    self.outputs.push_back(Output::Write(index, stored));
                }
                Event::Drop(peer, reason) => {
                    // A stalled peer rests for the whole tab, like one not reached (the tab sees
                    // the drop), and a banned one stays out of this resource.
                    if reason.is_ban() {
                        self.banned.ban(peer);
                    }
                    self.outputs.push_back(Output::Dropped(peer, reason));
                    if let Some(link) = self.links.get(&peer).copied() {
                        self.drop_link(now, link);
                    }
                }
                Event::Finished => {
                    // Pieces may all have come another way, and the resource be on its way
                    // out already.
                    if wanted.stage == Stage::Downloading {
                        wanted.stage = Stage::Writing;
                    }
                    self.finish_if_complete(now);
                }
            }
        }
    }

    fn report(&mut self, now: Duration, force: bool) {
        let Some(wanted) = self.wanted.as_mut() else {
            return;
        };
        let bytes = PieceLayout::of(&self.id).bytes_in(&self.have);
        let peers = wanted
            .download
            .peers()
            .filter(|(_, stats)| stats.open_requests > 0)
            .count();
        if let Some(progress) = wanted.meter.report(now, bytes, self.id.len(), peers, force) {
            self.outputs.push_back(Output::Progress(progress));
        }
        self.record_received();
    }

    /// Keeps what the download's peers delivered, for after they or the download are gone.
    fn record_received(&mut self) {
        let Some(wanted) = self.wanted.as_ref() else {
            return;
        };
        for (peer, PeerStats { verified_bytes, .. }) in wanted.download.peers() {
            if verified_bytes > 0 {
                make_room(&mut self.received, peer);
                self.received.insert(*peer, verified_bytes);
            }
        }
    }

    fn record_received_from(&mut self, peer: &P) {
        let delivered = self.wanted.as_ref().and_then(|wanted| {
            wanted
                .download
                .peers()
                .find(|(p, _)| *p == peer)
                .map(|(_, stats)| stats.verified_bytes)
        });
        if let Some(bytes) = delivered.filter(|bytes| *bytes > 0) {
            make_room(&mut self.received, peer);
            self.received.insert(*peer, bytes);
        }
    }

    /// Hands the resource out once every piece is verified and written.
    fn finish_if_complete(&mut self, now: Duration) {
        let ready = self.stage() == Some(Stage::Writing)
            && self.have.is_full()
            && self.unwritten.is_empty();
        if !ready {
            return;
        }
        self.report(now, true);
        if let Some(wanted) = self.wanted.as_mut() {
            wanted.stage = Stage::Assembling;
        }
        self.outputs.push_back(Output::Assemble);
    }

    fn on_written(&mut self, now: Duration, index: u32, result: Result<(), PeerError>) {
        self.unwritten.remove(&index);
        match result {
            Ok(()) => self.finish_if_complete(now),
            Err(e) => {
                self.have.remove(index);
                if self.wanted.is_some() {
                    self.end_download(Err(DownloadError::Store(e)));
                }
            }
        }
    }

    /// Starts serving queued requests, up to the per-peer limit.
    fn pump_uploads(&mut self) {
        loop {
            let busy = &self.uploading;
            let limit = self.config.uploads_per_peer;
            let Some(upload) = self
                .uploads
                .next_upload_if(|peer| busy.get(peer).copied().unwrap_or(0) < limit)
            else {
                return;
            };
            *self.uploading.entry(upload.peer).or_default() += 1;
            match self.unwritten.get(&upload.piece) {
                Some(stored) => {
                    let layout = PieceLayout::of(&self.id);
                    let encoded = encoded_from_stored(&layout, upload.piece, stored)
                        .map_err(|e| e.to_string());
                    self.serve(upload, encoded);
                }
                None => self.outputs.push_back(Output::Read(upload)),
            }
        }
    }

    /// Sends a piece read for `upload`, or rejects the request if it could not be read.
    fn serve(&mut self, upload: Upload<P>, encoded: Result<Bytes, String>) {
        let link = self.links.get(&upload.peer).copied();
        match (encoded, link) {
            (Ok(encoded), Some(link)) => {
                let message = SwarmMessage::Piece {
                    id: upload.id,
                    piece: upload.piece,
                    encoded,
                };
                self.outputs
                    .push_back(Output::Upload(link, upload, message));
            }
            (Err(_), link) => {
                self.lose(upload.piece);
                if let Some(link) = link {
                    let reject = SwarmMessage::Reject {
                        id: upload.id,
                        reason: RejectReason::NotHave,
                    };
                    self.outputs.push_back(Output::Send(link, reject));
                }
                self.upload_done(upload.peer, 0);
            }
            (Ok(_), None) => self.upload_done(upload.peer, 0),
        }
    }

    fn upload_done(&mut self, peer: P, bytes: u64) {
        if let Some(count) = self.uploading.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                self.uploading.remove(&peer);
            }
        }
        if bytes > 0 {
            make_room(&mut self.sent, &peer);
            *self.sent.entry(peer).or_default() += bytes;
        }
    }
}

/// Makes room in `counts` for `peer` if it is new there and the map is full, by forgetting the
/// peer with the fewest bytes (peer ids are free: what is remembered of them must not grow
/// with them).
fn make_room<P: Ord + Copy>(counts: &mut BTreeMap<P, u64>, peer: &P) {
    if counts.len() < MAX_REMEMBERED_PEERS || counts.contains_key(peer) {
        return;
    }
    let least = counts
        .iter()
        .min_by_key(|(_, bytes)| **bytes)
        .map(|(p, _)| *p);
    if let Some(least) = least {
        counts.remove(&least);
    }
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
