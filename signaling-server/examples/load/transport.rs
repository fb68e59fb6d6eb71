//! The transport the fleet attaches over (`PEERFETCH_LOAD_TRANSPORT`): WebRTC-direct, what a tab
//! uses by default; WebSocket; or WebSocket over TLS, with a self-signed certificate for
//! 127.0.0.1 that the servers present and the clients trust.

use libp2p::{
    core::{muxing::StreamMuxerBox, transport::Boxed, upgrade::Version},
    identity::Keypair,
    noise, tcp, websocket, yamux, Multiaddr, PeerId, Transport as _,
};
use peerfetch::net::{bootstrap::is_secure_websocket, transport_kind::TransportKind};
use std::path::{Path, PathBuf};

/// How the clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadTransport {
    /// `/udp/…/webrtc-direct`: DTLS, SCTP and a data channel per stream.
    WebRtcDirect,
    /// `/tcp/…/ws`.
    WebSocket,
    /// `/tcp/…/tls/ws`.
    SecureWebSocket,
}

impl LoadTransport {
    /// From `PEERFETCH_LOAD_TRANSPORT` (`webrtc-direct`, the default; `ws`; `wss`).
    pub fn from_env() -> Self {
        match std::env::var("PEERFETCH_LOAD_TRANSPORT").as_deref() {
            Err(_) | Ok("webrtc-direct") => Self::WebRtcDirect,
            Ok("ws") => Self::WebSocket,
            Ok("wss") => Self::SecureWebSocket,
            Ok(other) => panic!("PEERFETCH_LOAD_TRANSPORT={other}: use webrtc-direct, ws or wss"),
        }
    }

    /// Its name in figures and file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::WebRtcDirect => "webrtc-direct",
            Self::WebSocket => "ws",
            Self::SecureWebSocket => "wss",
        }
    }

    /// From [`Self::name`].
    pub fn from_name(name: &str) -> Self {
        [Self::WebRtcDirect, Self::WebSocket, Self::SecureWebSocket]
            .into_iter()
            .find(|t| t.name() == name)
            .unwrap_or_else(|| panic!("no transport named {name}"))
    }

    /// A loopback listen address of this transport on `port` (0: any).
    pub fn listen_addr(self, port: u16) -> Multiaddr {
        let addr = match self {
            Self::WebRtcDirect => format!("/ip4/127.0.0.1/udp/{port}/webrtc-direct"),
            Self::WebSocket => format!("/ip4/127.0.0.1/tcp/{port}/ws"),
            Self::SecureWebSocket => format!("/ip4/127.0.0.1/tcp/{port}/tls/ws"),
        };
        addr.parse().expect("a valid address")
    }

    /// Whether `addr` is of this transport.
    pub fn matches(self, addr: &Multiaddr) -> bool {
        match self {
            Self::WebRtcDirect => TransportKind::of(addr) == TransportKind::WebRtcDirect,
            Self::WebSocket => {
                TransportKind::of(addr) == TransportKind::WebSocket && !is_secure_websocket(addr)
            }
            Self::SecureWebSocket => is_secure_websocket(addr),
        }
    }
}

/// The certificate WSS servers present: self-signed for 127.0.0.1, as PEM files in a folder.
pub struct TestCertificate {
    /// The certificate, PEM.
    pub cert_file: PathBuf,
    /// Its private key, PEM.
    pub key_file: PathBuf,
    /// The certificate, DER (what clients trust).
    pub der: Vec<u8>,
}

impl TestCertificate {
    /// Makes one in `dir`.
    pub fn new(dir: &Path) -> Self {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .expect("a certificate");
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_file, made.cert.pem()).expect("certificate written");
        std::fs::write(&key_file, made.key_pair.serialize_pem()).expect("key written");
        Self {
            cert_file,
            key_file,
            der: made.cert.der().to_vec(),
        }
    }
}

/// A client transport that dials WebRTC-direct, WebSocket and WebSocket over TLS (trusting
/// `trusted`), authenticated and multiplexed like a tab's.
pub fn client_transport(
    key: &Keypair,
    trusted: &[u8],
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, Box<dyn std::error::Error + Send + Sync>> {
    let webrtc = libp2p_webrtc::tokio::Transport::new(
        key.clone(),
        libp2p_webrtc::tokio::Certificate::generate(&mut rand::rng())?,
    )
    .map(|(peer, conn), _| (peer, StreamMuxerBox::new(conn)));
    let mut tls = websocket::tls::Config::builder();
    tls.add_trust(&websocket::tls::Certificate::new(trusted.to_vec()))?;
    let mut ws = websocket::Config::new(tcp::tokio::Transport::new(tcp::Config::default()));
    ws.set_tls_config(tls.finish());
    let ws = ws
        .upgrade(Version::V1Lazy)
        .authenticate(noise::Config::new(key)?)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
    Ok(webrtc
        .or_transport(ws)
        .map(|either, _| either.into_inner())
        .boxed())
}
