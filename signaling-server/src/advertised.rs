//! The addresses the server tells browsers about, kept current as listeners come and go.

use crate::stun_server::stun_url;
use libp2p::{multiaddr::Protocol, Multiaddr, PeerId};
use libp2p_webrtc::tokio::Fingerprint;
use peerfetch::net::{
    bootstrap::{Bootstrap, PageScheme},
    ice_server::IceServer,
    transport_kind::TransportKind,
};
use std::sync::RwLock;

/// Other servers listed in `/bootstrap` at most (tabs pick one to move to).
pub const MAX_LISTED_SERVERS: usize = 16;
/// Addresses listed per other server at most.
const MAX_ADDRS_PER_SERVER: usize = 8;

/// Listen addresses reported by libp2p and the operator's external addresses, and the other
/// servers of the network with the addresses they report.
pub struct Advertised {
    peer_id: PeerId,
    external: Vec<Multiaddr>,
    listening: RwLock<Vec<Multiaddr>>,
    servers: RwLock<Vec<Bootstrap>>,
    stun_port: Option<u16>,
}

impl Advertised {
    /// `external` replaces the listen addresses in what is advertised when it is not empty;
    /// its WebRTC-direct addresses get `certhash` appended when they lack one. `stun_port` is
    /// the port of the server's STUN responder, offered to tabs as an ICE server.
    pub fn new(
        peer_id: PeerId,
        certhash: Fingerprint,
        external: Vec<Multiaddr>,
        stun_port: Option<u16>,
    ) -> Self {
        let external = external
            .into_iter()
            .map(|addr| with_certhash(addr, certhash))
            .collect();
        Self {
            peer_id,
            external,
            listening: RwLock::default(),
            servers: RwLock::default(),
            stun_port,
        }
    }

    /// Records (or updates) another server of the network and the addresses a browser can dial
    /// it on (at most [`MAX_ADDRS_PER_SERVER`]); at most [`MAX_LISTED_SERVERS`] are listed.
    pub fn add_server(&self, peer_id: PeerId, addrs: Vec<Multiaddr>) {
        let mut server = Bootstrap::new(peer_id, addrs);
        server.addrs = server
            .browser_dial_plan(PageScheme::Http)
            .into_iter()
            .map(|(_, addr)| addr)
            .take(MAX_ADDRS_PER_SERVER)
            .collect();
        if server.addrs.is_empty() {
            return;
        }
        let mut servers = self.servers.write().expect("lock is never poisoned");
        servers.retain(|known| known.peer_id != peer_id);
        if servers.len() < MAX_LISTED_SERVERS {
            servers.push(server);
        }
    }

    /// Other servers listed.
    pub fn servers_listed(&self) -> usize {
        self.servers.read().expect("lock is never poisoned").len()
    }

    /// Forgets another server (it left).
    pub fn remove_server(&self, peer_id: PeerId) {
        self.servers
            .write()
            .expect("lock is never poisoned")
            .retain(|known| known.peer_id != peer_id);
    }

    /// Records a new listen address.
    pub fn add_listen_addr(&self, addr: Multiaddr) {
        let mut listening = self.listening.write().expect("lock is never poisoned");
        if !listening.contains(&addr) {
            listening.push(addr);
        }
    }

    /// Forgets a listen address that expired.
    pub fn remove_listen_addr(&self, addr: &Multiaddr) {
        let mut listening = self.listening.write().expect("lock is never poisoned");
        listening.retain(|a| a != addr);
    }

    /// The document served at `/bootstrap`.
    pub fn bootstrap(&self) -> Bootstrap {
        let addrs = if self.external.is_empty() {
            self.listening
                .read()
                .expect("lock is never poisoned")
                .clone()
        } else {
            self.external.clone()
        };
        let mut bootstrap = Bootstrap::new(self.peer_id, addrs);
        bootstrap.servers = self.servers.read().expect("lock is never poisoned").clone();
        bootstrap.ice_servers = self
            .stun_port
            .and_then(|port| stun_url(&bootstrap.addrs, port))
            .map(IceServer::stun)
            .into_iter()
            .collect();
        bootstrap
    }
}

fn with_certhash(addr: Multiaddr, certhash: Fingerprint) -> Multiaddr {
    let has_certhash = addr.iter().any(|p| matches!(p, Protocol::Certhash(_)));
    if TransportKind::of(&addr) == TransportKind::WebRtcDirect && !has_certhash {
        addr.with(Protocol::Certhash(certhash.to_multihash()))
    } else {
        addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p_webrtc::tokio::Certificate;

    #[test]
    fn at_most_16_other_servers_are_listed_with_8_addresses_each() {
        let certhash = Certificate::generate(&mut rand::rng())
            .expect("certificate")
            .fingerprint();
        let advertised = Advertised::new(PeerId::random(), certhash, Vec::new(), None);
        let addrs: Vec<Multiaddr> = (0..20)
            .map(|port| {
                format!("/ip4/10.0.0.1/tcp/{}/ws", 4000 + port)
                    .parse()
                    .unwrap()
            })
            .collect();
        let first = PeerId::random();
        advertised.add_server(first, addrs.clone());
        for _ in 0..30 {
            advertised.add_server(PeerId::random(), addrs.clone());
        }
        let servers = advertised.bootstrap().servers;
        assert_eq!(servers.len(), MAX_LISTED_SERVERS);
        assert!(servers
            .iter()
            .all(|s| s.addrs.len() <= MAX_ADDRS_PER_SERVER));
        // A listed server's update keeps its place.
        advertised.add_server(first, addrs);
        assert!(advertised
            .bootstrap()
            .servers
            .iter()
            .any(|s| s.peer_id == first));
        advertised.remove_server(first);
        assert_eq!(advertised.servers_listed(), MAX_LISTED_SERVERS - 1);
    }
}
