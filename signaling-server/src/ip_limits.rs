//! A bound on the connections one remote IP address may hold (pending and established
//! together): past it, new inbound connections from that address are denied before any
//! handshake work. `libp2p-connection-limits` bounds totals and per-peer counts, but a client
//! can mint peer ids for free, so the address is what a bound must hold on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::{transport::PortUse, Endpoint, Multiaddr};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, ListenFailure,
    NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::PeerId;

/// A connection was denied: its address already holds the most it may.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ip} already holds {limit} connections (--max-connections-per-ip)")]
pub struct IpLimitExceeded {
    /// The remote address.
    pub ip: IpAddr,
    /// The bound.
    pub limit: u32,
}

/// Connections held per remote IP address.
#[derive(Debug, Default)]
struct IpCounts {
    per_ip: HashMap<IpAddr, u32>,
    by_connection: HashMap<ConnectionId, IpAddr>,
}

impl IpCounts {
    /// Counts `connection` from `ip` unless that address holds `limit` already.
    fn admit(
        &mut self,
        connection: ConnectionId,
        ip: IpAddr,
        limit: u32,
    ) -> Result<(), IpLimitExceeded> {
        let held = self.per_ip.entry(ip).or_default();
        if *held >= limit {
            return Err(IpLimitExceeded { ip, limit });
        }
        *held += 1;
        self.by_connection.insert(connection, ip);
        Ok(())
    }

    /// Forgets `connection` (closed, or failed before it was established).
    fn release(&mut self, connection: ConnectionId) {
        let Some(ip) = self.by_connection.remove(&connection) else {
            return;
        };
        if let Some(held) = self.per_ip.get_mut(&ip) {
            *held -= 1;
            if *held == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }
}

/// The behaviour enforcing the bound on inbound connections.
pub struct Behaviour {
    limit: u32,
    counts: IpCounts,
}

impl Behaviour {
    /// At most `limit` connections per remote IP address.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            counts: IpCounts::default(),
        }
    }
}

/// The IP address a multiaddr starts with, if it does.
fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    match addr.iter().next()? {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
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
        match ip_of(remote_addr) {
            Some(ip) => self
                .counts
                .admit(connection_id, ip, self.limit)
                .map_err(ConnectionDenied::new),
            None => Ok(()),
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
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

    #[test]
    fn counts_per_address_and_frees_on_release() {
        let mut counts = IpCounts::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let id = |n: usize| ConnectionId::new_unchecked(n);
        assert!(counts.admit(id(1), a, 2).is_ok());
        assert!(counts.admit(id(2), a, 2).is_ok());
        assert_eq!(
            counts.admit(id(3), a, 2),
            Err(IpLimitExceeded { ip: a, limit: 2 })
        );
        assert!(
            counts.admit(id(4), b, 2).is_ok(),
            "another address is not held back"
        );
        counts.release(id(1));
        assert!(
            counts.admit(id(5), a, 2).is_ok(),
            "a slot freed by a close is reused"
        );
        counts.release(id(3));
        counts.release(id(99));
        for n in [2, 4, 5] {
            counts.release(id(n));
        }
        assert!(
            counts.per_ip.is_empty() && counts.by_connection.is_empty(),
            "nothing left behind"
        );
        assert_eq!(
            ip_of(&"/ip4/1.2.3.4/udp/9/webrtc-direct".parse().unwrap()),
            Some("1.2.3.4".parse().unwrap())
        );
        assert_eq!(ip_of(&"/dns4/example.org/tcp/1".parse().unwrap()), None);
    }
}
