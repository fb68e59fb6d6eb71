//! Streams of one protocol, only on the connections a filter accepts, many negotiated at once.
//!
//! Why not `libp2p-stream`: its handler negotiates one outbound stream at a time per connection
//! (each waits for the one before: over WebRTC a data channel and a multistream-select round
//! trip each), and it opens streams on any connection to the peer, relayed ones included. A tab
//! opens a swarm stream per resource to each provider, a dozen at once when a page loads, and
//! they carry bulk data, which must not cross a relay. This behaviour gives its handler only to
//! the connections `accepts` (the tab: direct browser-to-browser links), negotiates up to
//! [`MAX_OPENING`] streams at once per connection, and never dials: opening a stream to a peer
//! without an accepted connection fails at once.
//!
//! Every queue is bounded: [`MAX_WAITING`] open requests per connection beyond those being
//! negotiated, [`REQUEST_QUEUE`] requests not yet taken by the behaviour, [`INCOMING_QUEUE`]
//! accepted streams the owner has not taken (more are reset).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::core::{ConnectedPoint, Endpoint, Multiaddr};
use libp2p::swarm::handler::{ConnectionEvent, DialUpgradeError, FullyNegotiatedInbound};
use libp2p::swarm::handler::{FullyNegotiatedOutbound, StreamUpgradeError};
use libp2p::swarm::{dummy, ConnectionClosed, ConnectionHandler, ConnectionHandlerEvent};
use libp2p::swarm::{ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler};
use libp2p::swarm::{Stream, StreamProtocol, SubstreamProtocol, THandlerInEvent};
use libp2p::swarm::{THandlerOutEvent, ToSwarm};
use libp2p::PeerId;

use super::endpoint;

/// Outbound streams negotiated at once on one connection.
pub const MAX_OPENING: usize = 64;
/// Open requests one connection queues behind those being negotiated; more fail at once.
pub const MAX_WAITING: usize = 256;
/// Open requests sent by [`Control`]s and not yet taken by the behaviour.
pub const REQUEST_QUEUE: usize = 64;
/// Accepted inbound streams the owner has not taken yet (plus one per connection); more are
/// reset.
pub const INCOMING_QUEUE: usize = 64;

/// Which connections get streams, from how the connection was made.
pub type Accepts = fn(&ConnectedPoint) -> bool;

/// Where the stream (or why none) goes.
type Reply = oneshot::Sender<Result<Stream, OpenStreamError>>;

/// Why a stream could not be opened.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OpenStreamError {
    /// No connection the filter accepts leads to the peer.
    #[error("no direct connection to {0}")]
    NotConnected(PeerId),
    /// The connection has [`MAX_WAITING`] requests waiting already.
    #[error("too many streams waiting to open")]
    TooMany,
    /// The connection (or the swarm) closed before the stream opened.
    #[error("the connection closed")]
    Closed,
    /// The peer does not speak the protocol.
    #[error("the peer does not speak the protocol")]
    Unsupported,
    /// Negotiating the stream timed out.
    #[error("opening the stream timed out")]
    Timeout,
    /// The connection failed while the stream was negotiated.
    #[error("{0}")]
    Io(String),
}

/// Opens streams; cheap to clone.
#[derive(Clone)]
pub struct Control {
    requests: mpsc::Sender<(PeerId, Reply)>,
}

impl Control {
    /// Opens a stream to `peer` on its accepted connection (the newest, if several).
    pub async fn open_stream(&mut self, peer: PeerId) -> Result<Stream, OpenStreamError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((peer, reply))
            .await
            .map_err(|_| OpenStreamError::Closed)?;
        answer.await.map_err(|_| OpenStreamError::Closed)?
    }
}

/// Streams the peers opened, with who opened them.
pub type IncomingStreams = mpsc::Receiver<(PeerId, Stream)>;

/// The behaviour: see the module documentation.
pub struct Behaviour {
    protocol: StreamProtocol,
    accepts: Accepts,
    /// The accepted connections to each peer, oldest first.
    connections: HashMap<PeerId, Vec<ConnectionId>>,
    requests: mpsc::Receiver<(PeerId, Reply)>,
    incoming: mpsc::Sender<(PeerId, Stream)>,
}

impl Behaviour {
    /// A behaviour for `protocol` on the connections `accepts`, with the control that opens
    /// streams and the receiver of the streams peers open.
    pub fn new(protocol: StreamProtocol, accepts: Accepts) -> (Self, Control, IncomingStreams) {
        let (requests_tx, requests) = mpsc::channel(REQUEST_QUEUE);
        let (incoming, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
        let behaviour = Self {
            protocol,
            accepts,
            connections: HashMap::new(),
            requests,
            incoming,
        };
        let control = Control {
            requests: requests_tx,
        };
        (behaviour, control, incoming_rx)
    }

    fn handler(&self, peer: PeerId, endpoint: &ConnectedPoint) -> THandlerFor {
        if (self.accepts)(endpoint) {
            THandlerFor::Left(Handler {
                protocol: self.protocol.clone(),
                peer,
                incoming: self.incoming.clone(),
                waiting: VecDeque::new(),
                opening: 0,
            })
        } else {
            THandlerFor::Right(dummy::ConnectionHandler)
        }
    }
}

type THandlerFor = either::Either<Handler, dummy::ConnectionHandler>;

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = THandlerFor;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<Self::ConnectionHandler, ConnectionDenied> {
        Ok(self.handler(peer, &endpoint::inbound(local_addr, remote_addr)))
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<Self::ConnectionHandler, ConnectionDenied> {
        Ok(self.handler(peer, &endpoint::outbound(addr, role_override, port_use)))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(established)
                if (self.accepts)(established.endpoint) =>
            {
                let peer = established.peer_id;
                let connections = self.connections.entry(peer).or_default();
                connections.push(established.connection_id);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                ..
            }) => {
                if let Some(connections) = self.connections.get_mut(&peer_id) {
                    connections.retain(|c| *c != connection_id);
                    if connections.is_empty() {
                        self.connections.remove(&peer_id);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            either::Either::Left(never) | either::Either::Right(never) => match never {},
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        while let Poll::Ready(Some((peer, reply))) = self.requests.poll_next_unpin(cx) {
            let connection = self.connections.get(&peer).and_then(|c| c.last());
            match connection {
                Some(&connection) => {
                    return Poll::Ready(ToSwarm::NotifyHandler {
                        peer_id: peer,
                        handler: NotifyHandler::One(connection),
                        event: either::Either::Left(reply),
                    });
                }
                None => {
                    let _ = reply.send(Err(OpenStreamError::NotConnected(peer)));
                }
            }
        }
        Poll::Pending
    }
}

/// The handler on one accepted connection.
pub struct Handler {
    protocol: StreamProtocol,
    peer: PeerId,
    incoming: mpsc::Sender<(PeerId, Stream)>,
    /// Requests not yet negotiating, oldest first.
    waiting: VecDeque<Reply>,
    /// Outbound streams being negotiated.
    opening: usize,
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Reply;
    type ToBehaviour = Infallible;
    type InboundProtocol = ReadyUpgrade<StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Reply;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol> {
        SubstreamProtocol::new(ReadyUpgrade::new(self.protocol.clone()), ())
    }

    fn connection_keep_alive(&self) -> bool {
        self.opening > 0 || !self.waiting.is_empty()
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, Reply, Infallible>> {
        if self.opening < MAX_OPENING {
            if let Some(reply) = self.waiting.pop_front() {
                self.opening += 1;
                let upgrade = ReadyUpgrade::new(self.protocol.clone());
                return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                    protocol: SubstreamProtocol::new(upgrade, reply),
                });
            }
        }
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, reply: Reply) {
        if self.waiting.len() >= MAX_WAITING {
            let _ = reply.send(Err(OpenStreamError::TooMany));
        } else {
            self.waiting.push_back(reply);
        }
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol, (), Reply>,
    ) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: stream,
                ..
            }) => {
                let queued = self.incoming.try_send((self.peer, stream));
                if queued.is_err() {
                    tracing::debug!(peer = %self.peer, "incoming stream not taken: reset");
                }
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: stream,
                info: reply,
            }) => {
                self.opening -= 1;
                let _ = reply.send(Ok(stream));
            }
            ConnectionEvent::DialUpgradeError(DialUpgradeError { info: reply, error }) => {
                self.opening -= 1;
                let error = match error {
                    StreamUpgradeError::Timeout => OpenStreamError::Timeout,
                    StreamUpgradeError::NegotiationFailed => OpenStreamError::Unsupported,
                    StreamUpgradeError::Io(e) => OpenStreamError::Io(e.to_string()),
                    StreamUpgradeError::Apply(never) => match never {},
                };
                let _ = reply.send(Err(error));
            }
            _ => {}
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "direct_streams_tests.rs"]
mod tests;
