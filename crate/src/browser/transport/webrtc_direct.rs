//! Our libp2p `Transport` for `/webrtc-direct` dials from a tab: SDP munging per the libp2p
//! WebRTC-direct spec, a Noise handshake on channel 0, then a [`Connection`].

use crate::browser::js::error::js_message;
use crate::browser::transport::rtc::{Connection, ConnectionError, PeerConnection};
use crate::wire::webrtc_sdp;
use futures::{future::BoxFuture, FutureExt};
use libp2p::{
    core::transport::{DialOpts, ListenerId, TransportError, TransportEvent},
    identity::Keypair,
    Multiaddr, PeerId,
};
use libp2p_webrtc_utils::Fingerprint;
use send_wrapper::SendWrapper;
use std::{
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcCertificate, RtcConfiguration, RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit,
};

/// Why a WebRTC-direct dial failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DialError {
    /// A browser API refused (no WebRTC, bad SDP, ...).
    #[error("browser WebRTC error: {0}")]
    Browser(String),
    /// Our local description carried no usable fingerprint.
    #[error(transparent)]
    Fingerprint(#[from] webrtc_sdp::FingerprintError),
    /// The Noise handshake on channel 0 failed (wrong certhash, wrong peer, channel closed).
    #[error("noise handshake failed: {0}")]
    Noise(#[from] libp2p_webrtc_utils::noise::Error),
    /// The established connection failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

impl From<JsValue> for DialError {
    fn from(value: JsValue) -> Self {
        Self::Browser(js_message(&value))
    }
}

/// Dials `/ip4/../udp/../webrtc-direct/certhash/..` addresses; listens on nothing.
pub(crate) struct WebRtcDirectTransport {
    keypair: Keypair,
}

impl WebRtcDirectTransport {
    /// A transport authenticating as `keypair`.
    pub(crate) fn new(keypair: &Keypair) -> Self {
        Self {
            keypair: keypair.clone(),
        }
    }
}

impl libp2p::core::Transport for WebRtcDirectTransport {
    type Output = (PeerId, Connection);
    type Error = DialError;
    type ListenerUpgrade = BoxFuture<'static, Result<Self::Output, DialError>>;
    type Dial = BoxFuture<'static, Result<Self::Output, DialError>>;

    fn listen_on(
        &mut self,
        _: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<DialError>> {
        Err(TransportError::MultiaddrNotSupported(addr))
    }

    fn remove_listener(&mut self, _: ListenerId) -> bool {
        false
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<DialError>> {
        if opts.role.is_listener() {
            return Err(TransportError::MultiaddrNotSupported(addr));
        }
        let (socket, server_fingerprint) = libp2p_webrtc_utils::parse_webrtc_dial_addr(&addr)
            .filter(|(socket, _)| socket.port() != 0 && !socket.ip().is_unspecified())
            .ok_or_else(|| TransportError::MultiaddrNotSupported(addr.clone()))?;
        let keypair = self.keypair.clone();
        Ok(SendWrapper::new(dial(socket, server_fingerprint, keypair)).boxed())
    }

    fn poll(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, DialError>> {
        Poll::Pending
    }
}

async fn dial(
    socket: SocketAddr,
    server_fingerprint: Fingerprint,
    keypair: Keypair,
) -> Result<(PeerId, Connection), DialError> {
    let peer = PeerConnection::new(new_rtc_peer_connection().await?);
    // Channel 0 must exist before the offer so the offer includes the data section.
    let handshake = peer.handshake_channel();
    let ufrag = libp2p_webrtc_utils::sdp::random_ufrag();
    let offer = JsFuture::from(peer.js().create_offer()).await?;
    let offer_sdp = js_sys::Reflect::get(&offer, &"sdp".into())?
        .as_string()
        .ok_or_else(|| DialError::Browser("offer without sdp".into()))?;
    let local = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
    local.set_sdp(&webrtc_sdp::munge_offer(&offer_sdp, &ufrag));
    JsFuture::from(peer.js().set_local_description(&local)).await?;
    let answer = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
    answer.set_sdp(&libp2p_webrtc_utils::sdp::answer(
        socket,
        server_fingerprint,
        &ufrag,
    ));
    JsFuture::from(peer.js().set_remote_description(&answer)).await?;
    let local_sdp = peer
        .js()
        .local_description()
        .ok_or_else(|| DialError::Browser("no local description".into()))?
        .sdp();
    let local_fingerprint = webrtc_sdp::fingerprint(&local_sdp)?;
    // The handshake runs over a framed libp2p stream; a cancelled handshake needs no reset.
    let (handshake, _drop_listener) = libp2p_webrtc_utils::Stream::new(handshake);
    let remote = libp2p_webrtc_utils::noise::outbound(
        keypair,
        handshake,
        server_fingerprint,
        local_fingerprint,
    )
    .await?;
    Ok((remote, Connection::after_remote_opens(peer)))
}

/// A peer connection with a fresh ECDSA P-256 certificate, as libp2p WebRTC expects.
async fn new_rtc_peer_connection() -> Result<RtcPeerConnection, DialError> {
    let algorithm = js_sys::Object::new();
    js_sys::Reflect::set(&algorithm, &"name".into(), &"ECDSA".into())?;
    js_sys::Reflect::set(&algorithm, &"namedCurve".into(), &"P-256".into())?;
    js_sys::Reflect::set(&algorithm, &"hash".into(), &"sha-256".into())?;
    let certificate: RtcCertificate = JsFuture::from(
        RtcPeerConnection::generate_certificate_with_object(&algorithm)?,
    )
    .await?
    .dyn_into()?;
    let config = RtcConfiguration::new();
    config.set_certificates(&js_sys::Array::of1(&certificate));
    Ok(RtcPeerConnection::new_with_configuration(&config)?)
}
