//! Bounds on the connections one remote address ([`AddressKey`]: an IPv4 address or an IPv6
//! /64, with wider IPv6 prefixes bounded too: [`AddressBudget`]) may hold: connections pending
//! and established together, and connections still in their handshake. Past either, a new
//! inbound connection from that address is denied before any handshake work. `libp2p-connection-limits` bounds totals and per-peer counts, but a client
//! can mint peer ids for free, so the address is what a bound must hold on; and the per-address
//! bound on handshakes sits far below the global one, so one host's half-open sockets cannot
//! take every handshake slot from everyone else.

use std::collections::HashMap;
use std::task::{Context, Poll};

use libp2p::core::{transport::PortUse, Endpoint, Multiaddr};
use libp2p::swarm::{
    dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, ListenFailure,
    NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::PeerId;

use crate::address_budget::{AddressBudget, BudgetFull, Scope};
use crate::ip_key::AddressKey;

/// A connection was denied: its address already holds the most it may.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpLimitExceeded {
    /// Connections, pending and established.
    #[error("{scope} already holds {limit} connections (--max-connections-per-ip)")]
    Connections {
        /// The remote address, or the IPv6 prefix around it.
        scope: Scope,
        /// The bound.
        limit: usize,
    },
    /// Connections in their handshake.
    #[error(
        "{scope} already has {limit} connections in their handshake \
         (--max-pending-connections-per-ip)"
    )]
    Pending {
        /// The remote address, or the IPv6 prefix around it.
        scope: Scope,
        /// The bound.
        limit: usize,
    },
}

/// The bounds per address.
#[derive(Debug, Clone, Copy)]
pub struct IpLimits {
    /// Connections, pending and established.
    pub connections: u32,
    /// Connections in their handshake.
    pub pending: u32,
}

/// Connections held per remote address.
#[derive(Debug)]
struct IpCounts {
    all: AddressBudget,
    pending: AddressBudget,
    /// Each connection's address, and whether it is still in its handshake.
    by_connection: HashMap<ConnectionId, (AddressKey, bool)>,
}

impl IpCounts {
    fn new(limits: IpLimits) -> Self {
        Self {
            all: AddressBudget::new(limits.connections as usize),
            pending: AddressBudget::new(limits.pending as usize),
            by_connection: HashMap::new(),
        }
    }

    /// Counts `connection` from `address`, in its handshake, unless that address holds the
    /// most it may.
    fn admit(
        &mut self,
        connection: ConnectionId,
        address: AddressKey,
    ) -> Result<(), IpLimitExceeded> {
        self.all
            .try_take(address)
            .map_err(|BudgetFull { scope, limit }| IpLimitExceeded::Connections { scope, limit })?;
        if let Err(BudgetFull { scope, limit }) = self.pending.try_take(address) {
            self.all.release(address);
            return Err(IpLimitExceeded::Pending { scope, limit });
        }
        self.by_connection.insert(connection, (address, true));
        Ok(())
    }

    /// `connection` finished its handshake.
    fn established(&mut self, connection: ConnectionId) {
        let Some((address, pending)) = self.by_connection.get_mut(&connection) else {
            return;
        };
        if std::mem::replace(pending, false) {
            self.pending.release(*address);
        }
    }

    /// Forgets `connection` (closed, or failed before it was established).
    fn release(&mut self, connection: ConnectionId) {
        let Some((address, pending)) = self.by_connection.remove(&connection) else {
            return;
        };
        self.all.release(address);
        if pending {
            self.pending.release(address);
        }
    }
}

/// The behaviour enforcing the bounds on inbound connections.
pub struct Behaviour {
    counts: IpCounts,
}

impl Behaviour {
    /// At most `limits` per remote address.
    pub fn new(limits: IpLimits) -> Self {
        Self {
            counts: IpCounts::new(limits),
        }
    }

    /// The remote address of the inbound `connection` (what per-address budgets elsewhere,
    /// such as registrations, count against); `None` for an outbound one.
    pub fn address_of(&self, connection: ConnectionId) -> Option<AddressKey> {
        self.counts
            .by_connection
            .get(&connection)
            .map(|(address, _)| *address)
    }

    /// Addresses holding a connection, and inbound connections counted.
    pub fn sizes(&self) -> (usize, usize) {
        (self.counts.all.addresses(), self.counts.by_connection.len())
    }

    /// Inbound connections still in their handshake.
    pub fn pending(&self) -> usize {
        self.counts
            .by_connection
            .values()
            .filter(|(_, p)| *p)
            .count()
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        match AddressKey::of_multiaddr(remote_addr) {
            Some(address) => self
                .counts
                .admit(connection_id, address)
                .map_err(ConnectionDenied::new),
            None => Ok(()),
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.counts.established(connection_id);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. })
            | FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => {
                self.counts.release(connection_id)
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer_id: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        libp2p::core::util::unreachable(event)
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(ip: &str) -> AddressKey {
        ip.parse::<IpAddr>().expect("an address").into()
    }

    fn id(n: usize) -> ConnectionId {
        ConnectionId::new_unchecked(n)
    }

    #[test]
    fn counts_per_address_and_frees_on_release() {
        let limits = IpLimits {
            connections: 2,
            pending: 2,
        };
        let mut counts = IpCounts::new(limits);
        let (a, b) = (key("10.0.0.1"), key("10.0.0.2"));
        assert!(counts.admit(id(1), a).is_ok());
        assert!(counts.admit(id(2), a).is_ok());
        assert_eq!(
            counts.admit(id(3), a),
            Err(IpLimitExceeded::Connections {
                scope: Scope::Address(a),
                limit: 2
            })
        );
        assert!(
            counts.admit(id(4), b).is_ok(),
            "another address is not held back"
        );
        counts.release(id(1));
        assert!(
            counts.admit(id(5), a).is_ok(),
            "a slot freed by a close is reused"
        );
        counts.release(id(3));
        counts.release(id(99));
        for n in [2, 4, 5] {
            counts.release(id(n));
        }
        assert!(
            counts.all.is_empty() && counts.pending.is_empty() && counts.by_connection.is_empty(),
            "nothing left behind"
        );
    }

    #[test]
    fn half_open_connections_of_one_address_take_only_its_handshake_slots() {
        let limits = IpLimits {
            connections: 100,
            pending: 3,
        };
        let mut counts = IpCounts::new(limits);
        let flooder = key("10.0.0.1");
        for n in 0..3 {
            assert!(counts.admit(id(n), flooder).is_ok());
        }
        assert_eq!(
            counts.admit(id(3), flooder),
            Err(IpLimitExceeded::Pending {
                scope: Scope::Address(flooder),
                limit: 3
            })
        );
        assert!(counts.admit(id(4), key("10.0.0.2")).is_ok());
        // A finished handshake frees its handshake slot, not its connection slot.
        counts.established(id(0));
        counts.established(id(0));
        assert!(counts.admit(id(5), flooder).is_ok());
        assert_eq!(counts.all.of(flooder), 4);
        assert_eq!(counts.pending.of(flooder), 3);
        // IPv6 addresses of one /64 share the slots.
        for n in 10..13 {
            let ip = format!("2001:db8::{n}");
            assert!(counts.admit(id(n), key(&ip)).is_ok());
        }
        assert!(counts.admit(id(13), key("2001:db8::ffff")).is_err());
        assert!(counts.admit(id(14), key("2001:db8:0:1::1")).is_ok());
        // One /48 holds 16 addresses' handshake slots however many /64s it uses.
        let mut admitted = 0;
        for subnet in 0..1024u32 {
            if counts
                .admit(
                    id(100 + subnet as usize),
                    key(&format!("2001:db8:9:{subnet:x}::1")),
                )
                .is_ok()
            {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 3 * crate::address_budget::PER_48);
    }
}
