//! The libp2p `Transport` for browser-to-browser `/webrtc` addresses
//! (`<relay>/p2p-circuit/webrtc/p2p/<peer>`).
//!
//! Dialing opens a `/webrtc-signaling/0.0.1` stream to the peer (over a relayed connection,
//! which the swarm opens from the relayed address registered for it) and negotiates as the
//! offerer. Listening on `<relay>/p2p-circuit/webrtc` accepts signaling streams and negotiates
//! as the answerer. Either way the result is a direct `RTCPeerConnection`.

use super::negotiate::{negotiate, NegotiationError};
use crate::browser::transport::rtc::Connection;
use crate::signaling::session::Role;
use crate::wire::protocols;
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use libp2p::{
    core::transport::{DialOpts, ListenerId, TransportError, TransportEvent},
    multiaddr::Protocol,
    Multiaddr, PeerId, StreamProtocol,
};
use libp2p_stream::{Control, IncomingStreams};
use send_wrapper::SendWrapper;
use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use web_sys::RtcConfiguration;

/// Signaling streams being answered at once; more wait in the stream queue.
const MAX_CONCURRENT_ANSWERS: usize = 8;

/// Why a `/webrtc` dial or answer failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebRtcError {
    /// The signaling stream could not be opened (no relayed path, or the peer refused it).
    #[error("cannot open a signaling stream: {0}")]
    SignalingStream(String),
    /// Negotiation failed.
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
}

/// Browser-to-browser WebRTC.
pub(crate) struct WebRtcTransport {
    control: Control,
    config: SendWrapper<RtcConfiguration>,
    timeout: Duration,
    listener: Option<Listener>,
    answering: FuturesUnordered<BoxFuture<'static, (PeerId, Result<Connection, WebRtcError>)>>,
}

struct Listener {
    id: ListenerId,
    addr: Multiaddr,
    incoming: IncomingStreams,
    announced: bool,
}

impl WebRtcTransport {
    /// `control` opens and accepts signaling streams; connections use `config` (ICE servers)
    /// and must connect within `timeout`.
    pub(crate) fn new(control: Control, config: RtcConfiguration, timeout: Duration) -> Self {
        Self {
            control,
            config: SendWrapper::new(config),
            timeout,
            listener: None,
            answering: FuturesUnordered::new(),
        }
    }
}

/// `<relay>/p2p-circuit/webrtc[/p2p/<peer>]` split at `/webrtc`: the relayed part and the peer.
fn split_webrtc(addr: &Multiaddr) -> Option<(Multiaddr, Option<PeerId>)> {
    let mut relayed = Multiaddr::empty();
    let mut protocols = addr.iter();
    let mut after_circuit = false;
    let mut webrtc = false;
    for protocol in protocols.by_ref() {
        match protocol {
            Protocol::WebRTC if after_circuit => {
                webrtc = true;
                break;
            }
            Protocol::P2pCircuit => after_circuit = true,
            _ => {}
        }
        relayed.push(protocol);
    }
    if !webrtc {
        return None;
    }
    match (protocols.next(), protocols.next()) {
        (None, None) => Some((relayed, None)),
        (Some(Protocol::P2p(peer)), None) => Some((relayed, Some(peer))),
        _ => None,
    }
}

impl libp2p::core::Transport for WebRtcTransport {
    type Output = (PeerId, Connection);
    type Error = WebRtcError;
    type ListenerUpgrade = futures::future::Ready<Result<Self::Output, WebRtcError>>;
    type Dial = BoxFuture<'static, Result<Self::Output, WebRtcError>>;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<WebRtcError>> {
        let Some((_, None)) = split_webrtc(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        if self.listener.is_some() {
            return Err(TransportError::Other(WebRtcError::SignalingStream(
                "already listening".into(),
            )));
        }
        let incoming = self
            .control
            .accept(StreamProtocol::new(protocols::SIGNALING))
            .map_err(|e| TransportError::Other(WebRtcError::SignalingStream(e.to_string())))?;
        self.listener = Some(Listener {
            id,
            addr,
            incoming,
            announced: false,
        });
        Ok(())
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        if self.listener.as_ref().is_some_and(|l| l.id == id) {
            self.listener = None;
            return true;
        }
        false
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<WebRtcError>> {
        let Some((_, Some(peer))) = split_webrtc(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        if opts.role.is_listener() {
            return Err(TransportError::MultiaddrNotSupported(addr));
        }
        let mut control = self.control.clone();
        let config = self.config.clone();
        let timeout = self.timeout;
        Ok(SendWrapper::new(async move {
            let stream = control
                .open_stream(peer, StreamProtocol::new(protocols::SIGNALING))
                .await
                .map_err(|e| WebRtcError::SignalingStream(e.to_string()))?;
            let connection = negotiate(Role::Offerer, peer, stream, &config, timeout).await?;
            Ok((peer, Connection::new(connection)))
        })
        .boxed())
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, WebRtcError>> {
        let this = &mut *self;
        let Some(listener) = this.listener.as_mut() else {
            return Poll::Pending;
        };
        if !listener.announced {
            listener.announced = true;
            return Poll::Ready(TransportEvent::NewAddress {
                listener_id: listener.id,
                listen_addr: listener.addr.clone(),
            });
        }
        while this.answering.len() < MAX_CONCURRENT_ANSWERS {
            let Poll::Ready(Some((peer, stream))) = listener.incoming.poll_next_unpin(cx) else {
                break;
            };
            let config = this.config.clone();
            let timeout = this.timeout;
            this.answering.push(
                SendWrapper::new(async move {
                    let result = negotiate(Role::Answerer, peer, stream, &config, timeout).await;
                    (peer, result.map(Connection::new).map_err(WebRtcError::from))
                })
                .boxed(),
            );
        }
        while let Poll::Ready(Some((peer, result))) = this.answering.poll_next_unpin(cx) {
            match result {
                Ok(connection) => {
                    let (relayed, _) = split_webrtc(&listener.addr).expect("checked in listen_on");
                    let send_back_addr = relayed.with(Protocol::WebRTC).with(Protocol::P2p(peer));
                    return Poll::Ready(TransportEvent::Incoming {
                        listener_id: listener.id,
                        upgrade: futures::future::ready(Ok((peer, connection))),
                        local_addr: listener.addr.clone(),
                        send_back_addr,
                    });
                }
                Err(e) => tracing::info!(%peer, "incoming WebRTC connection failed: {e}"),
            }
        }
        Poll::Pending
    }
}
