//! [`ServersOnly`]: a behaviour spoken only with the servers of the network.
//!
//! The servers' Kademlia DHT must not be open to tabs: in server mode it stores whatever
//! ADD_PROVIDER a peer sends, until the store is full and the server's own announcements fail.
//! Wrapped in `ServersOnly`, the inner behaviour gets a connection handler only on connections
//! to allowed peers; every other connection gets [`dummy::ConnectionHandler`], so the protocol
//! is not offered there (identify does not list it, a stream for it is refused at negotiation)
//! and the inner behaviour never learns of that connection. What the inner behaviour asks of a
//! peer that is not allowed is dropped: a message to it, or a dial (reported back to it as a
//! denied dial, so its query does not wait).

use either::Either;
use libp2p::{
    core::{transport::PortUse, Endpoint},
    swarm::{
        behaviour::ConnectionEstablished, dial_opts::DialOpts, dummy, AddressChange,
        ConnectionClosed, ConnectionDenied, ConnectionId, DialError, DialFailure, FromSwarm,
        NetworkBehaviour, NotifyHandler, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
    },
    Multiaddr, PeerId,
};
use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::task::{Context, Poll};

/// Why a connection of the inner behaviour was refused.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("not a server of this network (--network-peer-id)")]
pub struct NotAServer;

/// `B`, spoken only with the peers in `allowed`; derefs to `B`.
pub struct ServersOnly<B> {
    inner: B,
    allowed: HashSet<PeerId>,
    /// Connections that have `B`'s handler.
    connections: HashSet<ConnectionId>,
}

impl<B> ServersOnly<B> {
    /// `inner`, given the connections of the peers in `allowed` only.
    pub fn new(inner: B, allowed: HashSet<PeerId>) -> Self {
        Self {
            inner,
            allowed,
            connections: HashSet::new(),
        }
    }

    /// Connections that speak the inner behaviour's protocol.
    pub fn connections(&self) -> usize {
        self.connections.len()
    }
}

impl<B> Deref for ServersOnly<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.inner
    }
}

impl<B> DerefMut for ServersOnly<B> {
    fn deref_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for ServersOnly<B> {
    type ConnectionHandler = Either<THandler<B>, dummy::ConnectionHandler>;
    type ToSwarm = B::ToSwarm;

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.allowed.contains(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )?;
        self.connections.insert(connection_id);
        Ok(Either::Left(handler))
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        match maybe_peer {
            Some(peer) if self.allowed.contains(&peer) => {
                self.inner.handle_pending_outbound_connection(
                    connection_id,
                    maybe_peer,
                    addresses,
                    effective_role,
                )
            }
            // Not ours to deny (another behaviour dials it); we add no address.
            _ => Ok(Vec::new()),
        }
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.allowed.contains(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )?;
        self.connections.insert(connection_id);
        Ok(Either::Left(handler))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished { connection_id, .. })
            | FromSwarm::AddressChange(AddressChange { connection_id, .. })
                if !self.connections.contains(&connection_id) => {}
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. })
                if !self.connections.remove(&connection_id) => {}
            FromSwarm::DialFailure(DialFailure {
                peer_id: Some(peer),
                ..
            }) if !self.allowed.contains(&peer) => {}
            event => self.inner.on_swarm_event(event),
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(event) => {
                self.inner
                    .on_connection_handler_event(peer, connection_id, event)
            }
            Either::Right(never) => libp2p::core::util::unreachable(never),
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        loop {
            let event = match self.inner.poll(cx) {
                Poll::Ready(event) => event,
                Poll::Pending => return Poll::Pending,
            };
            match event {
                ToSwarm::NotifyHandler {
                    peer_id, handler, ..
                } if !self.may_notify(peer_id, &handler) => {
                    tracing::debug!(%peer_id, "message for a peer that is not a server dropped");
                }
                ToSwarm::Dial { opts } if !self.may_dial(&opts) => self.refuse_dial(&opts),
                event => return Poll::Ready(event.map_in(Either::Left)),
            }
        }
    }
}

impl<B: NetworkBehaviour> ServersOnly<B> {
    fn may_notify(&self, peer: PeerId, handler: &NotifyHandler) -> bool {
        self.allowed.contains(&peer)
            && match handler {
                NotifyHandler::One(connection) => self.connections.contains(connection),
                NotifyHandler::Any => true,
            }
    }

    fn may_dial(&self, opts: &DialOpts) -> bool {
        opts.get_peer_id()
            .is_some_and(|peer| self.allowed.contains(&peer))
    }

    /// Tells the inner behaviour its dial failed, as the swarm would have.
    fn refuse_dial(&mut self, opts: &DialOpts) {
        let error = DialError::Denied {
            cause: ConnectionDenied::new(NotAServer),
        };
        tracing::debug!("dial of a peer that is not a server dropped: {error}");
        self.inner
            .on_swarm_event(FromSwarm::DialFailure(DialFailure {
                peer_id: opts.get_peer_id(),
                error: &error,
                connection_id: opts.connection_id(),
            }));
    }
}
