//! The bootstrap document a `peerfetch-server` serves at `GET /bootstrap`, and the order in which
//! a tab tries the addresses it lists.

use crate::net::ice_server::IceServer;
use crate::net::transport_kind::TransportKind;
use libp2p::{multiaddr::Protocol, Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

/// What a tab needs to reach a server: its peer id and the addresses it can be dialled on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// The server's libp2p peer id.
    pub peer_id: PeerId,
    /// Dialable addresses, each ending in `/p2p/<peer_id>`. WebRTC-direct addresses carry the
    /// server certificate's `/certhash/`.
    pub addrs: Vec<Multiaddr>,
    /// The other servers of the same network, which a tab moves to when this one goes away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Bootstrap>,
    /// The STUN server tabs use for links to each other unless their `iceServers` option says
    /// otherwise (TURN credentials come over the libp2p connection, not here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<IceServer>,
}

impl Bootstrap {
    /// Builds the document from the server's addresses, appending `/p2p/<peer_id>` where missing
    /// and dropping duplicates while keeping the first-seen order.
    pub fn new(peer_id: PeerId, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
        let mut unique: Vec<Multiaddr> = Vec::new();
        for addr in addrs {
            let addr = with_peer_id(addr, peer_id);
            if !unique.contains(&addr) {
                unique.push(addr);
            }
        }
        Self {
            peer_id,
            addrs: unique,
            servers: Vec::new(),
            ice_servers: Vec::new(),
        }
    }

    /// Every server listed, this one first: the order in which a tab tries them.
    pub fn all_servers(&self) -> Vec<Bootstrap> {
        let mut all = vec![Bootstrap::new(self.peer_id, self.addrs.clone())];
        all.extend(
            self.servers
                .iter()
                .filter(|other| other.peer_id != self.peer_id)
                .cloned(),
        );
        all
    }

    /// The addresses a browser on a `page` can use, in the order it should try them:
    /// WebSocket over TLS first where the server has it (the server holds a tab over WSS for a
    /// fraction of the memory a WebRTC-direct connection takes: its DTLS, SCTP and ICE state;
    /// see docs/benchmarks.md), then WebRTC-direct (UDP, no certificate needed), then plain
    /// WebSocket, which a page on https may use only to loopback (browsers block any other
    /// `ws://` there as mixed content). Addresses of other transports and addresses for
    /// another peer are left out.
    pub fn browser_dial_plan(&self, page: PageScheme) -> Vec<(TransportKind, Multiaddr)> {
        let mut plan: Vec<(TransportKind, Multiaddr)> = self
            .addrs
            .iter()
            .filter(|addr| peer_of(addr) == Some(self.peer_id))
            .map(|addr| (TransportKind::of(addr), addr.clone()))
            .filter(|(kind, addr)| match kind {
                TransportKind::WebRtcDirect => true,
                TransportKind::WebSocket => {
                    page == PageScheme::Http || is_secure_websocket(addr) || is_loopback(addr)
                }
                _ => false,
            })
            .collect();
        plan.sort_by_key(|(kind, addr)| match kind {
            _ if is_secure_websocket(addr) => 0,
            TransportKind::WebRtcDirect => 1,
            _ => 2,
        });
        plan
    }
}

/// How the page a tab runs in was loaded, which limits the addresses it may dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageScheme {
    /// `http:` (or anything but https): any WebSocket may be opened.
    Http,
    /// `https:`: plain WebSocket only to loopback.
    Https,
}

/// Whether `addr` is WebSocket over TLS (`/tls/ws`, `/wss`).
pub fn is_secure_websocket(addr: &Multiaddr) -> bool {
    addr.iter()
        .any(|p| matches!(p, Protocol::Tls | Protocol::Wss(_)))
        && TransportKind::of(addr) == TransportKind::WebSocket
}

/// Whether `addr` names a loopback host (`127.0.0.0/8`, `::1`, `localhost`).
fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        Protocol::Dns(host) | Protocol::Dns4(host) | Protocol::Dns6(host) => host == "localhost",
        _ => false,
    })
}

/// The peer id an address ends with, if any.
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

fn with_peer_id(addr: Multiaddr, peer_id: PeerId) -> Multiaddr {
    if peer_of(&addr).is_some() {
        addr
    } else {
        addr.with(Protocol::P2p(peer_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERTHASH: &str = "uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g";

    fn server() -> PeerId {
        "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
            .parse()
            .expect("valid peer id")
    }

    fn addr(s: &str) -> Multiaddr {
        s.parse().expect("test address parses")
    }

    #[test]
    fn appends_peer_id_and_drops_duplicates() {
        let ws = addr("/ip4/127.0.0.1/tcp/9091/ws");
        let doc = Bootstrap::new(
            server(),
            [ws.clone(), ws.clone().with(Protocol::P2p(server()))],
        );
        assert_eq!(doc.addrs, vec![ws.with(Protocol::P2p(server()))]);
    }

    #[test]
    fn without_wss_webrtc_direct_comes_first_and_unusable_addresses_are_skipped() {
        let rtc = addr(&format!(
            "/ip4/127.0.0.1/udp/9090/webrtc-direct/certhash/{CERTHASH}"
        ));
        let ws = addr("/ip4/127.0.0.1/tcp/9091/ws");
        let tcp = addr("/ip4/127.0.0.1/tcp/9092");
        let other_peer: PeerId = "12D3KooWGaYrmx4NkmbAT2PbhCbQTAQBHd2E3GU4mnbjq2w7mZJK"
            .parse()
            .expect("valid");
        let foreign = addr("/ip4/127.0.0.1/tcp/9093/ws").with(Protocol::P2p(other_peer));
        let doc = Bootstrap::new(server(), [ws.clone(), tcp, foreign, rtc.clone()]);
        let plan = doc.browser_dial_plan(PageScheme::Http);
        let kinds: Vec<_> = plan.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(
            kinds,
            vec![TransportKind::WebRtcDirect, TransportKind::WebSocket]
        );
        assert_eq!(plan[0].1, rtc.with(Protocol::P2p(server())));
        assert_eq!(plan[1].1, ws.with(Protocol::P2p(server())));
    }

    #[test]
    fn wss_comes_before_webrtc_direct_where_the_server_has_it() {
        let rtc = addr(&format!(
            "/ip4/203.0.113.5/udp/9090/webrtc-direct/certhash/{CERTHASH}"
        ));
        let wss = addr("/dns4/peerfetch.example/tcp/443/tls/ws");
        let ws = addr("/dns4/peerfetch.example/tcp/80/ws");
        let doc = Bootstrap::new(server(), [ws, rtc, wss]);
        for page in [PageScheme::Http, PageScheme::Https] {
            let kinds: Vec<_> = doc
                .browser_dial_plan(page)
                .iter()
                .map(|(kind, addr)| (*kind, is_secure_websocket(addr)))
                .take(2)
                .collect();
            assert_eq!(
                kinds,
                [
                    (TransportKind::WebSocket, true),
                    (TransportKind::WebRtcDirect, false)
                ]
            );
        }
    }

    #[test]
    fn a_page_on_https_tries_wss_before_ws_and_plain_ws_only_to_loopback() {
        let ws = addr("/dns4/peerfetch.example/tcp/80/ws");
        let wss = addr("/dns4/peerfetch.example/tcp/443/tls/ws");
        let also_wss = addr("/ip4/203.0.113.5/tcp/443/wss");
        let local_ws = addr("/ip4/127.0.0.1/tcp/9091/ws");
        let doc = Bootstrap::new(
            server(),
            [ws.clone(), local_ws.clone(), wss.clone(), also_wss.clone()],
        );
        let plan = |page| -> Vec<Multiaddr> {
            doc.browser_dial_plan(page)
                .into_iter()
                .map(|(_, a)| a)
                .collect()
        };
        let with_id = |a: &Multiaddr| a.clone().with(Protocol::P2p(server()));
        assert_eq!(
            plan(PageScheme::Https),
            vec![with_id(&wss), with_id(&also_wss), with_id(&local_ws)]
        );
        assert_eq!(
            plan(PageScheme::Http),
            vec![
                with_id(&wss),
                with_id(&also_wss),
                with_id(&ws),
                with_id(&local_ws)
            ]
        );
    }

    #[test]
    fn json_round_trip_uses_plain_strings() {
        let doc = Bootstrap::new(server(), [addr("/ip4/127.0.0.1/tcp/9091/ws")]);
        let json = serde_json::to_value(&doc).expect("serializes");
        assert_eq!(json["peer_id"], server().to_string());
        assert_eq!(
            json["addrs"][0],
            format!("/ip4/127.0.0.1/tcp/9091/ws/p2p/{}", server())
        );
        let back: Bootstrap = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, doc);
    }

    #[test]
    fn malformed_document_is_an_error_not_a_panic() {
        assert!(serde_json::from_str::<Bootstrap>(r#"{"peer_id":"nope","addrs":[]}"#).is_err());
        assert!(serde_json::from_str::<Bootstrap>(r#"{"peer_id":1}"#).is_err());
    }
}
