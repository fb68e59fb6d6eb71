//! [`Membership`]: a tab's membership of its swarm (the named group of tabs it joined), sans-IO:
//! when to register in the swarm's rendezvous namespace at its server, when to ask the server
//! for the other members, and, through [`Mesh`], which of them to hold direct links to.

use std::time::Duration;

use libp2p::PeerId;

use super::mesh::{Mesh, MeshAction, MeshConfig};

/// Seconds a registration lasts on the server; renewed at half that.
pub const REGISTRATION_TTL: u64 = 120;
/// How often to ask the server for members while the mesh wants more neighbours.
const DISCOVER_WHILE_WANTING: Duration = Duration::from_secs(2);
/// How often to ask otherwise (to learn replacements before they are needed).
const DISCOVER_OTHERWISE: Duration = Duration::from_secs(30);
/// Members asked for per discovery.
pub const DISCOVER_LIMIT: u64 = 100;
/// Longest swarm name (the rendezvous spec's namespace limit).
pub const MAX_SWARM_NAME: usize = 255;

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipAction {
    /// Register in the swarm's namespace at the server for `ttl` seconds.
    Register {
        /// Seconds the registration lasts.
        ttl: u64,
    },
    /// Ask the server for up to `limit` members; report them with [`Membership::discovered`].
    Discover {
        /// Members asked for.
        limit: u64,
    },
    /// What the mesh asks (dial a member, drop surplus links).
    Mesh(MeshAction),
}

/// A swarm name that cannot be a rendezvous namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid swarm name {0:?}: it must be 1 to {MAX_SWARM_NAME} bytes")]
pub struct InvalidSwarmName(pub String);

/// The tab's membership of one swarm.
#[derive(Debug)]
pub struct Membership {
    mesh: Mesh,
    swarm: String,
    next_registration: Duration,
    next_discovery: Duration,
    last_discovery: Option<Duration>,
}

impl Membership {
    /// Membership of `swarm` for the tab `local`.
    pub fn new(local: PeerId, swarm: &str, config: MeshConfig) -> Result<Self, InvalidSwarmName> {
        if swarm.is_empty() || swarm.len() > MAX_SWARM_NAME {
            return Err(InvalidSwarmName(swarm.to_owned()));
        }
        Ok(Self {
            mesh: Mesh::new(local, config),
            swarm: swarm.to_owned(),
            next_registration: Duration::ZERO,
            next_discovery: Duration::ZERO,
            last_discovery: None,
        })
    }

    /// The swarm's name (its rendezvous namespace).
    pub fn swarm(&self) -> &str {
        &self.swarm
    }

    /// Current neighbours.
    pub fn neighbours(&self) -> impl Iterator<Item = &PeerId> {
        self.mesh.neighbours()
    }

    /// Registers and discovers at the next chance (after moving to another server).
    pub fn renew_now(&mut self) {
        self.next_registration = Duration::ZERO;
        self.next_discovery = Duration::ZERO;
    }

    /// The server reported these members.
    pub fn discovered(&mut self, members: impl IntoIterator<Item = PeerId>, now: Duration) {
        for peer in members {
            self.mesh.discovered(peer, now);
        }
    }

    /// A direct link to `peer` came up; says whether `peer` became a neighbour.
    pub fn connected(&mut self, peer: PeerId, now: Duration) -> bool {
        let before = self.mesh.neighbours().any(|p| *p == peer);
        self.mesh.connected(peer, now);
        !before && self.mesh.neighbours().any(|p| *p == peer)
    }

    /// The last direct link to `peer` went away; says whether it was a neighbour.
    ///
    /// Losing a neighbour brings the next discovery forward (to [`DISCOVER_WHILE_WANTING`]
    /// after the last one at most): while the mesh was full, discovery ran rarely, and members
    /// that joined meanwhile are the replacements.
    pub fn disconnected(&mut self, peer: PeerId, now: Duration) -> bool {
        let was = self.mesh.neighbours().any(|p| *p == peer);
        self.mesh.disconnected(peer, now);
        if was && self.mesh.wants_peers() {
            let soonest = self
                .last_discovery
                .map_or(now, |last| last + DISCOVER_WHILE_WANTING);
            self.next_discovery = self.next_discovery.min(soonest.max(now));
        }
        was
    }

    /// The tab opens a link to `peer` for its own use (a download, `peer.connect`): the mesh
    /// must not count or drop it (see [`Mesh::pin`]).
    pub fn pin(&mut self, peer: PeerId) {
        self.mesh.pin(peer);
    }

    /// A link pinned for `peer` did not come up.
    pub fn unpin(&mut self, peer: &PeerId) {
        self.mesh.unpin(peer);
    }

    /// A dial the mesh asked for ended.
    pub fn dial_finished(&mut self, peer: PeerId, ok: bool, now: Duration) {
        if ok {
            self.mesh.dial_succeeded(peer);
        } else {
            self.mesh.dial_failed(peer, now);
        }
    }

    /// The next thing to do at `now`, if any. Call until `None` on a timer and after every
    /// input.
    pub fn poll_action(&mut self, now: Duration) -> Option<MembershipAction> {
        if now >= self.next_registration {
            self.next_registration = now + Duration::from_secs(REGISTRATION_TTL / 2);
            return Some(MembershipAction::Register {
                ttl: REGISTRATION_TTL,
            });
        }
        if now >= self.next_discovery {
            let wait = if self.mesh.wants_peers() {
                DISCOVER_WHILE_WANTING
            } else {
                DISCOVER_OTHERWISE
            };
            self.next_discovery = now + wait;
            self.last_discovery = Some(now);
            return Some(MembershipAction::Discover {
                limit: DISCOVER_LIMIT,
            });
        }
        self.mesh.poll_action(now).map(MembershipAction::Mesh)
    }
}

#[cfg(test)]
mod tests {
    use super::{InvalidSwarmName, Membership, MembershipAction, REGISTRATION_TTL};
    use crate::net::mesh::{MeshAction, MeshConfig};
    use libp2p::PeerId;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    fn actions(membership: &mut Membership, now: Duration) -> Vec<MembershipAction> {
        std::iter::from_fn(|| membership.poll_action(now)).collect()
    }

    #[test]
    fn registers_at_once_and_again_at_half_the_ttl() {
        let mut membership = Membership::new(PeerId::random(), "s", MeshConfig::default()).unwrap();
        let first = actions(&mut membership, Duration::ZERO);
        assert_eq!(
            first,
            [
                MembershipAction::Register {
                    ttl: REGISTRATION_TTL
                },
                MembershipAction::Discover { limit: 100 }
            ]
        );
        let half = Duration::from_secs(REGISTRATION_TTL / 2);
        let before = actions(&mut membership, half - S);
        assert!(!before
            .iter()
            .any(|a| matches!(a, MembershipAction::Register { .. })));
        assert!(
            actions(&mut membership, half).contains(&MembershipAction::Register {
                ttl: REGISTRATION_TTL
            })
        );
        membership.renew_now();
        assert!(
            actions(&mut membership, half + S).contains(&MembershipAction::Register {
                ttl: REGISTRATION_TTL
            })
        );
    }

    #[test]
    fn discovers_often_while_wanting_peers_then_rarely() {
        let config = MeshConfig {
            target_degree: 1,
            ..MeshConfig::default()
        };
        let mut membership = Membership::new(PeerId::random(), "s", config).unwrap();
        actions(&mut membership, Duration::ZERO);
        let discovers = |actions: Vec<MembershipAction>| {
            actions
                .iter()
                .filter(|a| matches!(a, MembershipAction::Discover { .. }))
                .count()
        };
        assert_eq!(discovers(actions(&mut membership, 2 * S)), 1);
        let peer = PeerId::random();
        membership.discovered([peer], 2 * S);
        assert!(membership.connected(peer, 2 * S));
        assert!(!membership.connected(peer, 2 * S), "already a neighbour");
        assert_eq!(discovers(actions(&mut membership, 4 * S)), 1);
        assert_eq!(discovers(actions(&mut membership, 30 * S)), 0);
        assert_eq!(discovers(actions(&mut membership, 34 * S)), 1);
    }

    #[test]
    fn losing_a_neighbour_of_a_full_mesh_discovers_again_soon_but_not_in_a_burst() {
        let config = MeshConfig {
            target_degree: 2,
            ..MeshConfig::default()
        };
        let mut membership = Membership::new(PeerId::random(), "s", config).unwrap();
        let discovers = |membership: &mut Membership, now| {
            actions(membership, now)
                .iter()
                .filter(|a| matches!(a, MembershipAction::Discover { .. }))
                .count()
        };
        assert_eq!(discovers(&mut membership, Duration::ZERO), 1);
        let peers: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
        membership.discovered(peers.clone(), S);
        for peer in &peers[..2] {
            membership.connected(*peer, S);
        }
        // Full: the next discovery would be 30 s later.
        assert_eq!(discovers(&mut membership, 2 * S), 1);
        assert_eq!(discovers(&mut membership, 10 * S), 0);
        assert!(membership.disconnected(peers[0], 10 * S));
        assert_eq!(discovers(&mut membership, 10 * S), 1, "at once");
        // Another loss right after waits for the short interval, not longer.
        membership.connected(peers[2], 10 * S);
        assert!(membership.disconnected(peers[1], 10 * S + S / 2));
        assert_eq!(discovers(&mut membership, 11 * S), 0);
        assert_eq!(discovers(&mut membership, 12 * S), 1);
    }

    #[test]
    fn members_found_are_dialed_through_the_mesh() {
        let local = PeerId::random();
        let mut membership = Membership::new(local, "s", MeshConfig::default()).unwrap();
        actions(&mut membership, Duration::ZERO);
        let peer = PeerId::random();
        membership.discovered([peer, local], S);
        assert_eq!(
            actions(&mut membership, S),
            [MembershipAction::Mesh(MeshAction::Dial(peer))]
        );
        membership.dial_finished(peer, false, S);
        assert!(actions(&mut membership, S).is_empty(), "backs off");
    }

    #[test]
    fn a_swarm_name_must_fit_a_namespace() {
        let local = PeerId::random();
        assert!(Membership::new(local, &"x".repeat(255), MeshConfig::default()).is_ok());
        assert_eq!(
            Membership::new(local, &"x".repeat(256), MeshConfig::default()).unwrap_err(),
            InvalidSwarmName("x".repeat(256))
        );
        assert!(Membership::new(local, "", MeshConfig::default()).is_err());
    }
}
