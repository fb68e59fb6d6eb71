//! A [`Download`] of a real three-piece resource driven by arbitrary sequences of peers joining
//! and leaving, their messages (genuine, corrupted, mismatched, unsolicited or duplicate pieces,
//! bitfields of any shape, rejects, trickled bytes, garbage) and jumps of time, under arbitrary
//! tuning. After every step:
//!
//! - a piece is reported verified only with its true bytes, once, and the download finishes
//!   once, only when it holds every piece, and the pieces it holds are exactly the resource;
//! - requests go only to present, unbanned peers that said they hold the piece, for pieces not
//!   held, under ids not open at that peer; cancels name open requests;
//! - the download's open requests match the ones the peers were sent, at most a window per
//!   peer and a few copies per missing piece; its peers are the ones present; its events per
//!   step are bounded;
//! - after time passes, no request is older than the request timeout and no peer with open
//!   requests has been silent for the stall timeout.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use peerfetch::content::bitfield::Bitfield;
use peerfetch::swarm::download::{Download, DownloadConfig, DropReason, Event};
use peerfetch::swarm::message::{RejectReason, SwarmMessage};
use peerfetch_fuzz::clock::{Clock, Jump};
use peerfetch_fuzz::ledger::Ledger;
use peerfetch_fuzz::peer_says::{answers, Bits, PeerMessage};
use peerfetch_fuzz::resource::Resource;

/// Peer ids are `0..PEERS`: few enough that the same peers meet again and again.
const PEERS: u8 = 6;

#[derive(Arbitrary, Debug)]
struct Run {
    tuning: Option<Tuning>,
    /// Pieces held (from storage) when the download starts.
    held: Bits,
    steps: Vec<Step>,
}

/// A [`DownloadConfig`] within the ranges a tab could use (timeouts of at least 1 ms).
#[derive(Arbitrary, Debug)]
struct Tuning {
    initial_window: u8,
    max_window: u8,
    queue_target_ms: u16,
    stall_timeout_ms: u16,
    request_timeout_cs: u16,
    max_stalls: u8,
    endgame_copies: u8,
    seed: u64,
}

impl Tuning {
    fn config(&self) -> DownloadConfig {
        let ms = |n: u64| Duration::from_millis(n);
        DownloadConfig {
            initial_window: u32::from(self.initial_window % 9),
            max_window: u32::from(self.max_window % 17),
            queue_target: ms(1 + u64::from(self.queue_target_ms)),
            stall_timeout: ms(1 + u64::from(self.stall_timeout_ms)),
            request_timeout: ms(1 + 10 * u64::from(self.request_timeout_cs)),
            max_stalls: u32::from(self.max_stalls % 5),
            endgame_copies: usize::from(self.endgame_copies % 4),
            seed: self.seed,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// A stream to the peer opened.
    Join(u8),
    /// Its stream closed.
    Leave(u8),
    /// Bytes of a message are arriving from it.
    Trickle(u8),
    /// It sent bytes that are not a message.
    Garbled(u8),
    /// It sent a message.
    Says(u8, PeerMessage),
    /// A reader waits for pieces `first..first + len`.
    Prefer { first: u8, len: u8 },
    /// Time passes.
    Wait(Jump),
}

/// The download and what the harness knows from outside it.
struct Harness {
    download: Download<u8>,
    resource: &'static Resource,
    config: DownloadConfig,
    clock: Clock,
    /// Requests sent to each peer and not answered, cancelled or lost with the peer.
    ledger: Ledger<u8>,
    present: BTreeSet<u8>,
    banned: BTreeSet<u8>,
    /// What each present peer said it holds since it joined.
    claims: BTreeMap<u8, BTreeSet<u32>>,
    /// When each present peer last sent something, or was first asked after being idle.
    heard: BTreeMap<u8, Duration>,
    /// The pieces held: from storage at the start, or reported verified.
    store: Vec<Option<Bytes>>,
    finished: bool,
}

impl Harness {
    fn new(run: &Run) -> Self {
        let resource = Resource::three_pieces();
        let config = run
            .tuning
            .as_ref()
            .map_or_else(DownloadConfig::default, Tuning::config);
        let held = run.held.field(resource.pieces());
        let store = (0..resource.pieces())
            .map(|i| held.contains(i).then(|| resource.piece(i)))
            .collect();
        let download = Download::new(resource.id(), held, config.clone());
        let mut harness = Self {
            download,
            resource,
            config,
            clock: Clock::default(),
            ledger: Ledger::default(),
            present: BTreeSet::new(),
            banned: BTreeSet::new(),
            claims: BTreeMap::new(),
            heard: BTreeMap::new(),
            store,
            finished: false,
        };
        let events = harness.drain();
        harness.check(events, false);
        harness
    }

    fn step(&mut self, step: &Step) {
        let now = self.clock.now();
        match step {
            Step::Join(peer) => {
                let peer = peer % PEERS;
                self.download.add_peer(peer, now);
                if !self.banned.contains(&peer) && self.present.insert(peer) {
                    self.claims.insert(peer, BTreeSet::new());
                    self.heard.insert(peer, now);
                }
            }
            Step::Leave(peer) => {
                let peer = peer % PEERS;
                self.download.remove_peer(&peer, now);
                self.gone(peer);
            }
            Step::Trickle(peer) => {
                let peer = peer % PEERS;
                self.download.progress(&peer, now);
                self.heard_from(peer);
            }
            Step::Garbled(peer) => {
                let peer = peer % PEERS;
                self.download.protocol_error(&peer, "garbled", now);
                self.banned.insert(peer);
            }
            Step::Says(peer, said) => {
                let peer = peer % PEERS;
                let known = [self.resource.id()];
                let message = said.message(self.resource, &known, self.ledger.open(peer));
                self.heard_from(peer);
                self.note_claims(peer, &message);
                self.download.handle(&peer, message, now);
            }
            Step::Prefer { first, len } => {
                let (first, now) = (u32::from(*first), self.clock.now());
                self.download.prefer(first..first + u32::from(*len), now);
            }
            Step::Wait(jump) => {
                let timeouts = [
                    self.config.stall_timeout,
                    self.config.request_timeout,
                    self.config.queue_target,
                ];
                let now = self.clock.advance(*jump, &timeouts);
                self.download.tick(now);
            }
        }
        let events = self.drain();
        self.check(events, matches!(step, Step::Wait(_)));
    }

    fn heard_from(&mut self, peer: u8) {
        if self.present.contains(&peer) {
            self.heard.insert(peer, self.clock.now());
        }
    }

    /// Keeps what a present peer says it holds, and settles the request a message answers.
    fn note_claims(&mut self, peer: u8, message: &SwarmMessage) {
        let Some(claims) = self.claims.get_mut(&peer) else {
            return;
        };
        let pieces = self.resource.pieces();
        match message {
            SwarmMessage::Have(bits) => {
                if let Ok(field) = Bitfield::from_bytes(bits, pieces) {
                    claims.extend(field.iter());
                }
            }
            SwarmMessage::HavePiece(piece) => {
                claims.insert(*piece);
            }
            _ => {}
        }
        if let Some(id) = answers(message) {
            let settled = self.ledger.settle(peer, id);
            if let (Some(asked), SwarmMessage::Reject { reason, .. }) = (settled, message) {
                if *reason == RejectReason::NotHave {
                    claims.remove(&asked.piece);
                }
            }
        }
    }

    fn gone(&mut self, peer: u8) {
        self.present.remove(&peer);
        self.ledger.forget(peer);
        self.claims.remove(&peer);
        self.heard.remove(&peer);
    }

    /// Takes every event, checking each; returns how many there were.
    fn drain(&mut self) -> usize {
        let mut count = 0;
        while let Some(event) = self.download.poll_event() {
            count += 1;
            self.on_event(event);
        }
        count
    }

    fn on_event(&mut self, event: Event<u8>) {
        let now = self.clock.now();
        match event {
            Event::Send(peer, SwarmMessage::Request { id, piece }) => {
                assert!(self.present.contains(&peer), "request to absent {peer}");
                assert!(!self.banned.contains(&peer), "request to banned {peer}");
                assert!(
                    self.store.get(piece as usize).is_some_and(Option::is_none),
                    "request for piece {piece}, held or past the end"
                );
                assert!(
                    self.claims[&peer].contains(&piece),
                    "request to {peer} for piece {piece} it never said it holds"
                );
                if self.ledger.open(peer).is_empty() {
                    self.heard.insert(peer, now);
                }
                self.ledger.asked(peer, id, piece, now);
            }
            Event::Send(peer, SwarmMessage::Cancel { id }) => self.ledger.cancelled(peer, id),
            Event::Send(peer, SwarmMessage::HavePiece(piece)) => {
                assert!(self.present.contains(&peer), "announce to absent {peer}");
                assert!(self.store[piece as usize].is_some(), "announced {piece}");
            }
            Event::Send(peer, message) => panic!("unexpected message to {peer}: {message:?}"),
            Event::Verified(verified) => {
                let index = verified.index();
                let slot = self
                    .store
                    .get_mut(index as usize)
                    .expect("verified piece past the end");
                assert!(slot.is_none(), "piece {index} verified twice");
                assert_eq!(
                    verified.data(),
                    &self.resource.piece(index),
                    "piece {index} verified with bytes that are not its own"
                );
                *slot = Some(verified.data().clone());
            }
            Event::Drop(peer, reason) => {
                if reason == DropReason::Banned {
                    assert!(self.banned.contains(&peer), "{peer} dropped as banned");
                } else {
                    assert!(self.present.contains(&peer), "absent {peer} dropped");
                }
                if reason.is_ban() {
                    self.banned.insert(peer);
                }
                self.gone(peer);
            }
            Event::Finished => {
                assert!(!self.finished, "finished twice");
                self.finished = true;
                let mut whole = Vec::with_capacity(self.resource.bytes().len());
                for piece in &self.store {
                    whole.extend_from_slice(piece.as_ref().expect("finished with a piece missing"));
                }
                assert!(whole == self.resource.bytes(), "finished with wrong bytes");
            }
        }
    }

    fn check(&self, events: usize, time_passed: bool) {
        let now = self.clock.now();
        let config = &self.config;
        let window = config.initial_window.max(config.max_window).max(1) as usize;
        let copies = config.endgame_copies.max(1);
        let pieces = self.resource.pieces() as usize;
        let missing = self.store.iter().filter(|p| p.is_none()).count();

        let bound = usize::from(PEERS) * (2 * window + 3) + pieces * copies + 4;
        assert!(
            events <= bound,
            "{events} events in one step (bound {bound})"
        );
        for (index, piece) in self.store.iter().enumerate() {
            assert_eq!(self.download.have().contains(index as u32), piece.is_some());
        }
        assert_eq!(self.download.is_finished(), missing == 0);
        assert_eq!(self.finished, missing == 0, "Finished not reported");
        assert!(self.download.unobtainable() <= missing);
        let _ = self.download.may_obtain_more(now);
        for peer in 0..PEERS {
            assert_eq!(self.download.is_banned(&peer), self.banned.contains(&peer));
        }

        let peers: BTreeSet<u8> = self.download.peers().map(|(p, _)| *p).collect();
        assert_eq!(
            peers, self.present,
            "the download's peers are the ones present"
        );
        let mut open = 0;
        for (peer, stats) in self.download.peers() {
            let asked = self.ledger.open(*peer).len();
            assert_eq!(stats.open_requests, asked, "open requests at {peer}");
            assert!(asked <= window, "{asked} requests open at {peer}");
            open += asked;
        }
        assert_eq!(open, self.ledger.len(), "requests open at absent peers");
        assert!(
            open <= missing * copies,
            "{open} requests open for {missing} missing pieces"
        );

        if time_passed {
            for (peer, asked) in self.ledger.all() {
                assert!(
                    now - asked.at < config.request_timeout,
                    "request {} at {peer} open for {:?}",
                    asked.id,
                    now - asked.at
                );
                assert!(
                    now - self.heard[&peer] < config.stall_timeout,
                    "{peer} silent for {:?} with requests open",
                    now - self.heard[&peer]
                );
            }
        }
    }
}

fuzz_target!(|run: Run| {
    let mut harness = Harness::new(&run);
    for step in &run.steps {
        harness.step(step);
    }
});
