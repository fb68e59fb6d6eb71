//! The protocols a tab speaks with the server (relay client, identify, ping, rendezvous) and
//! with other tabs (signaling and swarm streams), and the mesh links it keeps open.

use crate::net::{direct_streams, neighbour_links, prompt_ping};
use libp2p::{identify, identity::Keypair, ping, relay, rendezvous, swarm::NetworkBehaviour};
use std::time::Duration;

/// A tab's network behaviour.
#[derive(NetworkBehaviour)]
pub(crate) struct TabBehaviour {
    pub(crate) relay: relay::client::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: prompt_ping::Behaviour,
    /// Opens and accepts plain streams: `/webrtc-signaling` and echo.
    pub(crate) streams: libp2p_stream::Behaviour,
    /// Swarm streams, on direct browser-to-browser links only.
    pub(crate) swarm_streams: direct_streams::Behaviour,
    /// Registers in the swarm's namespace on the server and discovers the other members.
    pub(crate) rendezvous: rendezvous::client::Behaviour,
    /// Keeps the direct links to the mesh's neighbours open while idle.
    pub(crate) neighbours: neighbour_links::Behaviour,
}

impl TabBehaviour {
    pub(crate) fn new(
        key: &Keypair,
        relay: relay::client::Behaviour,
        streams: libp2p_stream::Behaviour,
        swarm_streams: direct_streams::Behaviour,
        neighbours: neighbour_links::Behaviour,
        ping_interval: Duration,
    ) -> Self {
        Self {
            relay,
            streams,
            swarm_streams,
            neighbours,
            rendezvous: rendezvous::client::Behaviour::new(key.clone()),
            identify: identify::Behaviour::new(
                identify::Config::new(
                    crate::wire::protocols::IDENTIFY_VERSION.to_owned(),
                    key.public(),
                )
                .with_agent_version(format!("peerfetch-tab/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: prompt_ping::Behaviour::new(ping::Config::new().with_interval(ping_interval)),
        }
    }
}
