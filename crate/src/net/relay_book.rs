//! [`RelayBook`]: through which server each tab is reached, sans-IO. A tab attached to another
//! server of the network is reached through that server's relay, as its signed registration
//! says; tabs of our own server are reached through ours.
//!
//! A registration is self-signed: its addresses are whatever the registrant wrote (say
//! `/dns4/intranet/tcp/80/ws/…`, to make visitors' browsers probe a LAN). So only servers of the
//! network (from the bootstrap document) are ever used as relays, at addresses that document
//! lists for them.

use std::collections::HashMap;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use super::bootstrap::{peer_of, Bootstrap, PageScheme};

/// Tabs remembered as attached to another server; past it the book starts afresh.
pub const MAX_RELAYS_KNOWN: usize = 10_000;

/// Which server relays to each tab attached elsewhere.
#[derive(Debug, Default)]
pub struct RelayBook {
    /// The network's servers and the addresses a browser may dial them at.
    servers: HashMap<PeerId, Vec<Multiaddr>>,
    relays: HashMap<PeerId, Multiaddr>,
}

impl RelayBook {
    /// A book for the network of `servers` (the bootstrap document's), reached from a `page`.
    pub fn new(servers: &[Bootstrap], page: PageScheme) -> Self {
        let servers = servers
            .iter()
            .map(|server| {
                let addrs = server.browser_dial_plan(page).into_iter().map(|(_, a)| a);
                (server.peer_id, addrs.collect())
            })
            .collect();
        Self {
            servers,
            relays: HashMap::new(),
        }
    }

    /// Learns from `peer`'s registered `addresses` which server relays to it; `home` is the
    /// tab's own server. A relay that is not a server of the network is ignored.
    pub fn learn(&mut self, peer: PeerId, addresses: &[Multiaddr], home: PeerId) {
        let relay = addresses
            .iter()
            .filter_map(relay_of)
            .find_map(|relay| self.vetted(&relay, home));
        match relay {
            Some(relay) => {
                if self.relays.len() >= MAX_RELAYS_KNOWN && !self.relays.contains_key(&peer) {
                    self.relays.clear();
                }
                self.relays.insert(peer, relay);
            }
            None => {
                self.relays.remove(&peer);
            }
        }
    }

    /// The address to reach `relay`'s server at, if it is a server of the network other than
    /// `home`: `relay` itself if the bootstrap document lists it, else the first it lists.
    fn vetted(&self, relay: &Multiaddr, home: PeerId) -> Option<Multiaddr> {
        let server = peer_of(relay).filter(|server| *server != home)?;
        let known = self.servers.get(&server)?;
        known
            .iter()
            .find(|addr| *addr == relay)
            .or_else(|| known.first())
            .cloned()
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
    use crate::net::bootstrap::{Bootstrap, PageScheme};
    use libp2p::{Multiaddr, PeerId};

    fn direct(server: PeerId) -> Multiaddr {
        format!("/ip4/10.0.0.1/udp/1/webrtc-direct/p2p/{server}")
            .parse()
            .unwrap()
    }

    fn circuit(relay: &Multiaddr) -> Multiaddr {
        format!("{relay}/p2p-circuit/webrtc").parse().unwrap()
    }

    fn network(servers: &[PeerId]) -> RelayBook {
        let documents: Vec<Bootstrap> = servers
            .iter()
            .map(|s| Bootstrap::new(*s, [direct(*s)]))
            .collect();
        RelayBook::new(&documents, PageScheme::Http)
    }

    #[test]
    fn tabs_of_another_server_are_reached_through_it_and_ours_through_ours() {
        let (home, other, tab) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut book = network(&[home, other]);
        book.learn(tab, &[circuit(&direct(other))], home);
        assert_eq!(book.relay_for(&tab), Some(&direct(other)));
        // It moved to our server: forgotten.
        book.learn(tab, &[circuit(&direct(home))], home);
        assert!(book.relay_for(&tab).is_none());
        // An address without a circuit says nothing.
        book.learn(tab, &["/ip4/1.2.3.4/tcp/1".parse().unwrap()], home);
        assert!(book.is_empty());
    }

    #[test]
    fn a_stranger_cannot_make_tabs_dial_an_address_of_its_choosing() {
        let (home, other, tab) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut book = network(&[home, other]);
        // A relay that is no server of the network: ignored.
        let stranger = PeerId::random();
        book.learn(tab, &[circuit(&direct(stranger))], home);
        assert!(book.relay_for(&tab).is_none());
        // A server of the network at an address of the registrant's choosing: the address
        // the bootstrap document lists is used instead.
        let intranet: Multiaddr = format!("/dns4/intranet/tcp/80/ws/p2p/{other}")
            .parse()
            .unwrap();
        book.learn(tab, &[circuit(&intranet)], home);
        assert_eq!(book.relay_for(&tab), Some(&direct(other)));
    }

    #[test]
    fn the_book_is_bounded() {
        let (home, other) = (PeerId::random(), PeerId::random());
        let mut book = network(&[home, other]);
        for _ in 0..MAX_RELAYS_KNOWN + 10 {
            book.learn(PeerId::random(), &[circuit(&direct(other))], home);
            assert!(book.len() <= MAX_RELAYS_KNOWN);
        }
    }
}
