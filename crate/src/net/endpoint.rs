//! A connection's [`ConnectedPoint`] rebuilt from what a behaviour's
//! `handle_established_*_connection` is given, for filters that judge connections by it.

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint, Multiaddr};

/// An inbound connection's endpoint.
pub fn inbound(local_addr: &Multiaddr, remote_addr: &Multiaddr) -> ConnectedPoint {
    ConnectedPoint::Listener {
        local_addr: local_addr.clone(),
        send_back_addr: remote_addr.clone(),
    }
}

/// An outbound connection's endpoint.
pub fn outbound(addr: &Multiaddr, role_override: Endpoint, port_use: PortUse) -> ConnectedPoint {
    ConnectedPoint::Dialer {
        address: addr.clone(),
        role_override,
        port_use,
    }
}
