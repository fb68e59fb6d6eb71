//! [`RelayBook`]: through which server each tab is reached, sans-IO. A tab attached to another
//! server of the network is reached through that server's relay, as its signed registration
//! says; tabs of our own server are reached through ours.
//!
//! A registration is self-signed: its addresses are whatever the registrant wrote (say
//! `/dns4/intranet/tcp/80/ws/…`, to make visitors' browsers probe a LAN). So only servers of the
//! network (from the bootstrap document) are ever used as relays, at addresses that document
//! lists for them.
//!
//! A server that came up after the tab joined is not in the document the tab joined with, so a
//! tab attached to it looks like one naming a stranger. Such registrations are kept aside (a
//! few), and the book says when to ask for the bootstrap document again ([`RelayBook::refresh_due`],
//! at most once a minute, so a registrant naming strangers costs one request a minute); with
//! the new document ([`RelayBook::update`]) they are learnt again.

use std::collections::HashMap;
use std::time::Duration;

use hashlink::LinkedHashMap;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use super::bootstrap::{peer_of, Bootstrap, PageScheme};

/// Tabs remembered as attached to another server; past it the book starts afresh.
pub const MAX_RELAYS_KNOWN: usize = 10_000;
/// Registrations naming a relay the book does not know, kept until the network's servers are
/// asked again; past it the oldest is forgotten.
pub const MAX_UNVETTED: usize = 64;
/// Least time between two requests for the network's servers.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Which server relays to each tab attached elsewhere.
#[derive(Debug)]
pub struct RelayBook {
    page: PageScheme,
    /// The network's servers and the addresses a browser may dial them at.
    servers: HashMap<PeerId, Vec<Multiaddr>>,
    relays: HashMap<PeerId, Multiaddr>,
    /// Registrations through a relay that is no server of the book, newest last.
    unvetted: LinkedHashMap<PeerId, Vec<Multiaddr>>,
    /// When the network's servers were last asked for.
    refreshed_at: Option<Duration>,
}

impl RelayBook {
    /// A book for the network of `servers` (the bootstrap document's), reached from a `page`.
    pub fn new(servers: &[Bootstrap], page: PageScheme) -> Self {
        Self {
            page,
            servers: dialable(servers, page),
            relays: HashMap::new(),
            unvetted: LinkedHashMap::new(),
            refreshed_at: None,
        }
    }

    /// Learns from `peer`'s registered `addresses` which server relays to it; `home` is the
    /// tab's own server. A relay that is not a server of the network is not used; the
    /// registration is kept aside until the network's servers are asked again.
    pub fn learn(&mut self, peer: PeerId, addresses: &[Multiaddr], home: PeerId) {
        let relays: Vec<Multiaddr> = addresses.iter().filter_map(relay_of).collect();
        let relay = relays.iter().find_map(|relay| self.vetted(relay, home));
        self.unvetted.remove(&peer);
        match relay {
            Some(relay) => {
                if self.relays.len() >= MAX_RELAYS_KNOWN && !self.relays.contains_key(&peer) {
                    self.relays.clear();
                }
                self.relays.insert(peer, relay);
            }
            None => {
                self.relays.remove(&peer);
                let unknown = relays
                    .iter()
                    .filter_map(peer_of)
                    .any(|server| server != home && !self.servers.contains_key(&server));
                if unknown {
                    if self.unvetted.len() >= MAX_UNVETTED {
                        self.unvetted.pop_front();
                    }
                    self.unvetted.insert(peer, addresses.to_vec());
                }
            }
        }
    }

    /// Whether to ask for the network's servers now (at `now`): a registration named a relay
    /// the book does not know, and the last request is [`REFRESH_EVERY`] old. Counts as asked.
    pub fn refresh_due(&mut self, now: Duration) -> bool {
        let rested = self
            .refreshed_at
            .is_none_or(|at| now.saturating_sub(at) >= REFRESH_EVERY);
        let due = !self.unvetted.is_empty() && rested;
        if due {
            self.refreshed_at = Some(now);
        }
        due
    }

    /// The network's servers as a newer bootstrap document lists them; the registrations kept
    /// aside are learnt again (`home` is the tab's own server).
    pub fn update(&mut self, servers: &[Bootstrap], home: PeerId) {
        self.servers = dialable(servers, self.page);
        let unvetted = std::mem::take(&mut self.unvetted);
        for (peer, addresses) in unvetted {
            self.learn(peer, &addresses, home);
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

/// Each server's addresses a browser on a `page` may dial.
fn dialable(servers: &[Bootstrap], page: PageScheme) -> HashMap<PeerId, Vec<Multiaddr>> {
    servers
        .iter()
        .map(|server| {
            let addrs = server.browser_dial_plan(page).into_iter().map(|(_, a)| a);
            (server.peer_id, addrs.collect())
        })
        .collect()
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
    use super::{RelayBook, MAX_RELAYS_KNOWN, MAX_UNVETTED, REFRESH_EVERY};
    use crate::net::bootstrap::{Bootstrap, PageScheme};
    use libp2p::{Multiaddr, PeerId};
    use std::time::Duration;

    fn direct(server: PeerId) -> Multiaddr {
        format!("/ip4/10.0.0.1/udp/1/webrtc-direct/p2p/{server}")
            .parse()
            .unwrap()
    }

    fn circuit(relay: &Multiaddr) -> Multiaddr {
        format!("{relay}/p2p-circuit/webrtc").parse().unwrap()
    }

    fn documents(servers: &[PeerId]) -> Vec<Bootstrap> {
        servers
            .iter()
            .map(|s| Bootstrap::new(*s, [direct(*s)]))
            .collect()
    }

    fn network(servers: &[PeerId]) -> RelayBook {
        RelayBook::new(&documents(servers), PageScheme::Http)
    }

    #[test]
    fn a_server_that_came_up_later_is_learnt_from_a_newer_document() {
        let (home, later, tab) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut book = network(&[home]);
        assert!(
            !book.refresh_due(Duration::ZERO),
            "nothing unknown: nothing to ask"
        );
        book.learn(tab, &[circuit(&direct(later))], home);
        assert!(
            book.relay_for(&tab).is_none(),
            "not a server of the book yet"
        );
        assert!(book.refresh_due(Duration::ZERO));
        assert!(!book.refresh_due(Duration::ZERO), "asked once");
        book.update(&documents(&[home, later]), home);
        assert_eq!(book.relay_for(&tab), Some(&direct(later)));
        // A stranger's relay: asked again, but not more than once a minute.
        let stranger = PeerId::random();
        book.learn(PeerId::random(), &[circuit(&direct(stranger))], home);
        assert!(!book.refresh_due(REFRESH_EVERY - Duration::from_millis(1)));
        assert!(book.refresh_due(REFRESH_EVERY));
        book.update(&documents(&[home, later]), home);
        let ms = Duration::from_millis(1);
        assert!(
            !book.refresh_due(2 * REFRESH_EVERY - ms),
            "still unknown, asked just now"
        );
        assert!(book.refresh_due(2 * REFRESH_EVERY));
    }

    #[test]
    fn registrations_kept_aside_are_bounded() {
        let home = PeerId::random();
        let mut book = network(&[home]);
        for _ in 0..MAX_UNVETTED + 10 {
            let stranger = PeerId::random();
            book.learn(PeerId::random(), &[circuit(&direct(stranger))], home);
            assert!(book.unvetted.len() <= MAX_UNVETTED);
        }
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
