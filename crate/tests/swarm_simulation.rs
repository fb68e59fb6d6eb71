//! A simulated swarm on a deterministic clock: many virtual tabs, each running the same
//! [`TabSwarms`] state machine the browser tabs run, exchanging real `/peerfetch/swarm/1`
//! messages (encoded and decoded) over simulated streams, finding each other through a simulated
//! server's provider records, serving real verified pieces, some slow, some vanishing, some
//! stalling, some lying. Every honest download must finish byte-exact, no unverified byte may be
//! accepted, and every request must be answered, cancelled, or die with its stream.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use peerfetch::content::bitfield::Bitfield;
use peerfetch::content::content_hasher::ContentHasher;
use peerfetch::content::content_id::ContentId;
use peerfetch::content::piece_layout::PieceLayout;
use peerfetch::content::piece_proof::encode_piece;
use peerfetch::content::stored_piece::{encoded_from_stored, stored_from_encoded};
use peerfetch::swarm::download::DropReason;
use peerfetch::swarm::message::{SwarmDecoder, SwarmMessage};
use peerfetch::swarm::resource::{DownloadError, Input, LinkId, Output};
use peerfetch::swarm::tab::{LinkInput, TabConfig, TabOutput, TabSwarms};
use peerfetch::swarm::upload_queue::Upload;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

type NodeId = usize;

/// How a virtual tab behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    Honest,
    /// Serves pieces with one byte flipped.
    Liar,
    /// Disappears (all its streams close) at this time; its provider record stays.
    Vanishes(Duration),
    /// Stops sending anything at this time but keeps its streams open.
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
    swarms: TabSwarms<NodeId>,
    /// Pieces held, in stored form.
    stored: Vec<Option<Bytes>>,
    /// Pieces waiting for the uplink, in order.
    uplink: VecDeque<(LinkId, Upload<NodeId>, SwarmMessage)>,
    uplink_busy: bool,
    finished_at: Option<Duration>,
    failed: Option<DownloadError>,
    gone: bool,
}

enum Happening {
    /// Something arrives on `node`'s end `link` of a stream.
    Link {
        node: NodeId,
        link: LinkId,
        input: LinkInput,
    },
    /// A stream between `node` and `peer` opens; `about` is set at the end that opened it.
    Opened {
        node: NodeId,
        link: LinkId,
        peer: NodeId,
        about: Option<ContentId>,
    },
    /// An answer to one of `node`'s requests (the server's, or its dial's).
    Answer {
        node: NodeId,
        input: Input<NodeId>,
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
    /// The simulated server's provider records (they outlive the tabs that made them).
    providers: BTreeSet<NodeId>,
    /// Each stream end and the end it is joined to.
    ends: BTreeMap<(NodeId, LinkId), (NodeId, LinkId)>,
    /// When the last thing sent on each stream end arrives, so streams stay in order.
    arrivals: BTreeMap<(NodeId, LinkId), Duration>,
    next_link: LinkId,
    /// Requests sent and not yet answered, cancelled, or lost with their stream:
    /// (asker, its stream end, request id).
    open_requests: BTreeSet<(NodeId, LinkId, u32)>,
    bans: Vec<(NodeId, NodeId, DropReason)>,
    /// Dials made to tabs that are gone.
    dials_to_gone: u32,
}

const TICK: Duration = Duration::from_millis(100);

impl Sim {
    fn new(content_len: usize, specs: Vec<NodeSpec>, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let content: Vec<u8> = (0..content_len).map(|_| rng.random()).collect();
        let mut hasher = ContentHasher::new(content.len() as u64).unwrap();
        hasher.update(&content).unwrap();
        let (id, outboard) = hasher.finish().unwrap();
        let layout = PieceLayout::of(&id);
        let count = layout.piece_count();
        let seeded: Vec<Bytes> = (0..count)
            .map(|p| {
                let range = layout.piece_bytes(p).unwrap();
                let data = &content[range.start as usize..range.end as usize];
                let encoded = encode_piece(&outboard, p, data).unwrap();
                stored_from_encoded(&layout, p, &encoded).unwrap()
            })
            .collect();
        let nodes = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| Node {
                stored: (0..count as usize)
                    .map(|p| spec.seeder.then(|| seeded[p].clone()))
                    .collect(),
                spec,
                swarms: TabSwarms::new(i, TabConfig::default()),
                uplink: VecDeque::new(),
                uplink_busy: false,
                finished_at: None,
                failed: None,
                gone: false,
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
            providers: BTreeSet::new(),
            ends: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            next_link: 0,
            open_requests: BTreeSet::new(),
            bans: Vec::new(),
            dials_to_gone: 0,
        };
        for i in 0..sim.nodes.len() {
            if let Behaviour::Vanishes(at) = sim.nodes[i].spec.behaviour {
                sim.at(at, Happening::Vanish(i));
            }
        }
        sim.at(TICK, Happening::Tick);
        // Seeders share; the others ask. Everyone finds the others through the server.
        for i in 0..sim.nodes.len() {
            let input = if sim.nodes[i].spec.seeder {
                Input::Hold(Bitfield::full(count))
            } else {
                Input::Download {
                    have: Bitfield::empty(count),
                    not_found_after: Duration::from_secs(15),
                    seed: seed ^ i as u64,
                }
            };
            sim.nodes[i].swarms.handle(Duration::ZERO, id, input);
            sim.drain(i);
        }
        sim
    }

    fn at(&mut self, when: Duration, happening: Happening) {
        self.seq += 1;
        self.happenings.insert(self.seq, happening);
        self.queue.push(Reverse((when, self.seq)));
    }

    fn silenced(&self, node: NodeId) -> bool {
        match self.nodes[node].spec.behaviour {
            Behaviour::Stalls(at) => self.now >= at,
            _ => false,
        }
    }

    /// Sends `input` along `node`'s stream end `link`, arriving at `when` plus latency, after
    /// whatever was sent on it before.
    fn send_at(&mut self, when: Duration, node: NodeId, link: LinkId, input: LinkInput) {
        let Some(&(peer, peer_link)) = self.ends.get(&(node, link)) else {
            return;
        };
        let last = self.arrivals.entry((node, link)).or_default();
        let arrive = (when + self.latency).max(*last);
        *last = arrive;
        self.at(
            arrive,
            Happening::Link {
                node: peer,
                link: peer_link,
                input,
            },
        );
    }

    /// Sends a message: control messages are small, so they only take the latency.
    fn send(&mut self, node: NodeId, link: LinkId, message: SwarmMessage) {
        if self.silenced(node) {
            return;
        }
        match &message {
            SwarmMessage::Request { id, .. } => {
                self.open_requests.insert((node, link, *id));
            }
            SwarmMessage::Cancel { id } => {
                self.open_requests.remove(&(node, link, *id));
            }
            _ => {}
        }
        // Every message goes through the real codec.
        self.send_at(self.now, node, link, LinkInput::Message(message));
    }

    /// Forgets `node`'s end of a stream (and the requests made on it); the other end learns.
    fn close(&mut self, node: NodeId, link: LinkId) {
        self.open_requests
            .retain(|(n, l, _)| (*n, *l) != (node, link));
        if let Some(other) = self.ends.remove(&(node, link)) {
            self.ends.remove(&other);
            self.open_requests.retain(|(n, l, _)| (*n, *l) != other);
            let arrive = (self.now + self.latency)
                .max(self.arrivals.remove(&(node, link)).unwrap_or_default());
            self.at(
                arrive,
                Happening::Link {
                    node: other.0,
                    link: other.1,
                    input: LinkInput::Closed,
                },
            );
        }
    }

    /// Puts the next queued piece on `node`'s uplink: it takes its size over the node's
    /// upload rate; its first bytes arrive after the latency, the whole after both.
    fn serve(&mut self, node: NodeId) {
        if self.nodes[node].uplink_busy || self.silenced(node) {
            return;
        }
        let Some((link, upload, message)) = self.nodes[node].uplink.pop_front() else {
            return;
        };
        let bytes = message.encode();
        let took = Duration::from_secs_f64(bytes.len() as f64 / self.nodes[node].spec.upload);
        self.nodes[node].uplink_busy = true;
        self.at(self.now + took, Happening::UplinkFree(node));
        self.at(
            self.now + took,
            Happening::Answer {
                node,
                input: Input::Uploaded(upload.peer, bytes.len() as u64),
            },
        );
        if self.ends.contains_key(&(node, link)) {
            self.send_at(self.now, node, link, LinkInput::Bytes);
            let mut decoder = SwarmDecoder::default();
            decoder.push(&bytes);
            let message = decoder.next_message().unwrap().unwrap();
            self.send_at(self.now + took, node, link, LinkInput::Message(message));
        }
    }

    /// Carries out what `node`'s swarms ask for.
    fn drain(&mut self, node: NodeId) {
        while let Some(output) = self.nodes[node].swarms.poll_output() {
            let output = match output {
                TabOutput::Close(link) => {
                    self.close(node, link);
                    continue;
                }
                TabOutput::Resource(_, output) => output,
            };
            match output {
                Output::Send(link, message) => self.send(node, link, message),
                Output::Upload(link, upload, message) => {
                    let message = match (message, self.nodes[node].spec.behaviour) {
                        (SwarmMessage::Piece { id, piece, encoded }, Behaviour::Liar) => {
                            let mut bytes = encoded.to_vec();
                            let at = bytes.len() / 2;
                            bytes[at] ^= 0x20;
                            SwarmMessage::Piece {
                                id,
                                piece,
                                encoded: bytes.into(),
                            }
                        }
                        (message, _) => message,
                    };
                    self.nodes[node].uplink.push_back((link, upload, message));
                    self.serve(node);
                }
                Output::Read(upload) => {
                    let layout = PieceLayout::of(&self.id);
                    let stored = self.nodes[node].stored[upload.piece as usize]
                        .clone()
                        .expect("asked to read only pieces held");
                    let encoded = encoded_from_stored(&layout, upload.piece, &stored)
                        .map_err(|e| e.to_string());
                    self.input(node, Input::Read(upload, encoded));
                }
                Output::Write(index, stored) => {
                    let range = PieceLayout::of(&self.id).piece_bytes(index).unwrap();
                    let expected = &self.content[range.start as usize..range.end as usize];
                    assert!(
                        stored[..expected.len()] == *expected,
                        "node {node} accepted wrong bytes for piece {index}"
                    );
                    let slot = &mut self.nodes[node].stored[index as usize];
                    assert!(slot.is_none(), "piece {index} written twice");
                    *slot = Some(stored);
                    self.input(node, Input::Written(index, Ok(())));
                }
                Output::Dial(peer) => {
                    let when = self.now + self.latency;
                    if self.nodes[peer].gone {
                        self.dials_to_gone += 1;
                        let input = Input::DialFailed(peer);
                        self.at(when, Happening::Answer { node, input });
                    } else {
                        let (a, b) = (self.next_link, self.next_link + 1);
                        self.next_link += 2;
                        self.ends.insert((node, a), (peer, b));
                        self.ends.insert((peer, b), (node, a));
                        let opened = |node, link, peer, about| Happening::Opened {
                            node,
                            link,
                            peer,
                            about,
                        };
                        self.at(when, opened(peer, b, node, None));
                        self.at(when, opened(node, a, peer, Some(self.id)));
                    }
                }
                Output::Lookup => {
                    let providers = self.providers.iter().copied().collect();
                    let input = Input::Providers(Ok(providers));
                    self.at(self.now + self.latency, Happening::Answer { node, input });
                }
                Output::Close(link) => self.close(node, link),
                Output::Provide => {
                    self.providers.insert(node);
                }
                Output::Assemble => {
                    self.nodes[node].finished_at = Some(self.now);
                    self.input(node, Input::Assembled);
                }
                Output::Failed(error) => self.nodes[node].failed = Some(error),
                Output::Dropped(peer, reason) => {
                    if reason.is_ban() {
                        self.bans.push((node, peer, reason));
                    }
                }
                Output::Activity | Output::Offered | Output::Arriving | Output::Progress(_) => {}
            }
        }
    }

    fn input(&mut self, node: NodeId, input: Input<NodeId>) {
        let id = self.id;
        self.nodes[node].swarms.handle(self.now, id, input);
    }

    fn vanish(&mut self, node: NodeId) {
        self.nodes[node].gone = true;
        let links: Vec<LinkId> = self
            .ends
            .keys()
            .filter(|(n, _)| *n == node)
            .map(|(_, link)| *link)
            .collect();
        for link in links {
            self.close(node, link);
        }
    }

    fn all_done(&self) -> bool {
        self.nodes.iter().all(|n| {
            n.spec.seeder || n.finished_at.is_some() || n.failed.is_some() || !self.honest(n)
        })
    }

    fn honest(&self, node: &Node) -> bool {
        match node.spec.behaviour {
            Behaviour::Honest => true,
            Behaviour::Vanishes(at) => self.now < at,
            Behaviour::Liar | Behaviour::Stalls(_) => false,
        }
    }

    /// Runs until every honest download finished and everything sent arrived. Fails past
    /// `deadline` of simulated time.
    fn run(&mut self, deadline: Duration) {
        while let Some(Reverse((when, seq))) = self.queue.pop() {
            assert!(
                when <= deadline,
                "swarm still busy at {deadline:?}: {}",
                self.report()
            );
            self.now = when;
            let node = match self.happenings.remove(&seq).expect("scheduled") {
                Happening::Link { node, link, input } => {
                    if self.nodes[node].gone {
                        continue;
                    }
                    if let LinkInput::Message(
                        SwarmMessage::Piece { id, .. } | SwarmMessage::Reject { id, .. },
                    ) = &input
                    {
                        self.open_requests.remove(&(node, link, *id));
                    }
                    if let LinkInput::Closed = input {
                        self.open_requests
                            .retain(|(n, l, _)| (*n, *l) != (node, link));
                        self.arrivals.remove(&(node, link));
                    }
                    self.nodes[node].swarms.link_input(self.now, link, input);
                    node
                }
                Happening::Opened {
                    node,
                    link,
                    peer,
                    about,
                } => {
                    if self.nodes[node].gone || !self.ends.contains_key(&(node, link)) {
                        continue;
                    }
                    self.nodes[node]
                        .swarms
                        .link_opened(self.now, link, peer, about);
                    node
                }
                Happening::Answer { node, input } => {
                    if self.nodes[node].gone {
                        continue;
                    }
                    self.input(node, input);
                    node
                }
                Happening::UplinkFree(node) => {
                    self.nodes[node].uplink_busy = false;
                    self.serve(node);
                    continue;
                }
                Happening::Vanish(node) => {
                    self.vanish(node);
                    continue;
                }
                Happening::Tick => {
                    for node in 0..self.nodes.len() {
                        if !self.nodes[node].gone {
                            self.nodes[node].swarms.tick(self.now);
                            self.drain(node);
                        }
                    }
                    if !self.all_done() {
                        self.at(self.now + TICK, Happening::Tick);
                    }
                    continue;
                }
            };
            self.drain(node);
        }
    }

    fn report(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let held = n.stored.iter().filter(|p| p.is_some()).count();
                format!(
                    "\n  node {i} {:?} holds {held}/{}",
                    n.spec.behaviour,
                    n.stored.len()
                )
            })
            .collect()
    }

    /// The checks every scenario ends with.
    fn assert_sound(&self) {
        for (i, node) in self.nodes.iter().enumerate() {
            if !node.spec.seeder && node.spec.behaviour == Behaviour::Honest {
                assert_eq!(node.failed, None, "node {i} failed");
                assert!(
                    node.finished_at.is_some(),
                    "node {i} did not finish: {}",
                    self.report()
                );
                let bytes: Vec<u8> = node
                    .stored
                    .iter()
                    .enumerate()
                    .flat_map(|(p, stored)| {
                        let len = PieceLayout::of(&self.id).piece_len(p as u32) as usize;
                        stored.as_ref().expect("finished")[..len].to_vec()
                    })
                    .collect();
                assert!(
                    bytes == self.content,
                    "node {i} holds other bytes than the original"
                );
            }
        }
        assert!(
            self.open_requests.is_empty(),
            "requests neither answered, cancelled nor lost with their stream: {:?}",
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

    /// Verified bytes `node` received from each peer.
    fn received_by(&self, node: NodeId) -> BTreeMap<NodeId, u64> {
        let swarm = self.nodes[node].swarms.resource(&self.id).unwrap();
        swarm
            .peers()
            .into_iter()
            .map(|part| (part.peer, part.received))
            .collect()
    }

    fn swarm_of(&self, node: NodeId) -> &peerfetch::swarm::resource::ResourceSwarm<NodeId> {
        self.nodes[node].swarms.resource(&self.id).unwrap()
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
        .flat_map(|i| sim.received_by(i))
        .filter(|(peer, _)| *peer != 0)
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
    // A peer that gave nothing is not listed once its link closed (both ends whole).
    let slow = got.get(&2).copied().unwrap_or(0);
    assert!(
        got[&0] > 4 * slow && got[&1] > 4 * slow,
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
    assert!(sim.swarm_of(2).banned().any(|peer| *peer == 0));
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
    assert!(
        sim.swarm_of(3)
            .peers()
            .iter()
            .all(|part| part.peer != 0 || !part.linked),
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

#[test]
fn tabs_that_dial_each_other_at_once_keep_one_stream() {
    // The leechers register and look each other up at the same moment, so each pair dials
    // both ways at once; both ends must settle on the same single stream.
    let specs = vec![
        seeder(4.0 * MB),
        leecher(4.0 * MB),
        leecher(4.0 * MB),
        leecher(4.0 * MB),
    ];
    let mut sim = Sim::new(4 * 1024 * 1024, specs, 5);
    sim.run(Duration::from_secs(60));
    sim.assert_sound();
    let mut streams: BTreeMap<(NodeId, NodeId), usize> = BTreeMap::new();
    for ((a, _), (b, _)) in &sim.ends {
        *streams.entry((*a.min(b), *a.max(b))).or_default() += 1;
    }
    assert!(
        streams.values().all(|ends| *ends == 2),
        "a pair holds more than one stream: {streams:?}"
    );
    for node in 1..4 {
        assert!(
            sim.received_by(node)
                .keys()
                .filter(|peer| **peer != 0)
                .count()
                > 0
                || sim.received_by(node).len() == 1,
            "node {node} linked to no one but the seeder"
        );
    }
}

#[test]
fn a_download_nobody_can_serve_fails_as_not_found_after_its_patience() {
    let specs = vec![leecher(1.0 * MB)];
    let mut sim = Sim::new(1024 * 1024, specs, 6);
    sim.run(Duration::from_secs(60));
    match &sim.nodes[0].failed {
        Some(DownloadError::NotFound { waited, .. }) => {
            assert!(
                *waited >= Duration::from_secs(15),
                "gave up after {waited:?}"
            )
        }
        other => panic!("expected not found, got {other:?}"),
    }
    assert!(
        sim.now < Duration::from_secs(16),
        "gave up late, at {:?}",
        sim.now
    );
}

#[test]
fn a_provider_that_left_is_dialed_again_only_after_a_growing_rest() {
    // The only seeder is gone before anyone asks, its record stays: the leecher's dials fail
    // and it must not redial on every lookup.
    let specs = vec![
        NodeSpec {
            behaviour: Behaviour::Vanishes(Duration::ZERO),
            upload: MB,
            seeder: true,
        },
        leecher(1.0 * MB),
    ];
    let mut sim = Sim::new(1024 * 1024, specs, 7);
    sim.run(Duration::from_secs(60));
    assert!(
        matches!(sim.nodes[1].failed, Some(DownloadError::NotFound { .. })),
        "a fetch only a gone tab could serve must end, not hang"
    );
    assert!(
        sim.dials_to_gone <= 6,
        "{} dials to a gone peer",
        sim.dials_to_gone
    );
    assert!(sim.dials_to_gone >= 3, "only {} dials", sim.dials_to_gone);
}
