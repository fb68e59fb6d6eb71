//! Naming the transport a libp2p connection runs over, from its multiaddr.

use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::{Multiaddr, Protocol};
use std::fmt;

/// The transport a connection uses, as reported by `connections()` in the JS API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// Browser to server over WebRTC with the server's certificate hash in the address.
    WebRtcDirect,
    /// WebSocket (plain or TLS).
    WebSocket,
    /// Browser to browser over WebRTC, signalled through a relay.
    WebRtc,
    /// A circuit through a relay (`/p2p-circuit`) that has not been upgraded to a direct link.
    Relay,
    /// Anything else (TCP, QUIC, memory): not used by tabs, but servers may see it.
    Other,
}

impl TransportKind {
    /// Classifies an address. Browser-to-browser WebRTC addresses contain `/p2p-circuit/webrtc`
    /// and relayed addresses contain the relay's own transport, so the most specific protocol wins:
    /// WebRTC, then a relay circuit, then the underlying transport.
    pub fn of(addr: &Multiaddr) -> Self {
        let has = |wanted: fn(&Protocol<'_>) -> bool| addr.iter().any(|p| wanted(&p));
        if has(|p| matches!(p, Protocol::WebRTC)) {
            Self::WebRtc
        } else if has(|p| matches!(p, Protocol::P2pCircuit)) {
            Self::Relay
        } else if has(|p| matches!(p, Protocol::WebRTCDirect)) {
            Self::WebRtcDirect
        } else if has(|p| matches!(p, Protocol::Ws(_) | Protocol::Wss(_))) {
            Self::WebSocket
        } else {
            Self::Other
        }
    }

    /// Classifies a connection from both its addresses. The remote address of an inbound
    /// relayed or `/webrtc` connection may be just `/p2p/<peer>`; the local (listen) address
    /// still says how it came in.
    pub fn of_connection(local: Option<&Multiaddr>, remote: &Multiaddr) -> Self {
        match (Self::of(remote), local) {
            (Self::Other, Some(local)) => Self::of(local),
            (kind, _) => kind,
        }
    }

    /// Classifies a connection from its endpoint.
    pub fn of_endpoint(endpoint: &ConnectedPoint) -> Self {
        let local = match endpoint {
            ConnectedPoint::Listener { local_addr, .. } => Some(local_addr),
            ConnectedPoint::Dialer { .. } => None,
        };
        Self::of_connection(local, endpoint.get_remote_address())
    }

    /// The name used in the JS API and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebRtcDirect => "webrtc-direct",
            Self::WebSocket => "websocket",
            Self::WebRtc => "webrtc",
            Self::Relay => "relay",
            Self::Other => "other",
        }
    }
}

/// Serialized as its JS name (`"webrtc-direct"`, …).
impl serde::Serialize for TransportKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(addr: &str) -> TransportKind {
        TransportKind::of(&addr.parse().expect("test address parses"))
    }

    #[test]
    fn names_each_transport() {
        assert_eq!(
            kind("/ip4/127.0.0.1/udp/9090/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g"),
            TransportKind::WebRtcDirect
        );
        assert_eq!(kind("/ip4/127.0.0.1/tcp/9091/ws"), TransportKind::WebSocket);
        assert_eq!(
            kind("/dns4/example.org/tcp/443/wss"),
            TransportKind::WebSocket
        );
        assert_eq!(kind("/ip4/127.0.0.1/tcp/9091"), TransportKind::Other);
    }

    #[test]
    fn relayed_addresses_are_relay_unless_upgraded_to_webrtc() {
        let relay =
            "/ip4/127.0.0.1/tcp/9091/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let peer = "12D3KooWGaYrmx4NkmbAT2PbhCbQTAQBHd2E3GU4mnbjq2w7mZJK";
        assert_eq!(
            kind(&format!("{relay}/p2p-circuit/p2p/{peer}")),
            TransportKind::Relay
        );
        assert_eq!(
            kind(&format!("{relay}/p2p-circuit/webrtc/p2p/{peer}")),
            TransportKind::WebRtc
        );
    }

    #[test]
    fn inbound_connections_fall_back_to_the_listen_address() {
        let relay = "/ip4/10.0.0.1/udp/9/webrtc-direct/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let local: Multiaddr = format!("{relay}/p2p-circuit/webrtc")
            .parse()
            .expect("valid");
        let remote: Multiaddr = "/p2p/12D3KooWGaYrmx4NkmbAT2PbhCbQTAQBHd2E3GU4mnbjq2w7mZJK"
            .parse()
            .expect("valid");
        assert_eq!(
            TransportKind::of_connection(Some(&local), &remote),
            TransportKind::WebRtc
        );
        assert_eq!(
            TransportKind::of_connection(None, &remote),
            TransportKind::Other
        );
        let ws: Multiaddr = "/ip4/127.0.0.1/tcp/1/ws".parse().expect("valid");
        assert_eq!(
            TransportKind::of_connection(Some(&local), &ws),
            TransportKind::WebSocket
        );
    }

    #[test]
    fn display_matches_js_names() {
        assert_eq!(TransportKind::WebRtcDirect.to_string(), "webrtc-direct");
        assert_eq!(TransportKind::Relay.to_string(), "relay");
    }
}
