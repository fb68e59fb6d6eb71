//! [`RelayBook`]: through which server each tab is reached, sans-IO. A tab attached to another
//! server of the network is reached through that server's relay (`<server addr>/p2p/<server>`),
//! learned from the addresses in its signed registration; tabs of our own server are reached
//! through ours.

use std::collections::HashMap;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use super::bootstrap::peer_of;

/// Tabs remembered as attached to another server; past it the book starts afresh.
pub const MAX_RELAYS_KNOWN: usize = 10_000;

/// Which server relays to each tab attached elsewhere.
#[derive(Debug, Default)]
pub struct RelayBook {
    relays: HashMap<PeerId, Multiaddr>,
}

impl RelayBook {
    /// Learns from `peer`'s registered `addresses` which server relays to it; `home` is the
    /// tab's own server.
    pub fn learn(&mut self, peer: PeerId, addresses: &[Multiaddr], home: PeerId) {
        let relay = addresses.iter().find_map(relay_of);
        match relay {
            Some(relay) if peer_of(&relay) != Some(home) => {
                if self.relays.len() >= MAX_RELAYS_KNOWN && !self.relays.contains_key(&peer) {
                    self.relays.clear();
                }
                self.relays.insert(peer, relay);
            }
            _ => {
                self.relays.remove(&peer);
            }
        }
    }

    /// The server through which `peer` is reached, if not the tab's own.
    pub fn relay_for(&self, peer: &PeerId) -> Option<&Multiaddr> {
        self.relays.get(peer)
    }

    /// Tabs known to be attached elsewhere.
    pub fn len(&self) -> usize {
        self.relays.len()
    }

    /// Whether no tab is known to be attached elsewhere.
    pub fn is_empty(&self) -> bool {
        self.relays.is_empty()
    }
}

/// The relay part of a relayed address (`<relay addr>/p2p/<relay>` before `/p2p-circuit`).
fn relay_of(addr: &Multiaddr) -> Option<Multiaddr> {
    let mut relay = Multiaddr::empty();
    for protocol in addr.iter() {
        if protocol == Protocol::P2pCircuit {
            return peer_of(&relay).map(|_| relay);
        }
        relay.push(protocol);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{RelayBook, MAX_RELAYS_KNOWN};
    use libp2p::{Multiaddr, PeerId};

    fn circuit(server: PeerId) -> Multiaddr {
        format!("/ip4/10.0.0.1/udp/1/webrtc-direct/p2p/{server}/p2p-circuit/webrtc")
            .parse()
            .unwrap()
    }

    #[test]
    fn tabs_of_another_server_are_reached_through_it_and_ours_through_ours() {
        let (home, other, tab) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut book = RelayBook::default();
        book.learn(tab, &[circuit(other)], home);
        let relay = book.relay_for(&tab).unwrap();
        assert_eq!(
            relay.to_string(),
            format!("/ip4/10.0.0.1/udp/1/webrtc-direct/p2p/{other}")
        );
        // It moved to our server: forgotten.
        book.learn(tab, &[circuit(home)], home);
        assert!(book.relay_for(&tab).is_none());
        // An address without a circuit says nothing.
        book.learn(tab, &["/ip4/1.2.3.4/tcp/1".parse().unwrap()], home);
        assert!(book.is_empty());
    }

    #[test]
    fn the_book_is_bounded() {
        let (home, other) = (PeerId::random(), PeerId::random());
        let mut book = RelayBook::default();
        for _ in 0..MAX_RELAYS_KNOWN + 10 {
            book.learn(PeerId::random(), &[circuit(other)], home);
            assert!(book.len() <= MAX_RELAYS_KNOWN);
        }
    }
}
