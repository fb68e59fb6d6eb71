//! A simulated swarm on a deterministic clock: many virtual peers exchanging real
//! `/peerfetch/swarm/1` messages (encoded and decoded), serving real verified pieces, some slow,
//! some vanishing, some stalling, some lying. Every honest download must finish byte-exact, no
//! unverified byte may be accepted, and every request must be answered, cancelled, or die with
//! its peer.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::Duration;

use bytes::Bytes;
use peerfetch::content::bitfield::Bitfield;
use peerfetch::content::content_hasher::ContentHasher;
use peerfetch::content::content_id::ContentId;
use peerfetch::content::piece_layout::PieceLayout;
use peerfetch::content::piece_proof::{empty_outboard, encode_piece};
use peerfetch::content::Outboard;
use peerfetch::swarm::download::{Download, DownloadConfig, DropReason, Event};
use peerfetch::swarm::message::{SwarmDecoder, SwarmMessage};
use peerfetch::swarm::upload_queue::{UploadQueue, DEFAULT_MAX_QUEUED};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

type NodeId = usize;

/// How a virtual peer behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    Honest,
    /// Serves pieces with one byte flipped.
    Liar,
    /// Disappears (all its links close) at this time.
    Vanishes(Duration),
    /// Stops sending anything at this time but keeps its links open.
    Stalls(Duration),
}

struct NodeSpec {
    behaviour: Behaviour,
    /// Upload rate in bytes per second.
    upload: f64,
    /// Starts with the whole resource.
    seeder: bool,
}

struct Node {
    spec: NodeSpec,
    pieces: Vec<Option<Bytes>>,
    have: Bitfield,
    outboard: Outboard,
    download: Option<Download<NodeId>>,
    uploads: UploadQueue<NodeId>,
    uplink_busy_until: Duration,
    links: BTreeSet<NodeId>,
    finished_at: Option<Duration>,
    /// Verified bytes received per sender.
    received_from: BTreeMap<NodeId, u64>,
}

enum Happening {
    Deliver {
        from: NodeId,
        to: NodeId,
        bytes: Bytes,
    },
    FirstByte {
        from: NodeId,
        to: NodeId,
    },
    UplinkFree(NodeId),
    Vanish(NodeId),
    Tick,
}

struct Sim {
    content: Vec<u8>,
    id: ContentId,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<(Duration, u64)>>,
    happenings: BTreeMap<u64, Happening>,
    seq: u64,
    now: Duration,
    latency: Duration,
    /// Requests sent and not yet answered, cancelled, or lost with a link: (from, to, id).
    open_requests: BTreeSet<(NodeId, NodeId, u32)>,
    bans: Vec<(NodeId, NodeId, DropReason)>,
}

const TICK: Duration = Duration::from_millis(100);

impl Sim {
    fn new(content_len: usize, specs: Vec<NodeSpec>, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let content: Vec<u8> = (0..content_len).map(|_| rng.random()).collect();
        let mut hasher = ContentHasher::new(content.len() as u64).unwrap();
        hasher.update(&content).unwrap();
        let (id, full_outboard) = hasher.finish().unwrap();
        let layout = PieceLayout::of(&id);
        let count = layout.piece_count();
        let nodes = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let seeder = spec.seeder;
                let pieces = (0..count)
                    .map(|p| {
                        let range = layout.piece_bytes(p).unwrap();
                        seeder.then(|| {
                            Bytes::copy_from_slice(
                                &content[range.start as usize..range.end as usize],
                            )
                        })
                    })
                    .collect();
                let have = if seeder {
                    Bitfield::full(count)
                } else {
                    Bitfield::empty(count)
                };
                let download = (!seeder).then(|| {
                    let config = DownloadConfig {
                        seed: seed ^ i as u64,
                        ..DownloadConfig::default()
                    };
                    Download::new(id, have.clone(), config)
                });
                Node {
                    spec,
                    pieces,
                    have,
                    outboard: if seeder {
                        full_outboard.clone()
                    } else {
                        empty_outboard(&id)
                    },
                    download,
                    uploads: UploadQueue::new(DEFAULT_MAX_QUEUED),
                    uplink_busy_until: Duration::ZERO,
                    links: BTreeSet::new(),
                    finished_at: None,
                    received_from: BTreeMap::new(),
                }
            })
            .collect();
        let mut sim = Sim {
            content,
            id,
            nodes,
            queue: BinaryHeap::new(),
            happenings: BTreeMap::new(),
            seq: 0,
            now: Duration::ZERO,
            latency: Duration::from_millis(20),
            open_requests: BTreeSet::new(),
            bans: Vec::new(),
        };
        for i in 0..sim.nodes.len() {
            if let Behaviour::Vanishes(at) = sim.nodes[i].spec.behaviour {
                sim.at(at, Happening::Vanish(i));
            }
        }
        sim.at(TICK, Happening::Tick);
        // Everyone meets everyone: each link opens with both bitfields.
        for a in 0..sim.nodes.len() {
            for b in a + 1..sim.nodes.len() {
                sim.connect(a, b);
            }
        }
        sim
    }

    fn at(&mut self, when: Duration, happening: Happening) {
        self.seq += 1;
        self.happenings.insert(self.seq, happening);
        self.queue.push(Reverse((when, self.seq)));
    }

    fn connect(&mut self, a: NodeId, b: NodeId) {
        for (x, y) in [(a, b), (b, a)] {
            self.nodes[x].links.insert(y);
            if let Some(download) = &mut self.nodes[x].download {
                download.add_peer(y, self.now);
            }
        }
        for (x, y) in [(a, b), (b, a)] {
            let have = SwarmMessage::Have(Bytes::copy_from_slice(self.nodes[x].have.as_bytes()));
            self.send(x, y, have);
        }
        self.drain(a);
        self.drain(b);
    }

    fn disconnect(&mut self, a: NodeId, b: NodeId) {
        for (x, y) in [(a, b), (b, a)] {
            self.nodes[x].links.remove(&y);
            self.nodes[x].uploads.remove_peer(&y);
            if let Some(download) = &mut self.nodes[x].download {
                download.remove_peer(&y, self.now);
            }
            self.open_requests
                .retain(|(from, to, _)| !(*from == x && *to == y));
        }
        self.drain(a);
        self.drain(b);
    }

    fn silenced(&self, node: NodeId) -> bool {
        match self.nodes[node].spec.behaviour {
            Behaviour::Stalls(at) => self.now >= at,
            _ => false,
        }
    }

    /// Sends a control message: small, so it only takes the link's latency.
    fn send(&mut self, from: NodeId, to: NodeId, message: SwarmMessage) {
        if self.silenced(from) || !self.nodes[from].links.contains(&to) {
            return;
        }
        match &message {
            SwarmMessage::Request { id, .. } => {
                self.open_requests.insert((from, to, *id));
            }
            SwarmMessage::Cancel { id } => {
                self.open_requests.remove(&(from, to, *id));
            }
            _ => {}
        }
        let bytes = message.encode();
        self.at(
            self.now + self.latency,
            Happening::Deliver { from, to, bytes },
        );
    }

    /// Serves the next queued request if the node's uplink is idle: the piece takes its size
    /// over the node's upload rate, plus latency.
    fn serve(&mut self, node: NodeId) {
        if self.silenced(node) || self.nodes[node].uplink_busy_until > self.now {
            return;
        }
        let Some(upload) = self.nodes[node].uploads.next_upload() else {
            return;
        };
        let n = &self.nodes[node];
        let data = n.pieces[upload.piece as usize]
            .as_ref()
            .expect("queued only if held");
        let mut encoded = encode_piece(&n.outboard, upload.piece, data)
            .unwrap()
            .to_vec();
        if n.spec.behaviour == Behaviour::Liar {
            let at = encoded.len() / 2;
            encoded[at] ^= 0x20;
        }
        let message = SwarmMessage::Piece {
            id: upload.id,
            piece: upload.piece,
            encoded: encoded.into(),
        };
        let bytes = message.encode();
        let duration = Duration::from_secs_f64(bytes.len() as f64 / n.spec.upload);
        let done = self.now + duration;
        self.nodes[node].uplink_busy_until = done;
        self.at(done, Happening::UplinkFree(node));
        let to = upload.peer;
        self.at(
            self.now + self.latency,
            Happening::FirstByte { from: node, to },
        );
        self.at(
            done + self.latency,
            Happening::Deliver {
                from: node,
                to,
                bytes,
            },
        );
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, bytes: Bytes) {
        if !self.nodes[to].links.contains(&from) {
            return;
        }
        let mut decoder = SwarmDecoder::default();
        decoder.push(&bytes);
        let message = decoder
            .next_message()
            .expect("senders encode valid messages")
            .expect("one whole message");
        match message {
            SwarmMessage::Request { id, piece } => {
                let node = &mut self.nodes[to];
                if let Some(reject) = node.uploads.request(from, id, piece, &node.have) {
                    self.send(to, from, reject);
                }
                self.serve(to);
            }
            SwarmMessage::Cancel { id } => {
                self.nodes[to].uploads.cancel(&from, id);
            }
            message => {
                if let SwarmMessage::Piece { id, .. } | SwarmMessage::Reject { id, .. } = &message {
                    self.open_requests.remove(&(to, from, *id));
                }
                if let Some(download) = &mut self.nodes[to].download {
                    download.handle(&from, message, self.now);
                }
                self.drain(to);
            }
        }
    }

    /// Carries out what `node`'s download asks for.
    fn drain(&mut self, node: NodeId) {
        loop {
            let Some(download) = &mut self.nodes[node].download else {
                return;
            };
            let Some(event) = download.poll_event() else {
                return;
            };
            match event {
                Event::Send(peer, message) => self.send(node, peer, message),
                Event::Verified(piece) => {
                    let index = piece.index();
                    let range = PieceLayout::of(&self.id).piece_bytes(index).unwrap();
                    assert!(
                        piece.data()[..] == self.content[range.start as usize..range.end as usize],
                        "node {node} accepted wrong bytes for piece {index}"
                    );
                    let n = &mut self.nodes[node];
                    piece.save_hashes(&mut n.outboard);
                    n.pieces[index as usize] = Some(piece.data().clone());
                    assert!(n.have.insert(index), "piece {index} verified twice");
                }
                Event::Drop(peer, reason) => {
                    if reason.is_ban() {
                        self.bans.push((node, peer, reason));
                    }
                    self.disconnect(node, peer);
                }
                Event::Finished => self.nodes[node].finished_at = Some(self.now),
            }
        }
    }

    fn vanish(&mut self, node: NodeId) {
        for peer in self.nodes[node].links.clone() {
            self.disconnect(node, peer);
        }
    }

    fn all_done(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.download.is_none() || n.finished_at.is_some() || !self.honest_and_present(n))
    }

    fn honest_and_present(&self, node: &Node) -> bool {
        match node.spec.behaviour {
            Behaviour::Honest => true,
            Behaviour::Vanishes(at) => self.now < at,
            Behaviour::Liar | Behaviour::Stalls(_) => false,
        }
    }

    /// Runs until nothing is left to happen: every honest download finished and every message
    /// delivered. Fails past `deadline` of simulated time.
    fn run(&mut self, deadline: Duration) {
        while let Some(Reverse((when, seq))) = self.queue.pop() {
            assert!(
                when <= deadline,
                "swarm still busy at {deadline:?}: {}",
                self.report()
            );
            self.now = when;
            match self.happenings.remove(&seq).expect("scheduled") {
                Happening::Deliver { from, to, bytes } => self.deliver(from, to, bytes),
                Happening::FirstByte { from, to } => {
                    if let Some(download) = &mut self.nodes[to].download {
                        download.progress(&from, self.now);
                    }
                }
                Happening::UplinkFree(node) => self.serve(node),
                Happening::Vanish(node) => self.vanish(node),
                Happening::Tick => {
                    for node in 0..self.nodes.len() {
                        if let Some(download) = &mut self.nodes[node].download {
                            download.tick(self.now);
                        }
                        self.drain(node);
                    }
                    if !self.all_done() {
                        self.at(self.now + TICK, Happening::Tick);
                    }
                }
            }
            self.record_sources();
        }
    }

    fn record_sources(&mut self) {
        for node in &mut self.nodes {
            if let Some(download) = &node.download {
                for (peer, stats) in download.peers() {
                    node.received_from.insert(*peer, stats.verified_bytes);
                }
            }
        }
    }

    fn report(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "\n  node {i} {:?} have {}/{}",
                    n.spec.behaviour,
                    n.have.count(),
                    n.have.len()
                )
            })
            .collect()
    }

    /// The checks every scenario ends with.
    fn assert_sound(&self) {
        for (i, node) in self.nodes.iter().enumerate() {
            if node.download.is_some() && node.spec.behaviour == Behaviour::Honest {
                assert!(
                    node.finished_at.is_some(),
                    "node {i} did not finish: {}",
                    self.report()
                );
                let bytes: Vec<u8> = node
                    .pieces
                    .iter()
                    .flat_map(|p| p.as_ref().expect("finished").to_vec())
                    .collect();
                assert!(
                    bytes == self.content,
                    "node {i} holds other bytes than the original"
                );
            }
        }
        assert!(
            self.open_requests.is_empty(),
            "requests neither answered, cancelled nor lost with their link: {:?}",
            self.open_requests
        );
        for (banner, banned, reason) in &self.bans {
            assert_eq!(
                self.nodes[*banned].spec.behaviour,
                Behaviour::Liar,
                "node {banner} banned honest node {banned}: {reason:?}"
            );
        }
    }

    fn received_by(&self, node: NodeId) -> &BTreeMap<NodeId, u64> {
        &self.nodes[node].received_from
    }
}

fn seeder(upload: f64) -> NodeSpec {
    NodeSpec {
        behaviour: Behaviour::Honest,
        upload,
        seeder: true,
    }
}

fn leecher(upload: f64) -> NodeSpec {
    NodeSpec {
        behaviour: Behaviour::Honest,
        upload,
        seeder: false,
    }
}

const MB: f64 = 1_000_000.0;

#[test]
fn leechers_finish_from_one_seeder_and_each_other() {
    let specs = vec![
        seeder(4.0 * MB),
        leecher(4.0 * MB),
        leecher(4.0 * MB),
        leecher(4.0 * MB),
    ];
    let mut sim = Sim::new(20 * 1024 * 1024 + 4321, specs, 1);
    sim.run(Duration::from_secs(60));
    sim.assert_sound();
    let from_leechers: u64 = (1..4)
        .flat_map(|i| sim.received_by(i).iter())
        .filter(|(peer, _)| **peer != 0)
        .map(|(_, bytes)| bytes)
        .sum();
    assert!(from_leechers > 0, "leechers never served each other");
}

#[test]
fn fast_sources_serve_more_than_a_slow_one() {
    let specs = vec![
        seeder(8.0 * MB),
        seeder(8.0 * MB),
        seeder(0.2 * MB),
        leecher(1.0 * MB),
    ];
    let mut sim = Sim::new(24 * 1024 * 1024, specs, 2);
    sim.run(Duration::from_secs(60));
    sim.assert_sound();
    let got = sim.received_by(3);
    assert!(
        got[&0] > 4 * got[&2] && got[&1] > 4 * got[&2],
        "slow peer not throttled: {got:?}"
    );
    // Two fast sources at once: well under what one alone takes (24 MiB at 8 MB/s, ~3.15 s).
    let took = sim.nodes[3].finished_at.unwrap();
    assert!(took < Duration::from_millis(2600), "took {took:?}");
}

#[test]
fn a_liar_is_banned_and_the_download_stays_correct() {
    let specs = vec![
        NodeSpec {
            behaviour: Behaviour::Liar,
            upload: 20.0 * MB,
            seeder: true,
        },
        seeder(2.0 * MB),
        leecher(1.0 * MB),
    ];
    let mut sim = Sim::new(12 * 1024 * 1024, specs, 3);
    sim.run(Duration::from_secs(60));
    sim.assert_sound();
    assert!(sim.bans.iter().any(
        |(by, who, reason)| (*by, *who) == (2, 0) && matches!(reason, DropReason::BadPiece(_))
    ));
    assert!(sim.nodes[2].download.as_ref().unwrap().is_banned(&0));
}

#[test]
fn a_source_vanishing_mid_transfer_and_one_stalling_do_not_stop_the_download() {
    let specs = vec![
        NodeSpec {
            behaviour: Behaviour::Vanishes(Duration::from_millis(400)),
            upload: 4.0 * MB,
            seeder: true,
        },
        NodeSpec {
            behaviour: Behaviour::Stalls(Duration::from_millis(300)),
            upload: 4.0 * MB,
            seeder: true,
        },
        seeder(1.0 * MB),
        leecher(1.0 * MB),
    ];
    let mut sim = Sim::new(24 * 1024 * 1024, specs, 4);
    sim.run(Duration::from_secs(120));
    sim.assert_sound();
    let download = sim.nodes[3].download.as_ref().unwrap();
    assert!(
        download.peers().all(|(peer, _)| *peer != 0),
        "vanished peer still listed"
    );
}

#[test]
fn random_swarms_always_finish_correct() {
    for seed in 0..24 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut specs = vec![seeder(rng.random_range(0.5..8.0) * MB)];
        for _ in 0..rng.random_range(0..4) {
            let upload = rng.random_range(0.05..8.0) * MB;
            let behaviour = match rng.random_range(0..4) {
                0 => Behaviour::Liar,
                1 => Behaviour::Vanishes(Duration::from_millis(rng.random_range(0..2000))),
                2 => Behaviour::Stalls(Duration::from_millis(rng.random_range(0..2000))),
                _ => Behaviour::Honest,
            };
            specs.push(NodeSpec {
                behaviour,
                upload,
                seeder: true,
            });
        }
        for _ in 0..rng.random_range(1..5) {
            specs.push(leecher(rng.random_range(0.05..8.0) * MB));
        }
        let len = rng.random_range(0..12 * 1024 * 1024);
        let described: Vec<_> = specs.iter().map(|s| (s.behaviour, s.seeder)).collect();
        let mut sim = Sim::new(len, specs, seed);
        sim.run(Duration::from_secs(600));
        sim.assert_sound();
        println!(
            "seed {seed}: {len} bytes, {described:?}: done at {:?}",
            sim.now
        );
    }
}
