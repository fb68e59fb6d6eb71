//! [`ServerSet`]: which peers are servers of this network, sans-IO.
//!
//! A peer's claim to be a server (its identify message lists the servers' Kademlia protocol)
//! is its own message, which anyone can write, so it proves nothing. A server of the network is
//! a peer whose id the operator named: `--network-peer-id`, or the `/p2p/<id>` of a `--peer`
//! address. Peer ids are public keys and a libp2p connection authenticates the remote's key
//! (Noise, or DTLS for WebRTC), so a connected peer with an allowed id holds that id's key.
//!
//! Only such servers are listed to tabs in `/bootstrap`, asked in federated lookups, exempt from
//! the request rates, and spoken Kademlia with ([`crate::servers_only`]).

use libp2p::PeerId;
use std::collections::HashSet;

/// What an identify message made of its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identified {
    /// An allowed server, newly connected (its addresses go to `/bootstrap`).
    Joined,
    /// An allowed server already known (its addresses may have changed).
    Known,
    /// A peer claiming to be a server (it lists the servers' DHT protocol) whose id is not
    /// allowed: treated as a tab.
    Impostor,
    /// A tab.
    Tab,
}

/// The allowed servers of the network, and which of them are connected.
#[derive(Debug, Clone, Default)]
pub struct ServerSet {
    allowed: HashSet<PeerId>,
    connected: HashSet<PeerId>,
}

impl ServerSet {
    /// The servers `allowed` (this server's own id, `local`, left out).
    pub fn new(allowed: impl IntoIterator<Item = PeerId>, local: PeerId) -> Self {
        Self {
            allowed: allowed.into_iter().filter(|peer| *peer != local).collect(),
            connected: HashSet::new(),
        }
    }

    /// Whether `peer` is a server of the network (connected or not).
    pub fn is_allowed(&self, peer: &PeerId) -> bool {
        self.allowed.contains(peer)
    }

    /// The servers of the network.
    pub fn allowed(&self) -> &HashSet<PeerId> {
        &self.allowed
    }

    /// Whether `peer` is a server of the network that is connected and has identified itself.
    pub fn is_connected_server(&self, peer: &PeerId) -> bool {
        self.connected.contains(peer)
    }

    /// Servers of the network connected now.
    pub fn connected(&self) -> usize {
        self.connected.len()
    }

    /// `peer` identified itself; `claims_server` when it lists the servers' DHT protocol.
    pub fn on_identify(&mut self, peer: PeerId, claims_server: bool) -> Identified {
        match (self.allowed.contains(&peer), claims_server) {
            (true, _) if self.connected.insert(peer) => Identified::Joined,
            (true, _) => Identified::Known,
            (false, true) => Identified::Impostor,
            (false, false) => Identified::Tab,
        }
    }

    /// `peer`'s last connection closed; returns whether it was a connected server.
    pub fn on_disconnected(&mut self, peer: &PeerId) -> bool {
        self.connected.remove(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_ids_are_servers_whatever_they_claim() {
        let (local, server, stranger) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut set = ServerSet::new([server, local], local);
        assert!(set.is_allowed(&server));
        assert!(!set.is_allowed(&local), "not a server of its own network");
        assert_eq!(set.on_identify(stranger, true), Identified::Impostor);
        assert_eq!(set.on_identify(stranger, false), Identified::Tab);
        assert!(!set.is_connected_server(&stranger));
        assert_eq!(set.connected(), 0);
        assert_eq!(set.on_identify(server, true), Identified::Joined);
        assert_eq!(set.on_identify(server, true), Identified::Known);
        assert!(set.is_connected_server(&server));
        assert_eq!(set.connected(), 1);
        assert!(!set.on_disconnected(&stranger));
        assert!(set.on_disconnected(&server));
        assert!(!set.is_connected_server(&server));
        assert!(set.is_allowed(&server), "still allowed when it comes back");
        assert_eq!(set.on_identify(server, false), Identified::Joined);
    }
}
