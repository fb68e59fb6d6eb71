//! libp2p ping that answers promptly on WebRTC.
//!
//! The cause of the 10 s ping stalls over WebRTC-direct: after `libp2p-ping`'s handler answers
//! an inbound ping it stores a fresh "read the next ping" future *without polling it*, then
//! returns `Pending` when its outbound side is idle. Nothing has registered for the stream's next
//! bytes, so the handler sleeps until something else wakes the connection. Over yamux every
//! stream's bytes arrive through the connection's socket, which wakes the connection task, so
//! the bug hides; over WebRTC each stream is its own data channel with its own waker, and the
//! next ping waits for an unrelated wake-up — the 10 s stream-negotiation timeout in practice.
//!
//! [`Behaviour`] wraps `ping::Behaviour` and polls its handler once more whenever it returns
//! `Pending`, which polls (and so registers) any future the first pass created.

use libp2p::{
    core::{transport::PortUse, Endpoint},
    ping,
    swarm::{
        handler::ConnectionEvent, ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent,
        ConnectionId, FromSwarm, NetworkBehaviour, SubstreamProtocol, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm,
    },
    Multiaddr, PeerId,
};
use std::task::{Context, Poll};

type Inner = ping::Behaviour;
type InnerHandler = THandler<Inner>;

/// `ping::Behaviour` whose connection handlers never leave a fresh future unpolled.
pub struct Behaviour(Inner);

impl Behaviour {
    /// Pings every connected peer with `config`.
    pub fn new(config: ping::Config) -> Self {
        Self(ping::Behaviour::new(config))
    }
}

/// The wrapped handler.
pub struct Handler(InnerHandler);

impl ConnectionHandler for Handler {
    type FromBehaviour = <InnerHandler as ConnectionHandler>::FromBehaviour;
    type ToBehaviour = <InnerHandler as ConnectionHandler>::ToBehaviour;
    type InboundProtocol = <InnerHandler as ConnectionHandler>::InboundProtocol;
    type OutboundProtocol = <InnerHandler as ConnectionHandler>::OutboundProtocol;
    type InboundOpenInfo = <InnerHandler as ConnectionHandler>::InboundOpenInfo;
    type OutboundOpenInfo = <InnerHandler as ConnectionHandler>::OutboundOpenInfo;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, Self::InboundOpenInfo> {
        self.0.listen_protocol()
    }

    fn connection_keep_alive(&self) -> bool {
        self.0.connection_keep_alive()
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<
        ConnectionHandlerEvent<Self::OutboundProtocol, Self::OutboundOpenInfo, Self::ToBehaviour>,
    > {
        match self.0.poll(cx) {
            Poll::Pending => self.0.poll(cx),
            ready => ready,
        }
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::ToBehaviour>> {
        self.0.poll_close(cx)
    }

    fn on_behaviour_event(&mut self, event: Self::FromBehaviour) {
        self.0.on_behaviour_event(event)
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<
            Self::InboundProtocol,
            Self::OutboundProtocol,
            Self::InboundOpenInfo,
            Self::OutboundOpenInfo,
        >,
    ) {
        self.0.on_connection_event(event)
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = ping::Event;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.0
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<Handler, ConnectionDenied> {
        self.0
            .handle_established_inbound_connection(connection_id, peer, local_addr, remote_addr)
            .map(Handler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.0.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<Handler, ConnectionDenied> {
        self.0
            .handle_established_outbound_connection(
                connection_id,
                peer,
                addr,
                role_override,
                port_use,
            )
            .map(Handler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.0.on_swarm_event(event)
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.0
            .on_connection_handler_event(peer_id, connection_id, event)
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<ping::Event, THandlerInEvent<Self>>> {
        self.0.poll(cx)
    }
}
