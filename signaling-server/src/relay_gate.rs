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
use std::collections::VecDeque;
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

    fn gate<H: ConnectionHandler>(&self, handler: H, peer: PeerId, remote: &Multiaddr) -> Gated<H> {
        Gated {
            inner: handler,
            peer,
            address: AddressKey::of_multiaddr(remote),
            caps: self.caps.clone(),
            queue: VecDeque::new(),
            in_flight: 0,
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
///
/// The relay handler pairs each stream it asked for with its oldest request still waiting,
/// whether the stream opened or failed, so the answers must come in the order of the requests:
/// a refusal is held back until the streams asked for before it have resolved, and requests
/// after it wait behind it.
pub struct Gated<H: ConnectionHandler> {
    inner: H,
    peer: PeerId,
    address: Option<AddressKey>,
    caps: SharedCircuitCaps,
    /// Stream requests of the inner handler not yet passed on or refused, in order.
    queue: VecDeque<Decided<H>>,
    /// Streams asked of the connection that have not resolved yet.
    in_flight: usize,
}

/// A stream request of the inner handler, decided.
enum Decided<H: ConnectionHandler> {
    /// Passed on to the connection.
    Admitted(SubstreamProtocol<H::OutboundProtocol, H::OutboundOpenInfo>),
    /// Answered as a failed stream.
    Refused(H::OutboundOpenInfo, CircuitCapReached),
}

impl<H: ConnectionHandler> Gated<H> {
    fn decide(
        &self,
        request: SubstreamProtocol<H::OutboundProtocol, H::OutboundOpenInfo>,
    ) -> Decided<H> {
        let is_stop = request
            .upgrade()
            .protocol_info()
            .into_iter()
            .any(|p| p.as_ref() == relay::STOP_PROTOCOL_NAME.as_ref());
        if !is_stop {
            return Decided::Admitted(request);
        }
        match lock(&self.caps).try_open(self.peer, self.address, Instant::now()) {
            Ok(()) => Decided::Admitted(request),
            Err(reached) => {
                tracing::debug!(peer = %self.peer, "circuit refused: {reached}");
                Decided::Refused(request.into_upgrade().1, reached)
            }
        }
    }
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
            match self.inner.poll(cx) {
                Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest { protocol }) => {
                    let decided = self.decide(protocol);
                    self.queue.push_back(decided);
                    continue;
                }
                Poll::Ready(other) => return Poll::Ready(other),
                Poll::Pending => {}
            }
            match self.queue.pop_front() {
                Some(Decided::Admitted(protocol)) => {
                    self.in_flight += 1;
                    return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                        protocol,
                    });
                }
                Some(Decided::Refused(info, reached)) if self.in_flight == 0 => {
                    // The inner handler now has an event for its behaviour: polled again.
                    self.inner
                        .on_connection_event(ConnectionEvent::DialUpgradeError(DialUpgradeError {
                            info,
                            error: StreamUpgradeError::Io(std::io::Error::other(reached)),
                        }));
                }
                Some(waiting) => {
                    // Polled again when a stream in flight resolves.
                    self.queue.push_front(waiting);
                    return Poll::Pending;
                }
                None => return Poll::Pending,
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
        if matches!(
            event,
            ConnectionEvent::FullyNegotiatedOutbound(_) | ConnectionEvent::DialUpgradeError(_)
        ) {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        self.inner.on_connection_event(event);
    }
}
