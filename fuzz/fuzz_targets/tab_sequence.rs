//! A tab's [`TabSwarms`] (and through it each resource's `ResourceSwarm`) with two real
//! resources, driven by arbitrary sequences: the page holding, losing, downloading, cancelling
//! and dropping resources; peers (known ones, and ever new ids) opening streams, naming
//! resources with `Want` (ours or unknown), sending any message (floods of `HavePiece`, requests
//! for pieces not held, genuine and forged pieces), trickling bytes, sending garbage, closing;
//! the server answering lookups; dials, storage writes and reads and uploads completing or
//! failing, in any order; time jumping. After every step:
//!
//! - every piece written to storage and every piece uploaded is the true one;
//! - the resource is handed out only when storage holds every piece, and the swarm never counts
//!   as written a piece storage does not hold;
//! - messages go only on open streams about their resource; requests only for pieces not held,
//!   under ids not open on that stream; cancels name open requests; after time passes no request
//!   is older than the request timeout;
//! - an inbound stream whose first message is not a `Want` of a resource the tab has closes at
//!   once; at most `max_unnamed_links` wait for their `Want`, none past `want_timeout`; a request
//!   for a piece the tab does not hold is refused (`NotHave`) at once;
//! - links opened and dials under way stay within `max_links`; reads and uploads under way to
//!   one peer within `uploads_per_peer`;
//! - the outputs of one step are bounded by the streams open; the streams the tab tracks are
//!   ones that are open; each swarm's peers are linked or have exchanged verified bytes; the
//!   download's peers are linked.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use peerfetch::content::content_id::ContentId;
use peerfetch::error::{ErrorCode, PeerError};
use peerfetch::swarm::message::{RejectReason, SwarmMessage};
use peerfetch::swarm::resource::{Input, LinkId, Output};
use peerfetch::swarm::tab::{LinkInput, TabConfig, TabOutput, TabSwarms};
use peerfetch::swarm::upload_queue::Upload;
use peerfetch_fuzz::clock::{Clock, Jump};
use peerfetch_fuzz::ledger::Ledger;
use peerfetch_fuzz::peer_says::{answers, Bits, PeerMessage, PieceRef};
use peerfetch_fuzz::resource::Resource;

/// This tab's peer id.
const LOCAL: u32 = 0;
/// Peers that come back are `1..=KNOWN_PEERS`; new ids are above.
const KNOWN_PEERS: u8 = 6;

#[derive(Arbitrary, Debug)]
struct Run {
    steps: Vec<Step>,
}

/// A peer id: one that comes back, or one never seen.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum PeerRef {
    Known(u8),
    Fresh,
}

/// A provider named by the server.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ProviderRef {
    Peer(PeerRef),
    /// This tab itself.
    Us,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// The page shares pieces of a resource.
    Hold { res: u8, bits: Bits },
    /// A stored piece was found damaged and removed.
    Lost { res: u8, piece: PieceRef },
    /// The page asks for a resource (storage holds `have`).
    Download {
        res: u8,
        have: Bits,
        patience_s: u8,
        seed: u8,
    },
    /// A reader waits for pieces `first..first + len` of a resource.
    Prefer { res: u8, first: u8, len: u8 },
    /// The page gives up its download.
    Cancel(u8),
    /// The tab drops a resource.
    Remove(u8),
    /// A peer opens a stream to us.
    Inbound(PeerRef),
    /// A dial the tab asked for opens a stream, or fails.
    Dialed { dial: u8, ok: bool },
    /// A peer says something on one of the streams (any, even closed ones).
    Says { link: u8, message: PeerMessage },
    /// Bytes trickle in on a stream.
    Trickle(u8),
    /// A stream carries garbage.
    Garbled(u8),
    /// A stream ends.
    Closed(u8),
    /// The server answers a lookup about a resource (or fails).
    Providers {
        res: u8,
        answer: Option<Vec<ProviderRef>>,
    },
    /// A storage write finishes.
    Written { write: u8, ok: bool },
    /// A storage read finishes (it fails if storage lacks the piece).
    Read { read: u8, ok: bool },
    /// An upload left (or failed).
    Uploaded { upload: u8, ok: bool },
    /// The resource was handed out.
    Assembled(u8),
    /// Time passes.
    Wait(Jump),
}

/// A stream, as the harness sees it.
#[derive(Debug)]
struct Link {
    id: LinkId,
    peer: u32,
    /// The resource it is about, once known.
    res: Option<usize>,
    /// Whether this tab opened it.
    outbound: bool,
    opened: Duration,
    open: bool,
}

/// One resource, as the harness sees it.
struct Model {
    resource: &'static Resource,
    /// Which pieces storage holds.
    stored: Vec<bool>,
    dials: Vec<u32>,
    writes: Vec<u32>,
    reads: Vec<Upload<u32>>,
    uploads: Vec<(u32, u64)>,
    assembling: bool,
}

impl Model {
    /// The resource was dropped: answers to what its swarm asked are not awaited.
    fn forget_pending(&mut self) {
        self.dials.clear();
        self.writes.clear();
        self.reads.clear();
        self.uploads.clear();
        self.assembling = false;
    }
}

struct Harness {
    tab: TabSwarms<u32>,
    config: TabConfig,
    clock: Clock,
    models: Vec<Model>,
    ids: Vec<ContentId>,
    links: Vec<Link>,
    /// Requests the tab has open on each stream.
    ledger: Ledger<LinkId>,
    /// A stream the last step must have closed.
    must_close: Option<usize>,
    /// A request (stream, id) the last step must have refused as not held, and whether it did.
    must_refuse: Option<(LinkId, u32, bool)>,
    next_fresh: u32,
}

impl Harness {
    fn new() -> Self {
        let resources = [Resource::three_pieces(), Resource::one_piece()];
        let config = TabConfig::default();
        Self {
            tab: TabSwarms::new(LOCAL, config.clone()),
            config,
            clock: Clock::default(),
            models: resources
                .iter()
                .map(|resource| Model {
                    resource,
                    stored: vec![false; resource.pieces() as usize],
                    dials: Vec::new(),
                    writes: Vec::new(),
                    reads: Vec::new(),
                    uploads: Vec::new(),
                    assembling: false,
                })
                .collect(),
            ids: resources.iter().map(|r| r.id()).collect(),
            links: Vec::new(),
            ledger: Ledger::default(),
            must_close: None,
            must_refuse: None,
            next_fresh: 1000,
        }
    }

    fn peer(&mut self, peer: PeerRef) -> u32 {
        match peer {
            PeerRef::Known(k) => 1 + u32::from(k % KNOWN_PEERS),
            PeerRef::Fresh => {
                self.next_fresh += 1;
                self.next_fresh
            }
        }
    }

    fn res(&self, res: u8) -> usize {
        usize::from(res) % self.models.len()
    }

    fn link(&self, k: u8) -> Option<usize> {
        (!self.links.is_empty()).then(|| usize::from(k) % self.links.len())
    }

    fn open_link(&mut self, peer: u32, res: Option<usize>) {
        let id = self.links.len() as LinkId;
        self.links.push(Link {
            id,
            peer,
            res,
            outbound: res.is_some(),
            opened: self.clock.now(),
            open: true,
        });
        let about = res.map(|r| self.ids[r]);
        self.tab.link_opened(self.clock.now(), id, peer, about);
    }

    /// Hands input `input` to resource `r`'s swarm.
    fn input(&mut self, r: usize, input: Input<u32>) {
        self.tab.handle(self.clock.now(), self.ids[r], input);
    }

    fn step(&mut self, step: &Step) {
        let open_before = self.links.iter().filter(|l| l.open).count();
        self.apply(step);
        let outputs = self.drain();
        if let Some(k) = self.must_close.take() {
            let link = &self.links[k];
            assert!(
                !link.open,
                "{link:?} started wrong or named what the tab lacks"
            );
        }
        if let Some((link, id, refused)) = self.must_refuse.take() {
            assert!(
                refused,
                "request {id} on stream {link} for a piece not held, not refused"
            );
        }
        self.forget_ended_downloads();
        self.check(outputs, open_before, matches!(step, Step::Wait(_)));
    }

    fn apply(&mut self, step: &Step) {
        let now = self.clock.now();
        match step {
            Step::Hold { res, bits } => {
                let r = self.res(*res);
                let field = bits.field(self.models[r].resource.pieces());
                field
                    .iter()
                    .for_each(|i| self.models[r].stored[i as usize] = true);
                self.input(r, Input::Hold(field));
            }
            Step::Lost { res, piece } => {
                let r = self.res(*res);
                let index = piece.index(self.models[r].resource.pieces());
                if let Some(stored) = self.models[r].stored.get_mut(index as usize) {
                    *stored = false;
                }
                self.input(r, Input::Lost(index));
            }
            Step::Download {
                res,
                have,
                patience_s,
                seed,
            } => {
                let r = self.res(*res);
                let have = have.field(self.models[r].resource.pieces());
                have.iter()
                    .for_each(|i| self.models[r].stored[i as usize] = true);
                let input = Input::Download {
                    have,
                    not_found_after: Duration::from_secs(u64::from(*patience_s)),
                    seed: u64::from(*seed),
                };
                self.input(r, input);
            }
            Step::Prefer { res, first, len } => {
                let first = u32::from(*first);
                let r = self.res(*res);
                self.input(r, Input::Prefer(first..first + u32::from(*len)));
            }
            Step::Cancel(res) => {
                // The page stopped waiting: a hand-out under way is no longer awaited, and a
                // later download may hand the resource out again.
                let r = self.res(*res);
                self.models[r].assembling = false;
                self.input(r, Input::Cancel);
            }
            Step::Remove(res) => {
                let r = self.res(*res);
                self.models[r].forget_pending();
                self.tab.remove(&self.ids[r]);
            }
            Step::Inbound(peer) => {
                let peer = self.peer(*peer);
                self.open_link(peer, None);
            }
            Step::Dialed { dial, ok } => {
                let pending: Vec<(usize, usize)> = (0..self.models.len())
                    .flat_map(|r| (0..self.models[r].dials.len()).map(move |k| (r, k)))
                    .collect();
                if let Some(&(r, k)) = pending.get(usize::from(*dial) % pending.len().max(1)) {
                    let peer = self.models[r].dials.remove(k);
                    if *ok {
                        self.open_link(peer, Some(r));
                    } else {
                        self.input(r, Input::DialFailed(peer));
                    }
                }
            }
            Step::Says { link, message } => {
                let Some(k) = self.link(*link) else {
                    return;
                };
                let (id, res) = (self.links[k].id, self.links[k].res.unwrap_or(0));
                let resource = self.models[res].resource;
                let message = message.message(resource, &self.ids, self.ledger.open(id));
                if let Some(answered) = answers(&message) {
                    self.ledger.settle(id, answered);
                }
                let link = &self.links[k];
                if link.open && !link.outbound && link.res.is_none() {
                    // The first message of an inbound stream: a Want of something the tab has,
                    // or the stream closes.
                    let named = match &message {
                        SwarmMessage::Want(named) => self.ids.iter().position(|i| i == named),
                        _ => None,
                    };
                    let held = named.is_some_and(|r| self.tab.resource(&self.ids[r]).is_some());
                    self.links[k].res = named;
                    if !held {
                        self.must_close = Some(k);
                    }
                } else if let (true, Some(r), SwarmMessage::Request { id: asked, piece }) =
                    (link.open, link.res, &message)
                {
                    let swarm = self.tab.resource(&self.ids[r]);
                    if swarm.is_some_and(|swarm| !swarm.have().contains(*piece)) {
                        self.must_refuse = Some((id, *asked, false));
                    }
                }
                self.tab.link_input(now, id, LinkInput::Message(message));
            }
            Step::Trickle(link) => {
                if let Some(k) = self.link(*link) {
                    self.tab.link_input(now, self.links[k].id, LinkInput::Bytes);
                }
            }
            Step::Garbled(link) => {
                if let Some(k) = self.link(*link) {
                    let input = LinkInput::Malformed("garbage".into());
                    self.tab.link_input(now, self.links[k].id, input);
                }
            }
            Step::Closed(link) => {
                if let Some(k) = self.link(*link) {
                    let id = self.links[k].id;
                    self.closed(id);
                    self.tab.link_input(now, id, LinkInput::Closed);
                }
            }
            Step::Providers { res, answer } => {
                let answer = match answer {
                    Some(providers) => Ok(providers
                        .iter()
                        .map(|p| match p {
                            ProviderRef::Peer(peer) => self.peer(*peer),
                            ProviderRef::Us => LOCAL,
                        })
                        .collect()),
                    None => Err("server unreachable".to_string()),
                };
                self.input(self.res(*res), Input::Providers(answer));
            }
            Step::Written { write, ok } => {
                let Some((r, k)) = self.pending(*write, |m| m.writes.len()) else {
                    return;
                };
                let index = self.models[r].writes.remove(k);
                self.models[r].stored[index as usize] = *ok;
                let result = if *ok {
                    Ok(())
                } else {
                    Err(PeerError::new(ErrorCode::QuotaFull, "quota full"))
                };
                self.input(r, Input::Written(index, result));
            }
            Step::Read { read, ok } => {
                let Some((r, k)) = self.pending(*read, |m| m.reads.len()) else {
                    return;
                };
                let upload = self.models[r].reads.remove(k);
                let model = &self.models[r];
                let result = match model.resource.encoded(upload.piece) {
                    Some(encoded) if *ok && model.stored[upload.piece as usize] => {
                        Ok(encoded.clone())
                    }
                    _ => Err("damaged".to_string()),
                };
                self.input(r, Input::Read(upload, result));
            }
            Step::Uploaded { upload, ok } => {
                let Some((r, k)) = self.pending(*upload, |m| m.uploads.len()) else {
                    return;
                };
                let (peer, bytes) = self.models[r].uploads.remove(k);
                self.input(r, Input::Uploaded(peer, if *ok { bytes } else { 0 }));
            }
            Step::Assembled(res) => {
                let r = self.res(*res);
                if std::mem::take(&mut self.models[r].assembling) {
                    self.input(r, Input::Assembled);
                }
            }
            Step::Wait(jump) => {
                let resource = &self.config.resource;
                let timeouts = [
                    resource.download.stall_timeout,
                    resource.download.request_timeout,
                    resource.lookup_every,
                    self.config.want_timeout,
                ];
                let now = self.clock.advance(*jump, &timeouts);
                self.tab.tick(now);
            }
        }
    }

    /// The `k`-th pending answer among all resources, as (resource, index in its list).
    fn pending(&self, k: u8, list: impl Fn(&Model) -> usize) -> Option<(usize, usize)> {
        let total: usize = self.models.iter().map(&list).sum();
        let mut k = usize::from(k) % total.max(1);
        for (r, model) in self.models.iter().enumerate() {
            if k < list(model) {
                return Some((r, k));
            }
            k -= list(model);
        }
        None
    }

    /// Requests of a download that ended are nobody's any more (a new download numbers its
    /// requests afresh).
    fn forget_ended_downloads(&mut self) {
        for (r, id) in self.ids.iter().enumerate() {
            let downloading = self
                .tab
                .resource(id)
                .is_some_and(|swarm| swarm.download().is_some());
            if !downloading {
                for link in self.links.iter().filter(|l| l.res == Some(r)) {
                    self.ledger.forget(link.id);
                }
            }
        }
    }

    fn closed(&mut self, id: LinkId) {
        if let Some(link) = self.links.get_mut(id as usize) {
            link.open = false;
        }
        self.ledger.forget(id);
    }

    /// Takes every output, checking each; returns how many there were.
    fn drain(&mut self) -> usize {
        let mut count = 0;
        while let Some(output) = self.tab.poll_output() {
            count += 1;
            match output {
                TabOutput::Close(link) => self.closed(link),
                TabOutput::Resource(id, output) => {
                    let r = self
                        .ids
                        .iter()
                        .position(|i| *i == id)
                        .expect("outputs are about our resources");
                    self.on_output(r, output);
                }
            }
        }
        count
    }

    /// The stream `id`, checked to be open and about resource `r`.
    fn sending_on(&self, id: LinkId, r: usize, what: &dyn std::fmt::Debug) -> &Link {
        let link = &self.links[id as usize];
        assert!(link.open, "{what:?} on closed stream {link:?}");
        assert_eq!(
            link.res,
            Some(r),
            "{what:?} on a stream about another resource"
        );
        link
    }

    fn on_output(&mut self, r: usize, output: Output<u32>) {
        let now = self.clock.now();
        let resource = self.models[r].resource;
        match output {
            Output::Send(link, message) => {
                self.sending_on(link, r, &message);
                match message {
                    SwarmMessage::Request { id, piece } => {
                        let swarm = self.tab.resource(&self.ids[r]).expect("it sent");
                        assert!(piece < resource.pieces(), "request for piece {piece}");
                        assert!(
                            !swarm.have().contains(piece),
                            "request for piece {piece}, which the tab holds"
                        );
                        self.ledger.asked(link, id, piece, now);
                    }
                    SwarmMessage::Cancel { id } => self.ledger.cancelled(link, id),
                    SwarmMessage::Piece { .. } => panic!("a piece sent outside the upload budget"),
                    SwarmMessage::Reject { id, reason } => {
                        if let Some((asked_on, asked, refused)) = &mut self.must_refuse {
                            let not_have = reason == RejectReason::NotHave;
                            *refused |= not_have && (*asked_on, *asked) == (link, id);
                        }
                    }
                    SwarmMessage::Want(_) | SwarmMessage::Have(_) | SwarmMessage::HavePiece(_) => {}
                }
            }
            Output::Upload(link, upload, message) => {
                let peer = self.sending_on(link, r, &upload).peer;
                assert_eq!(peer, upload.peer, "upload to the wrong peer");
                let SwarmMessage::Piece { id, piece, encoded } = message else {
                    panic!("upload of {message:?}");
                };
                assert_eq!((id, piece), (upload.id, upload.piece));
                assert!(
                    resource.encoded(piece) == Some(&encoded),
                    "uploaded piece {piece} is not the true one"
                );
                self.models[r].uploads.push((peer, encoded.len() as u64));
            }
            Output::Read(upload) => {
                assert!(upload.piece < resource.pieces(), "read of {upload:?}");
                self.models[r].reads.push(upload);
            }
            Output::Write(index, stored) => {
                assert!(
                    resource.stored(index) == Some(&stored),
                    "piece {index} written is not the true one"
                );
                self.models[r].writes.push(index);
            }
            Output::Dial(peer) => {
                assert_ne!(peer, LOCAL, "dials itself");
                self.models[r].dials.push(peer);
            }
            Output::Close(link) => self.closed(link),
            Output::Assemble => {
                let model = &mut self.models[r];
                assert!(
                    model.stored.iter().all(|s| *s),
                    "handed out while storage lacks pieces: {:?}",
                    model.stored
                );
                assert!(!model.assembling, "handed out twice");
                model.assembling = true;
            }
            Output::Progress(progress) => {
                assert!(progress.bytes <= progress.total, "{progress:?}");
            }
            Output::Failed(_) => self.models[r].assembling = false,
            Output::Lookup
            | Output::Provide
            | Output::Activity
            | Output::Offered
            | Output::Arriving
            | Output::Dropped(..) => {}
        }
    }

    fn check(&self, outputs: usize, open_before: usize, time_passed: bool) {
        let config = &self.config.resource;
        let open = self.links.iter().filter(|l| l.open).count();
        let pieces = self
            .models
            .iter()
            .map(|m| m.resource.pieces() as usize)
            .sum::<usize>();
        let per_link = 2 * config.download.max_window as usize + pieces + 8;
        let bound = (open_before.max(open) + 4) * per_link + 4 * config.max_links;
        assert!(
            outputs <= bound,
            "{outputs} outputs in one step (bound {bound})"
        );
        assert!(
            self.tab.link_count() <= open,
            "the tab tracks {} streams, {open} are open",
            self.tab.link_count()
        );
        for (r, model) in self.models.iter().enumerate() {
            let Some(swarm) = self.tab.resource(&self.ids[r]) else {
                continue;
            };
            for index in swarm.written().iter() {
                assert!(
                    model.stored[index as usize],
                    "piece {index} counted as written"
                );
            }
            for part in swarm.peers() {
                assert!(
                    part.linked || part.received > 0 || part.sent > 0,
                    "kept {part:?}, which is not linked and exchanged nothing"
                );
            }
            let outbound = self
                .links
                .iter()
                .filter(|l| l.open && l.outbound && l.res == Some(r))
                .count();
            assert!(
                outbound + model.dials.len() <= config.max_links,
                "{outbound} links opened and {} dials",
                model.dials.len()
            );
            let mut serving = std::collections::BTreeMap::<u32, u32>::new();
            let reads = model.reads.iter().map(|u| u.peer);
            for peer in reads.chain(model.uploads.iter().map(|(p, _)| *p)) {
                *serving.entry(peer).or_default() += 1;
            }
            for (peer, n) in serving {
                assert!(
                    n <= config.uploads_per_peer,
                    "{n} uploads at once to {peer}"
                );
            }
            if let Some(download) = swarm.download() {
                let linked = swarm.peers().iter().filter(|p| p.linked).count();
                assert!(
                    download.peers().count() <= linked,
                    "unlinked download peers"
                );
            }
        }
        let now = self.clock.now();
        let unnamed: Vec<&Link> = self
            .links
            .iter()
            .filter(|l| l.open && !l.outbound && l.res.is_none())
            .collect();
        assert!(
            unnamed.len() <= self.config.max_unnamed_links,
            "{} streams wait for their Want",
            unnamed.len()
        );
        if time_passed {
            for link in unnamed {
                let waited = now - link.opened;
                assert!(
                    waited < self.config.want_timeout,
                    "{link:?} waits for its Want since {waited:?}"
                );
            }
            for (link, asked) in self.ledger.all() {
                assert!(
                    now - asked.at < config.download.request_timeout,
                    "request {} on stream {link} open for {:?}",
                    asked.id,
                    now - asked.at
                );
            }
        }
    }
}

fuzz_target!(|run: Run| {
    let mut harness = Harness::new();
    for step in &run.steps {
        harness.step(step);
    }
});
