//! Keeps the mesh's links to its neighbours open while nothing runs on them.
//!
//! The swarm closes a connection that has had no stream for its idle timeout (60 s in a tab),
//! which suits a link opened for one download. A mesh link is meant to last: closed when idle,
//! the mesh found the neighbour gone and dialed it again a moment later, through a relay circuit
//! each time (measured: an idle pair of tabs dropped and re-made its link every minute, and a
//! long benchmark ran through the server's circuit budget). This behaviour keeps alive the
//! direct connections (those `accepts` takes) to the peers the mesh holds as neighbours;
//! a neighbour released (the mesh dropped it or it left) goes back to the idle timeout.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::DeniedUpgrade;
use libp2p::core::{ConnectedPoint, Endpoint, Multiaddr};
use libp2p::swarm::handler::ConnectionEvent;
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, NotifyHandler, SubstreamProtocol, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::PeerId;

use super::endpoint;

/// Which connections may be kept, from how the connection was made.
pub type Accepts = fn(&ConnectedPoint) -> bool;

/// The neighbours whose direct links stay open.
pub struct Behaviour {
    accepts: Accepts,
    kept: HashSet<PeerId>,
    /// The accepted connections of each peer (one or two: a duplicate link is short-lived).
    connections: HashMap<PeerId, Vec<ConnectionId>>,
    /// Changes for handlers, one per accepted connection of a peer kept or released.
    pending: VecDeque<ToSwarm<Infallible, bool>>,
}

impl Behaviour {
    /// Keeps links that `accepts` takes, to the peers it is told to keep.
    pub fn new(accepts: Accepts) -> Self {
        Self {
            accepts,
            kept: HashSet::new(),
            connections: HashMap::new(),
            pending: VecDeque::new(),
        }
    }

    /// `peer` became a neighbour: its direct links stay open.
    pub fn keep(&mut self, peer: PeerId) {
        if self.kept.insert(peer) {
            self.tell(peer, true);
        }
    }

    /// `peer` is no neighbour any more: its links close when idle.
    pub fn release(&mut self, peer: PeerId) {
        if self.kept.remove(&peer) {
            self.tell(peer, false);
        }
    }

    fn tell(&mut self, peer: PeerId, keep: bool) {
        for connection in self.connections.get(&peer).into_iter().flatten() {
            self.pending.push_back(ToSwarm::NotifyHandler {
                peer_id: peer,
                handler: NotifyHandler::One(*connection),
                event: keep,
            });
        }
    }

    fn handler(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        endpoint: &ConnectedPoint,
    ) -> Handler {
        if !(self.accepts)(endpoint) {
            return Handler { keep: false };
        }
        self.connections.entry(peer).or_default().push(connection);
        Handler {
            keep: self.kept.contains(&peer),
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        connection: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<Handler, ConnectionDenied> {
        Ok(self.handler(
            peer,
            connection,
            &endpoint::inbound(local_addr, remote_addr),
        ))
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<Handler, ConnectionDenied> {
        Ok(self.handler(
            peer,
            connection,
            &endpoint::outbound(addr, role_override, port_use),
        ))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ConnectionClosed(closed) = event {
            if let Some(connections) = self.connections.get_mut(&closed.peer_id) {
                connections.retain(|c| *c != closed.connection_id);
                if connections.is_empty() {
                    self.connections.remove(&closed.peer_id);
                }
            }
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.pending.pop_front() {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }
}

/// A connection's side: no protocol, only whether to keep the connection open.
pub struct Handler {
    keep: bool,
}

impl ConnectionHandler for Handler {
    type FromBehaviour = bool;
    type ToBehaviour = Infallible;
    type InboundProtocol = DeniedUpgrade;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Infallible;

    fn listen_protocol(&self) -> SubstreamProtocol<DeniedUpgrade> {
        SubstreamProtocol::new(DeniedUpgrade, ())
    }

    fn connection_keep_alive(&self) -> bool {
        self.keep
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<DeniedUpgrade, Infallible, Infallible>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, keep: bool) {
        self.keep = keep;
    }

    fn on_connection_event(
        &mut self,
        _: ConnectionEvent<DeniedUpgrade, DeniedUpgrade, (), Infallible>,
    ) {
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use futures::StreamExt;
    use libp2p::swarm::Swarm;
    use libp2p_swarm_test::SwarmExt;
    use std::time::Duration;

    fn any(_: &ConnectedPoint) -> bool {
        true
    }

    fn none(_: &ConnectedPoint) -> bool {
        false
    }

    /// Past the swarms' idle timeout (libp2p's default, 10 s).
    const PAST_IDLE: Duration = Duration::from_secs(11);

    /// Two swarms that keep each other as neighbours, connected.
    async fn kept_pair(accepts: Accepts) -> [Swarm<Behaviour>; 2] {
        let mut a = Swarm::new_ephemeral_tokio(|_| Behaviour::new(accepts));
        let mut b = Swarm::new_ephemeral_tokio(|_| Behaviour::new(accepts));
        let (a_id, b_id) = (*a.local_peer_id(), *b.local_peer_id());
        a.behaviour_mut().keep(b_id);
        b.behaviour_mut().keep(a_id);
        b.listen().with_memory_addr_external().await;
        a.connect(&mut b).await;
        [a, b]
    }

    /// Drives both swarms for `time`.
    async fn drive(a: &mut Swarm<Behaviour>, b: &mut Swarm<Behaviour>, time: Duration) {
        let both = async {
            loop {
                futures::select! {
                    _ = a.select_next_some() => {}
                    _ = b.select_next_some() => {}
                }
            }
        };
        let _ = tokio::time::timeout(time, both).await;
    }

    #[tokio::test]
    async fn a_kept_neighbour_outlives_the_idle_timeout_and_a_released_one_does_not() {
        let [mut a, mut b] = kept_pair(any).await;
        let (a_id, b_id) = (*a.local_peer_id(), *b.local_peer_id());
        drive(&mut a, &mut b, PAST_IDLE).await;
        assert!(a.is_connected(&b_id), "kept past the idle timeout");
        a.behaviour_mut().release(b_id);
        b.behaviour_mut().release(a_id);
        drive(&mut a, &mut b, PAST_IDLE).await;
        assert!(!a.is_connected(&b_id), "released, it closed when idle");
        assert!(a.behaviour().connections.is_empty(), "nothing left of it");
    }

    #[tokio::test]
    async fn links_the_filter_refuses_are_never_kept() {
        let [mut a, mut b] = kept_pair(none).await;
        let b_id = *b.local_peer_id();
        drive(&mut a, &mut b, PAST_IDLE).await;
        assert!(!a.is_connected(&b_id), "not kept: closed when idle");
    }
}
