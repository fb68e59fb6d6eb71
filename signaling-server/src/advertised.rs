//! The addresses the server tells browsers about, kept current as listeners come and go.

use libp2p::{multiaddr::Protocol, Multiaddr, PeerId};
use libp2p_webrtc::tokio::Fingerprint;
use peerfetch::{net::bootstrap::Bootstrap, net::transport_kind::TransportKind};
use std::sync::RwLock;

/// Listen addresses reported by libp2p and the operator's external addresses, and the other
/// servers of the network with the addresses they report.
pub struct Advertised {
    peer_id: PeerId,
    external: Vec<Multiaddr>,
    listening: RwLock<Vec<Multiaddr>>,
    servers: RwLock<Vec<Bootstrap>>,
}

impl Advertised {
    /// `external` replaces the listen addresses in what is advertised when it is not empty;
    /// its WebRTC-direct addresses get `certhash` appended when they lack one.
    pub fn new(peer_id: PeerId, certhash: Fingerprint, external: Vec<Multiaddr>) -> Self {
        let external = external
            .into_iter()
            .map(|addr| with_certhash(addr, certhash))
            .collect();
        Self {
            peer_id,
            external,
            listening: RwLock::default(),
            servers: RwLock::default(),
        }
    }

    /// Records (or updates) another server and the addresses a browser can dial it on.
    pub fn add_server(&self, peer_id: PeerId, addrs: Vec<Multiaddr>) {
        let mut server = Bootstrap::new(peer_id, addrs);
        server.addrs = server
            .browser_dial_plan()
            .into_iter()
            .map(|(_, addr)| addr)
            .collect();
        if server.addrs.is_empty() {
            return;
        }
        let mut servers = self.servers.write().expect("lock is never poisoned");
        servers.retain(|known| known.peer_id != peer_id);
        servers.push(server);
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
