//! [`DestinationGate`]: the relay, with circuits bounded per destination ([`CircuitCaps`]).
//!
//! `libp2p-relay` decides on a circuit inside its behaviour and offers no hook for the
//! destination; but for each circuit it accepts, the relay opens a `STOP` stream to the
//! destination over the destination's connection (the circuit relay v2 protocol). The gate wraps
//! each connection's relay handler: when the handler asks for a `STOP` stream and the
//! destination (its peer, or its address) already holds its most circuits, the request is
//! answered at once as a failed stream, so the relay refuses the circuit to its source with
//! `CONNECTION_FAILED` and reports [`relay::Event::CircuitReqOutboundConnectFailed`] with a
//! [`CircuitCapReached`] error. The relay's events say when a counted circuit ended.

use crate::circuit_caps::{CircuitCapReached, CircuitCaps, DestinationLimits};
use crate::ip_key::AddressKey;
use libp2p::{
    core::{transport::PortUse, Endpoint},
    relay,
    swarm::{
        handler::{ConnectionEvent, DialUpgradeError, UpgradeInfoSend},
        ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
        NetworkBehaviour, StreamUpgradeError, SubstreamProtocol, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm,
    },
    Multiaddr, PeerId,
};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

/// The circuits counted, shared by the gate and its handlers.
pub type SharedCircuitCaps = Arc<Mutex<CircuitCaps>>;

/// The relay behaviour with circuits bounded per destination; derefs to it.
pub struct DestinationGate {
    inner: relay::Behaviour,
    caps: SharedCircuitCaps,
}

impl DestinationGate {
    /// `inner`, its circuits bounded by `limits`.
    pub fn new(inner: relay::Behaviour, limits: DestinationLimits) -> Self {
        Self {
            inner,
            caps: Arc::new(Mutex::new(CircuitCaps::new(limits))),
        }
    }

    /// The circuits counted (for the gauges).
    pub fn caps(&self) -> SharedCircuitCaps {
        self.caps.clone()
    }

    fn gate<H>(&self, handler: H, peer: PeerId, remote: &Multiaddr) -> Gated<H> {
        Gated {
            inner: handler,
            peer,
            address: AddressKey::of_multiaddr(remote),
            caps: self.caps.clone(),
        }
    }

    /// Forgets a counted circuit the relay reports ended.
    fn on_relay_event(&self, event: &relay::Event) {
        #[allow(deprecated)] // the relay still reports these
        let ended = match event {
            relay::Event::CircuitClosed { dst_peer_id, .. }
            | relay::Event::CircuitReqAcceptFailed { dst_peer_id, .. } => Some(dst_peer_id),
            relay::Event::CircuitReqOutboundConnectFailed {
                dst_peer_id, error, ..
            } if cap_reached(error).is_none() => Some(dst_peer_id),
            _ => None,
        };
        if let Some(peer) = ended {
            lock(&self.caps).closed(peer);
        }
    }
}

/// The bound that refused a circuit, when the relay's failure to reach the destination was
/// the gate's refusal.
pub fn cap_reached(error: &relay::outbound::stop::Error) -> Option<CircuitCapReached> {
    match error {
        relay::outbound::stop::Error::Io(e) => e.get_ref()?.downcast_ref().copied(),
        _ => None,
    }
}

fn lock(caps: &SharedCircuitCaps) -> std::sync::MutexGuard<'_, CircuitCaps> {
    // Nothing panics while the lock is held; a poisoned one is still consistent.
    caps.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Deref for DestinationGate {
    type Target = relay::Behaviour;
    fn deref(&self) -> &relay::Behaviour {
        &self.inner
    }
}

impl DerefMut for DestinationGate {
    fn deref_mut(&mut self) -> &mut relay::Behaviour {
        &mut self.inner
    }
}

impl NetworkBehaviour for DestinationGate {
    type ConnectionHandler = Gated<THandler<relay::Behaviour>>;
    type ToSwarm = relay::Event;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let handler = self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )?;
        Ok(self.gate(handler, peer, remote_addr))
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
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
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let handler = self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )?;
        Ok(self.gate(handler, peer, addr))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.inner
            .on_connection_handler_event(peer, connection_id, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        let polled = self.inner.poll(cx);
        if let Poll::Ready(ToSwarm::GenerateEvent(event)) = &polled {
            self.on_relay_event(event);
        }
        polled
    }
}

/// A connection's relay handler whose `STOP` streams (circuits to this connection's peer) are
/// counted and, past a bound, refused.
pub struct Gated<H> {
    inner: H,
    peer: PeerId,
    address: Option<AddressKey>,
    caps: SharedCircuitCaps,
}

impl<H: ConnectionHandler> ConnectionHandler for Gated<H> {
    type FromBehaviour = H::FromBehaviour;
    type ToBehaviour = H::ToBehaviour;
    type InboundProtocol = H::InboundProtocol;
    type OutboundProtocol = H::OutboundProtocol;
    type InboundOpenInfo = H::InboundOpenInfo;
    type OutboundOpenInfo = H::OutboundOpenInfo;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, Self::InboundOpenInfo> {
        self.inner.listen_protocol()
    }

    fn connection_keep_alive(&self) -> bool {
        self.inner.connection_keep_alive()
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<
        ConnectionHandlerEvent<Self::OutboundProtocol, Self::OutboundOpenInfo, Self::ToBehaviour>,
    > {
        loop {
            let event = match self.inner.poll(cx) {
                Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest { protocol }) => {
                    protocol
                }
                other => return other,
            };
            let is_stop = event
                .upgrade()
                .protocol_info()
                .into_iter()
                .any(|p| p.as_ref() == relay::STOP_PROTOCOL_NAME.as_ref());
            let admitted = if is_stop {
                lock(&self.caps).try_open(self.peer, self.address, Instant::now())
            } else {
                Ok(())
            };
            match admitted {
                Ok(()) => {
                    return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                        protocol: event,
                    })
                }
                Err(reached) => {
                    tracing::debug!(peer = %self.peer, "circuit refused: {reached}");
                    let (_, info) = event.into_upgrade();
                    self.inner
                        .on_connection_event(ConnectionEvent::DialUpgradeError(DialUpgradeError {
                            info,
                            error: StreamUpgradeError::Io(std::io::Error::other(reached)),
                        }));
                }
            }
        }
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::ToBehaviour>> {
        self.inner.poll_close(cx)
    }

    fn on_behaviour_event(&mut self, event: Self::FromBehaviour) {
        self.inner.on_behaviour_event(event);
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
        self.inner.on_connection_event(event);
    }
}
