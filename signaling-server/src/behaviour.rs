//! The libp2p protocols the server speaks: circuit relay v2 (server side), identify and ping.

use crate::cli::RelayLimits;
use libp2p::{identify, identity::Keypair, ping, relay, swarm::NetworkBehaviour};
use peerfetch::prompt_ping;
use std::time::Duration;

/// Identify protocol version shared by peerfetch servers and tabs.
pub const PROTOCOL_VERSION: &str = "/peerfetch/0.1.0";

/// The server's network behaviour.
#[derive(NetworkBehaviour)]
pub struct ServerBehaviour {
    /// Lets tabs reserve a slot and be reached through `/p2p-circuit`.
    pub relay: relay::Behaviour,
    /// Tells peers our addresses and protocols, and learns theirs.
    pub identify: identify::Behaviour,
    /// Answers pings (tabs measure their RTT with it).
    pub ping: prompt_ping::Behaviour,
}

impl ServerBehaviour {
    /// Builds the behaviour for the server's key with the given relay limits.
    pub fn new(keypair: &Keypair, limits: &RelayLimits) -> Self {
        Self {
            relay: relay::Behaviour::new(keypair.public().to_peer_id(), limits.to_config()),
            identify: identify::Behaviour::new(
                identify::Config::new(PROTOCOL_VERSION.to_owned(), keypair.public())
                    .with_agent_version(format!("peerfetch-server/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: prompt_ping::Behaviour::new(
                ping::Config::new().with_interval(Duration::from_secs(15)),
            ),
        }
    }
}
