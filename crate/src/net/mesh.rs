//! Mesh membership, sans-IO: which swarm peers to hold direct connections to.
//!
//! Feed it what discovery found and what happened to connections, with the time; it answers
//! with dials to start and surplus links to drop. It keeps `target_degree` neighbours, never
//! dials a peer twice at once or more than `max_dials_in_flight` peers at once, backs off
//! exponentially from peers whose dials fail or whose links do not last, forgets peers
//! discovery stopped reporting, and holds at most `max_degree` neighbours so a popular tab stays
//! within the browser's limits.
//!
//! At `max_degree`, a new link replaces the oldest neighbour, at most once per
//! `eviction_interval`; other new links are dropped. Without that, tabs that joined early fill
//! up with the links of later ones, and the last to join can find every member full and stay
//! short of its degree for good. The rate bounds how fast strangers can turn the neighbours
//! over.
//! Links the tab opened for another reason (a download from a provider, `peer.connect`) are
//! pinned: they are not neighbours and are never dropped, so links from strangers filling the
//! degree cannot cut a download off.

use super::backoff::Backoff;
use libp2p::PeerId;
use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::Duration,
};

/// Mesh parameters.
#[derive(Debug, Clone)]
pub struct MeshConfig {
    /// Direct neighbours to keep.
    pub target_degree: usize,
    /// Neighbours held at most (inbound links beyond are dropped).
    pub max_degree: usize,
    /// Dials in progress at once.
    pub max_dials_in_flight: usize,
    /// Wait after a first failed dial; doubles per failure.
    pub backoff_base: Duration,
    /// Longest wait between dials to a failing peer.
    pub backoff_max: Duration,
    /// A link that lasted this long was a success: when it goes, the peer's backoff starts
    /// over. A shorter one (the peer was full and dropped it, or left) counts as a failure.
    pub stable_link: Duration,
    /// At `max_degree`, a new link replaces the oldest neighbour at most this often.
    pub eviction_interval: Duration,
    /// A discovered peer not reported again within this is forgotten.
    pub candidate_ttl: Duration,
    /// Candidates remembered at most.
    pub max_candidates: usize,
    /// Peers pinned at once (links opened for downloads or by the page); more count as mesh
    /// links.
    pub max_pinned: usize,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self {
            target_degree: 8,
            max_degree: 16,
            max_dials_in_flight: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            stable_link: Duration::from_secs(30),
            eviction_interval: Duration::from_secs(10),
            candidate_ttl: Duration::from_secs(120),
            max_candidates: 256,
            max_pinned: 256,
        }
    }
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeshAction {
    /// Open a direct connection to this peer, then report `connected` or `dial_failed`.
    Dial(PeerId),
    /// Close the direct links to this peer (past `max_degree`).
    Drop(PeerId),
}

#[derive(Debug, Clone)]
struct Candidate {
    last_seen: Duration,
    backoff: Backoff,
    retry_at: Duration,
}

/// The mesh state of one tab in one swarm.
#[derive(Debug)]
pub struct Mesh {
    config: MeshConfig,
    local: PeerId,
    /// Neighbours and when each link came up.
    neighbours: HashMap<PeerId, Duration>,
    dialing: HashSet<PeerId>,
    next_eviction: Duration,
    candidates: HashMap<PeerId, Candidate>,
    pinned: HashSet<PeerId>,
    actions: VecDeque<MeshAction>,
}

impl Mesh {
    /// An empty mesh for the tab `local`.
    pub fn new(local: PeerId, config: MeshConfig) -> Self {
        Self {
            config,
            local,
            neighbours: HashMap::new(),
            dialing: HashSet::new(),
            next_eviction: Duration::ZERO,
            candidates: HashMap::new(),
            pinned: HashSet::new(),
            actions: VecDeque::new(),
        }
    }

    /// Current neighbours.
    pub fn neighbours(&self) -> impl Iterator<Item = &PeerId> {
        self.neighbours.keys()
    }

    /// Whether more neighbours are wanted (so discovery should run soon).
    pub fn wants_peers(&self) -> bool {
        self.neighbours.len() < self.config.target_degree
    }

    /// Discovery reported `peer` as a member of the swarm.
    pub fn discovered(&mut self, peer: PeerId, now: Duration) {
        if peer == self.local {
            return;
        }
        if let Some(candidate) = self.candidates.get_mut(&peer) {
            candidate.last_seen = now;
            return;
        }
        if self.candidates.len() >= self.config.max_candidates {
            return;
        }
        let backoff = Backoff::new(self.config.backoff_base, self.config.backoff_max);
        self.candidates.insert(
            peer,
            Candidate {
                last_seen: now,
                backoff,
                retry_at: now,
            },
        );
    }

    /// The tab is about to open a link to `peer` for its own use (not the mesh): that link is
    /// kept whatever the degree, until [`Mesh::unpin`] or the last link to `peer` goes.
    pub fn pin(&mut self, peer: PeerId) {
        if self.pinned.len() < self.config.max_pinned {
            self.pinned.insert(peer);
        }
    }

    /// The link pinned for `peer` did not come up, or is no longer needed.
    pub fn unpin(&mut self, peer: &PeerId) {
        self.pinned.remove(peer);
    }

    /// A direct link to `peer` came up (dialed by us or by them).
    pub fn connected(&mut self, peer: PeerId, now: Duration) {
        self.dialing.remove(&peer);
        if self.pinned.contains(&peer) || self.neighbours.contains_key(&peer) {
            return;
        }
        if let Some(candidate) = self.candidates.get_mut(&peer) {
            candidate.last_seen = now;
        }
        if self.neighbours.len() >= self.config.max_degree {
            match self.evictable(now) {
                Some(oldest) => {
                    self.next_eviction = now + self.config.eviction_interval;
                    self.lose(oldest, now);
                    self.actions.push_back(MeshAction::Drop(oldest));
                }
                None => {
                    self.actions.push_back(MeshAction::Drop(peer));
                    return;
                }
            }
        }
        self.neighbours.insert(peer, now);
    }

    /// The last direct link to `peer` went away.
    pub fn disconnected(&mut self, peer: PeerId, now: Duration) {
        self.pinned.remove(&peer);
        self.lose(peer, now);
    }

    /// The neighbour a new link replaces at `max_degree`, if one may go now: the oldest that
    /// is not pinned (a neighbour the tab then opened a download over stays).
    fn evictable(&self, now: Duration) -> Option<PeerId> {
        if now < self.next_eviction {
            return None;
        }
        self.neighbours
            .iter()
            .filter(|(peer, _)| !self.pinned.contains(*peer))
            .min_by_key(|(peer, since)| (**since, spread(&self.local, peer)))
            .map(|(peer, _)| *peer)
    }

    /// `peer` is no longer a neighbour: it is tried again after its backoff, which starts over
    /// if the link was stable.
    fn lose(&mut self, peer: PeerId, now: Duration) {
        let Some(since) = self.neighbours.remove(&peer) else {
            return;
        };
        if let Some(candidate) = self.candidates.get_mut(&peer) {
            if now.saturating_sub(since) >= self.config.stable_link {
                candidate.backoff.reset();
            }
            candidate.retry_at = now + candidate.backoff.fail(0.0);
        }
    }

    /// Our dial to `peer` succeeded on a link that was already up (no new connection follows).
    pub fn dial_succeeded(&mut self, peer: PeerId) {
        self.dialing.remove(&peer);
    }

    /// Our dial to `peer` failed.
    pub fn dial_failed(&mut self, peer: PeerId, now: Duration) {
        self.dialing.remove(&peer);
        if let Some(candidate) = self.candidates.get_mut(&peer) {
            candidate.retry_at = now + candidate.backoff.fail(0.0);
        }
    }

    /// The next action at `now`, if any. Call until `None` after every input and on
    /// [`Mesh::poll_timeout`].
    pub fn poll_action(&mut self, now: Duration) -> Option<MeshAction> {
        if let Some(action) = self.actions.pop_front() {
            return Some(action);
        }
        let ttl = self.config.candidate_ttl;
        let neighbours = &self.neighbours;
        let dialing = &self.dialing;
        self.candidates.retain(|peer, c| {
            neighbours.contains_key(peer)
                || dialing.contains(peer)
                || now.saturating_sub(c.last_seen) < ttl
        });
        if self.neighbours.len() + self.dialing.len() >= self.config.target_degree
            || self.dialing.len() >= self.config.max_dials_in_flight
        {
            return None;
        }
        let next = self
            .candidates
            .iter()
            .filter(|(peer, c)| {
                !self.neighbours.contains_key(*peer)
                    && !self.dialing.contains(*peer)
                    && !self.pinned.contains(*peer)
                    && c.retry_at <= now
            })
            // Fewest failures first, then a stable order so every tab does not pick the same.
            .min_by_key(|(peer, c)| (c.backoff.failures(), spread(&self.local, peer)))
            .map(|(peer, _)| *peer)?;
        self.dialing.insert(next);
        Some(MeshAction::Dial(next))
    }

    /// When a backed-off candidate becomes eligible again, if the mesh wants one.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if !self.wants_peers() {
            return None;
        }
        self.candidates
            .iter()
            .filter(|(peer, _)| {
                !self.neighbours.contains_key(*peer) && !self.dialing.contains(*peer)
            })
            .map(|(_, c)| c.retry_at)
            .min()
    }
}

/// A per-tab ordering of peers, so tabs spread their dials instead of all picking the same one.
fn spread(local: &PeerId, peer: &PeerId) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    local.hash(&mut hasher);
    peer.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn config(target: usize) -> MeshConfig {
        MeshConfig {
            target_degree: target,
            max_degree: target + 2,
            max_dials_in_flight: 2,
            ..MeshConfig::default()
        }
    }

    fn actions(mesh: &mut Mesh, now: Duration) -> Vec<MeshAction> {
        std::iter::from_fn(|| mesh.poll_action(now)).collect()
    }

    fn dials(actions: &[MeshAction]) -> Vec<PeerId> {
        actions
            .iter()
            .filter_map(|a| match a {
                MeshAction::Dial(p) => Some(*p),
                MeshAction::Drop(_) => None,
            })
            .collect()
    }

    #[test]
    fn dials_up_to_the_in_flight_limit_then_to_the_target() {
        let mut mesh = Mesh::new(PeerId::random(), config(3));
        let peers: Vec<PeerId> = (0..6).map(|_| PeerId::random()).collect();
        for p in &peers {
            mesh.discovered(*p, Duration::ZERO);
        }
        let first = dials(&actions(&mut mesh, Duration::ZERO));
        assert_eq!(first.len(), 2, "max 2 in flight");
        for p in &first {
            mesh.connected(*p, S);
        }
        let second = dials(&actions(&mut mesh, S));
        assert_eq!(second.len(), 1, "one more reaches the target of 3");
        assert!(
            second.iter().all(|p| !first.contains(p)),
            "never the same peer twice"
        );
        mesh.connected(second[0], S);
        assert!(actions(&mut mesh, S).is_empty());
        assert!(!mesh.wants_peers());
    }

    #[test]
    fn ignores_itself_and_never_dials_a_peer_twice_at_once() {
        let local = PeerId::random();
        let mut mesh = Mesh::new(local, config(2));
        let b = PeerId::random();
        mesh.discovered(local, Duration::ZERO);
        mesh.discovered(b, Duration::ZERO);
        mesh.discovered(b, Duration::ZERO);
        assert_eq!(
            actions(&mut mesh, Duration::ZERO),
            vec![MeshAction::Dial(b)]
        );
        assert!(actions(&mut mesh, Duration::ZERO).is_empty());
    }

    #[test]
    fn failing_peers_are_backed_off_exponentially() {
        let mut mesh = Mesh::new(PeerId::random(), config(1));
        let b = PeerId::random();
        mesh.discovered(b, Duration::ZERO);
        let mut now = Duration::ZERO;
        for expected_wait in [1, 2, 4, 8] {
            assert_eq!(actions(&mut mesh, now), vec![MeshAction::Dial(b)]);
            mesh.dial_failed(b, now);
            mesh.discovered(b, now); // discovery still lists it
            assert!(actions(
                &mut mesh,
                now + S * expected_wait - Duration::from_millis(1)
            )
            .is_empty());
            assert_eq!(mesh.poll_timeout(), Some(now + S * expected_wait));
            now += S * expected_wait;
        }
    }

    #[test]
    fn lost_neighbours_are_replaced() {
        let mut mesh = Mesh::new(PeerId::random(), config(2));
        let peers: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
        for p in &peers {
            mesh.discovered(*p, Duration::ZERO);
        }
        let first = dials(&actions(&mut mesh, Duration::ZERO));
        for p in &first {
            mesh.connected(*p, Duration::ZERO);
        }
        mesh.disconnected(first[0], S);
        let replacement = dials(&actions(&mut mesh, S));
        assert_eq!(replacement.len(), 1);
        assert_ne!(
            replacement[0], first[0],
            "the lost peer waits; another replaces it"
        );
    }

    #[test]
    fn at_max_degree_a_new_link_replaces_the_oldest_neighbour_at_most_once_per_interval() {
        let mut mesh = Mesh::new(PeerId::random(), config(1)); // max_degree 3
        let peers: Vec<PeerId> = (0..5).map(|_| PeerId::random()).collect();
        for (i, p) in peers[..3].iter().enumerate() {
            mesh.connected(*p, S * i as u32);
        }
        let interval = MeshConfig::default().eviction_interval;
        mesh.connected(peers[3], 5 * S);
        assert_eq!(actions(&mut mesh, 5 * S), vec![MeshAction::Drop(peers[0])]);
        // Within the interval, a new link is the one dropped.
        mesh.connected(peers[4], 5 * S + interval / 2);
        assert_eq!(
            actions(&mut mesh, 5 * S + interval / 2),
            vec![MeshAction::Drop(peers[4])]
        );
        let mut held: Vec<PeerId> = mesh.neighbours().copied().collect();
        held.sort();
        let mut expected = peers[1..4].to_vec();
        expected.sort();
        assert_eq!(held, expected);
        mesh.connected(peers[4], 5 * S + interval);
        assert_eq!(
            actions(&mut mesh, 5 * S + interval),
            vec![MeshAction::Drop(peers[1])]
        );
    }

    #[test]
    fn a_peer_whose_links_do_not_last_is_retried_ever_later_and_a_stable_link_starts_over() {
        let mut mesh = Mesh::new(PeerId::random(), config(1));
        let b = PeerId::random();
        mesh.discovered(b, Duration::ZERO);
        let mut now = Duration::ZERO;
        for wait in [1, 2, 4] {
            assert_eq!(actions(&mut mesh, now), vec![MeshAction::Dial(b)]);
            mesh.connected(b, now);
            // The peer (full) drops the link at once.
            mesh.disconnected(b, now);
            mesh.discovered(b, now);
            assert!(actions(&mut mesh, now + S * wait - Duration::from_millis(1)).is_empty());
            now += S * wait;
        }
        assert_eq!(actions(&mut mesh, now), vec![MeshAction::Dial(b)]);
        mesh.connected(b, now);
        now += MeshConfig::default().stable_link;
        mesh.disconnected(b, now);
        mesh.discovered(b, now);
        assert_eq!(
            mesh.poll_timeout(),
            Some(now + S),
            "back to the first delay"
        );
    }

    #[test]
    fn peers_discovery_stopped_reporting_are_forgotten() {
        let mut mesh = Mesh::new(
            PeerId::random(),
            MeshConfig {
                candidate_ttl: S * 10,
                ..config(1)
            },
        );
        let b = PeerId::random();
        mesh.discovered(b, Duration::ZERO);
        assert_eq!(
            actions(&mut mesh, Duration::ZERO),
            vec![MeshAction::Dial(b)]
        );
        mesh.dial_failed(b, Duration::ZERO);
        assert!(
            actions(&mut mesh, S * 11).is_empty(),
            "expired instead of redialed"
        );
        assert_eq!(mesh.poll_timeout(), None);
    }

    #[test]
    fn candidate_memory_is_bounded() {
        let mut mesh = Mesh::new(
            PeerId::random(),
            MeshConfig {
                max_candidates: 5,
                ..config(1)
            },
        );
        for _ in 0..50 {
            mesh.discovered(PeerId::random(), Duration::ZERO);
        }
        assert_eq!(mesh.candidates.len(), 5);
    }

    #[test]
    fn strangers_filling_the_degree_cannot_cut_a_pinned_link() {
        let mut mesh = Mesh::new(PeerId::random(), config(1)); // max_degree 3
        for _ in 0..3 {
            mesh.connected(PeerId::random(), Duration::ZERO);
        }
        let provider = PeerId::random();
        mesh.pin(provider);
        mesh.connected(provider, S);
        assert!(actions(&mut mesh, S).is_empty(), "the pinned link stays");
        assert!(!mesh.neighbours().any(|p| *p == provider));
        // A first stranger replaces a neighbour; the next, within the interval, is dropped.
        mesh.connected(PeerId::random(), S);
        assert_eq!(actions(&mut mesh, S).len(), 1);
        let stranger = PeerId::random();
        mesh.connected(stranger, S);
        assert_eq!(actions(&mut mesh, S), vec![MeshAction::Drop(stranger)]);
        assert!(mesh.neighbours().all(|p| *p != provider));
        // Once its last link went, the peer is no longer pinned.
        mesh.disconnected(provider, 2 * S);
        mesh.connected(provider, 3 * S);
        assert_eq!(actions(&mut mesh, 3 * S), vec![MeshAction::Drop(provider)]);
    }

    #[test]
    fn a_neighbour_the_tab_then_downloads_from_is_never_the_one_replaced() {
        let oldest = PeerId::random();
        let mut mesh = Mesh::new(PeerId::random(), config(1));
        mesh.connected(oldest, Duration::ZERO);
        mesh.pin(oldest);
        for _ in 0..2 {
            mesh.connected(PeerId::random(), S);
        }
        let newcomer = PeerId::random();
        mesh.connected(newcomer, 2 * S);
        let dropped = actions(&mut mesh, 2 * S);
        assert_eq!(dropped.len(), 1);
        assert_ne!(dropped[0], MeshAction::Drop(oldest));
    }

    #[test]
    fn a_pinned_peer_is_not_dialed_and_a_dial_that_finds_a_link_frees_its_slot() {
        let mut mesh = Mesh::new(PeerId::random(), config(2));
        let (pinned, other) = (PeerId::random(), PeerId::random());
        mesh.pin(pinned);
        mesh.connected(pinned, Duration::ZERO);
        mesh.discovered(pinned, Duration::ZERO);
        mesh.discovered(other, Duration::ZERO);
        assert_eq!(dials(&actions(&mut mesh, Duration::ZERO)), vec![other]);
        // The dial resolved on a link that was already up: no new connection event comes.
        mesh.dial_succeeded(other);
        let third = PeerId::random();
        mesh.discovered(third, S);
        // Both slots are free: the dial did not stay "in flight" for ever.
        assert_eq!(dials(&actions(&mut mesh, S)).len(), 2);
    }
}
