//! The libp2p protocols the server speaks: circuit relay v2 (server side), identify and ping.

use crate::cli::{ConnectionLimits, RegistrationLimits, RelayLimits};
use crate::ip_limits;
use libp2p::{
    connection_limits, identify, identity::Keypair, ping, relay, rendezvous,
    swarm::NetworkBehaviour,
};
use peerfetch::prompt_ping;
use std::time::Duration;

/// Identify protocol version shared by peerfetch servers and tabs.
pub const PROTOCOL_VERSION: &str = "/peerfetch/0.1.0";

/// Shortest swarm registration accepted: tabs register for 2 minutes and renew every minute,
/// so a closed tab leaves the swarm quickly (the protocol's default minimum is 2 hours).
const MIN_REGISTRATION_TTL_SECS: u64 = 60;

/// The server's network behaviour.
#[derive(NetworkBehaviour)]
pub struct ServerBehaviour {
    /// Bounds on connections in total, in their handshake, and per peer.
    pub connection_limits: connection_limits::Behaviour,
    /// Bound on connections per remote IP address.
    pub ip_limits: ip_limits::Behaviour,
    /// Lets tabs reserve a slot and be reached through `/p2p-circuit`.
    pub relay: relay::Behaviour,
    /// Tells peers our addresses and protocols, and learns theirs.
    pub identify: identify::Behaviour,
    /// Answers pings (tabs measure their RTT with it).
    pub ping: prompt_ping::Behaviour,
    /// Swarm membership: tabs register under their swarm's name and discover each other.
    pub rendezvous: rendezvous::server::Behaviour,
}

impl ServerBehaviour {
    /// Builds the behaviour for the server's key with the given limits.
    pub fn new(
        keypair: &Keypair,
        limits: &RelayLimits,
        registrations: &RegistrationLimits,
        connections: &ConnectionLimits,
    ) -> Self {
        Self {
            connection_limits: connection_limits::Behaviour::new(connections.to_config()),
            ip_limits: ip_limits::Behaviour::new(connections.max_per_ip),
            relay: relay::Behaviour::new(keypair.public().to_peer_id(), limits.to_config()),
            identify: identify::Behaviour::new(
                identify::Config::new(PROTOCOL_VERSION.to_owned(), keypair.public())
                    .with_agent_version(format!("peerfetch-server/{}", env!("CARGO_PKG_VERSION"))),
            ),
            rendezvous: rendezvous::server::Behaviour::new(
                rendezvous::server::Config::default()
                    .with_min_ttl(MIN_REGISTRATION_TTL_SECS)
                    .with_max_registration_total(registrations.total)
                    .with_max_registration_per_peer(registrations.per_peer),
            ),
            ping: prompt_ping::Behaviour::new(
                ping::Config::new().with_interval(Duration::from_secs(15)),
            ),
        }
    }
}
