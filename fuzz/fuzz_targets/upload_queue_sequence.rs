//! An [`UploadQueue`] driven by arbitrary sequences of requests, cancels, departures, changes
//! of what is held and drains (of every peer, or of those a mask says are ready), checked
//! against a plain model after every step:
//!
//! - a request is refused exactly when the piece is not held (`NotHave`) or the peer has
//!   `max_per_peer` queued (`Busy`); the queue never holds more than that per peer;
//! - a drain hands out exactly the oldest request still queued of a ready peer: never a
//!   cancelled one, never one of a peer that left, never one of a peer not ready, and nothing
//!   only when no ready peer has a request queued;
//! - turns: a ready peer with requests queued is passed over at most once per other peer
//!   before it is served (one greedy peer cannot starve the rest).
#![no_main]

use std::collections::{BTreeMap, VecDeque};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use peerfetch::content::bitfield::Bitfield;
use peerfetch::swarm::message::{RejectReason, SwarmMessage};
use peerfetch::swarm::upload_queue::UploadQueue;

/// Peer ids are `0..PEERS`.
const PEERS: u8 = 8;
/// Pieces of the resource served.
const PIECES: u32 = 8;

#[derive(Arbitrary, Debug)]
struct Run {
    max_per_peer: u8,
    /// Pieces held at the start (bit `i` for piece `i`).
    held: u8,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// A peer asks for a piece (ids are small so that duplicates and cancels meet).
    Request { peer: u8, id: u8, piece: u8 },
    /// A peer cancels a request.
    Cancel { peer: u8, id: u8 },
    /// A peer's stream closed.
    Leave(u8),
    /// The next upload, whoever it is for.
    Next,
    /// The next upload for a peer whose bit is set (the others are busy).
    NextIf(u8),
    /// A piece is now held.
    Hold(u8),
    /// A piece is no longer held.
    Lose(u8),
}

/// What the queue should hold: each peer's requests in order.
#[derive(Default)]
struct Model {
    queues: BTreeMap<u8, VecDeque<(u32, u32)>>,
    /// How often each peer with requests queued was passed over while ready.
    passed: BTreeMap<u8, usize>,
}

impl Model {
    fn len(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    fn remove(&mut self, peer: u8) {
        self.queues.remove(&peer);
        self.passed.remove(&peer);
    }
}

fuzz_target!(|run: Run| {
    let max = usize::from(run.max_per_peer % 10);
    let mut queue = UploadQueue::new(max);
    let mut model = Model::default();
    let mut have = Bitfield::empty(PIECES);
    for piece in (0..PIECES).filter(|i| run.held & (1 << i) != 0) {
        have.insert(piece);
    }
    for step in &run.steps {
        match *step {
            Step::Request { peer, id, piece } => {
                let (peer, id, piece) = (peer % PEERS, u32::from(id), u32::from(piece) % PIECES);
                let queued = model.queues.get(&peer).map_or(0, VecDeque::len);
                let expected = if !have.contains(piece) {
                    Some(RejectReason::NotHave)
                } else if queued >= max {
                    Some(RejectReason::Busy)
                } else {
                    model.queues.entry(peer).or_default().push_back((id, piece));
                    None
                };
                let expected = expected.map(|reason| SwarmMessage::Reject { id, reason });
                assert_eq!(queue.request(peer, id, piece, &have), expected);
            }
            Step::Cancel { peer, id } => {
                let (peer, id) = (peer % PEERS, u32::from(id));
                let mut removed = false;
                if let Some(requests) = model.queues.get_mut(&peer) {
                    let before = requests.len();
                    requests.retain(|(queued, _)| *queued != id);
                    removed = requests.len() != before;
                    if requests.is_empty() {
                        model.remove(peer);
                    }
                }
                assert_eq!(queue.cancel(&peer, id), removed);
            }
            Step::Leave(peer) => {
                queue.remove_peer(&(peer % PEERS));
                model.remove(peer % PEERS);
            }
            Step::Next => serve(&mut queue, &mut model, u8::MAX),
            Step::NextIf(mask) => serve(&mut queue, &mut model, mask),
            Step::Hold(piece) => {
                have.insert(u32::from(piece) % PIECES);
            }
            Step::Lose(piece) => {
                have.remove(u32::from(piece) % PIECES);
            }
        }
        let len = model.len();
        assert_eq!(queue.len(), len);
        assert_eq!(queue.is_empty(), len == 0);
        assert!(len <= usize::from(PEERS) * max);
    }
});

/// Takes the next upload for a peer whose bit is set in `ready` and checks it against the model.
fn serve(queue: &mut UploadQueue<u8>, model: &mut Model, ready: u8) {
    let is_ready = |peer: &u8| ready & (1u8 << *peer) != 0;
    let Some(upload) = queue.next_upload_if(is_ready) else {
        let waiting: Vec<&u8> = model.queues.keys().filter(|p| is_ready(*p)).collect();
        assert!(waiting.is_empty(), "nothing served though {waiting:?} wait");
        return;
    };
    assert!(is_ready(&upload.peer), "served {} while busy", upload.peer);
    let requests = model
        .queues
        .get_mut(&upload.peer)
        .expect("served a peer with nothing queued");
    let oldest = requests
        .pop_front()
        .expect("queues in the model are not empty");
    assert_eq!((upload.id, upload.piece), oldest, "served out of order");
    if requests.is_empty() {
        model.remove(upload.peer);
    } else {
        model.passed.insert(upload.peer, 0);
    }
    for peer in model
        .queues
        .keys()
        .filter(|p| is_ready(*p) && **p != upload.peer)
    {
        let passed = model.passed.entry(*peer).or_default();
        *passed += 1;
        assert!(
            *passed < usize::from(PEERS),
            "{peer} passed over {passed} times while ready"
        );
    }
}
