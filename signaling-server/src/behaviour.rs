//! The libp2p protocols the server speaks: circuit relay v2 (server side), identify, ping, the
//! rendezvous point (answering tabs), and the Kademlia DHT and rendezvous client it uses with
//! the other servers.

use crate::cli::{ConnectionLimits, RegistrationLimits, RelayLimits};
use crate::discovery::KAD_PROTOCOL;
use crate::heap_handler::OnHeap;
use crate::ip_limits;
use crate::relay_gate::DestinationGate;
use crate::rendezvous_codec::RendezvousCodec;
use crate::servers_only::ServersOnly;
use libp2p::{
    connection_limits, identify,
    identity::Keypair,
    kad, ping, relay, rendezvous,
    request_response::{self, ProtocolSupport},
    swarm::NetworkBehaviour,
    PeerId, StreamProtocol, Swarm,
};
use peerfetch::net::ice_server::{
    IceOffer, IceRequest, MAX_ICE_OFFER_BYTES, MAX_ICE_REQUEST_BYTES,
};
use peerfetch::{net::prompt_ping, wire::protocols};
use std::collections::HashSet;
use std::time::Duration;

/// How long a server's announcement that it holds registrations in a namespace lasts in the
/// other servers' DHT stores, and how often it is renewed.
const PROVIDER_TTL: Duration = Duration::from_secs(10 * 60);
const PROVIDER_REPUBLISH: Duration = Duration::from_secs(5 * 60);
/// Servers remembered as holding registrations in one namespace.
const MAX_SERVERS_PER_NAMESPACE: usize = 64;

/// The server's swarm: its behaviour with each connection's handlers on the heap (10 KiB less
/// per connection, measured; see [`OnHeap`]).
pub type ServerSwarm = Swarm<OnHeap<ServerBehaviour>>;

/// The server's network behaviour.
#[derive(NetworkBehaviour)]
pub struct ServerBehaviour {
    /// Bounds on connections in total, in their handshake, and per peer.
    pub connection_limits: connection_limits::Behaviour,
    /// Bounds on connections and handshakes per remote IP address.
    pub ip_limits: ip_limits::Behaviour,
    /// Lets tabs reserve a slot and be reached through `/p2p-circuit`; circuits bounded per
    /// destination.
    pub relay: DestinationGate,
    /// Tells peers our addresses and protocols, and learns theirs.
    pub identify: identify::Behaviour,
    /// Answers pings (tabs measure their RTT with it).
    pub ping: prompt_ping::Behaviour,
    /// The rendezvous point: tabs register under their swarm's name (and each resource they
    /// provide) and discover each other ([`crate::discovery`] answers).
    pub rendezvous: request_response::Behaviour<RendezvousCodec>,
    /// The servers' DHT: which servers hold registrations in which namespace. Spoken only with
    /// the servers of the network.
    pub kad: ServersOnly<kad::Behaviour<kad::store::MemoryStore>>,
    /// Asks other servers for their registrations in a namespace.
    pub federation: rendezvous::client::Behaviour,
    /// Tells tabs the ICE servers to use: our STUN, and our TURN with credentials per tab.
    pub ice: request_response::json::Behaviour<IceRequest, IceOffer>,
}

impl ServerBehaviour {
    /// Builds the behaviour for the server's key with the given limits; `servers` are the other
    /// servers of the network (the only peers spoken Kademlia with).
    pub fn new(
        keypair: &Keypair,
        limits: &RelayLimits,
        registrations: &RegistrationLimits,
        connections: &ConnectionLimits,
        servers: HashSet<PeerId>,
    ) -> Self {
        Self {
            connection_limits: connection_limits::Behaviour::new(connections.to_config()),
            ip_limits: ip_limits::Behaviour::new(connections.per_ip()),
            relay: DestinationGate::new(
                relay::Behaviour::new(keypair.public().to_peer_id(), limits.to_config()),
                limits.per_destination(),
            ),
            identify: identify::Behaviour::new(
                identify::Config::new(protocols::IDENTIFY_VERSION.to_owned(), keypair.public())
                    .with_agent_version(format!("peerfetch-server/{}", env!("CARGO_PKG_VERSION"))),
            ),
            rendezvous: request_response::Behaviour::new(
                [(
                    StreamProtocol::new(protocols::RENDEZVOUS),
                    ProtocolSupport::Inbound,
                )],
                request_response::Config::default(),
            ),
            kad: ServersOnly::new(servers_dht(keypair, registrations), servers),
            federation: rendezvous::client::Behaviour::new(keypair.clone()),
            ice: ice_servers_protocol(),
            ping: prompt_ping::Behaviour::new(
                ping::Config::new().with_interval(Duration::from_secs(15)),
            ),
        }
    }
}

/// `/peerfetch/ice/1`, answering only: the request is `{}`, the answer a few hundred bytes, and
/// a tab has at most two requests in flight per connection (answering keeps no state).
fn ice_servers_protocol() -> request_response::json::Behaviour<IceRequest, IceOffer> {
    let codec = request_response::json::codec::Codec::default()
        .set_request_size_maximum(MAX_ICE_REQUEST_BYTES)
        .set_response_size_maximum(MAX_ICE_OFFER_BYTES);
    request_response::Behaviour::with_codec(
        codec,
        [(
            StreamProtocol::new(protocols::ICE_SERVERS),
            ProtocolSupport::Inbound,
        )],
        request_response::Config::default().with_max_concurrent_streams(2),
    )
}

/// The Kademlia behaviour of the servers' DHT, in server mode, its store bounded like the
/// registrations (each namespace a server holds registrations in is one provider record).
fn servers_dht(
    keypair: &Keypair,
    registrations: &RegistrationLimits,
) -> kad::Behaviour<kad::store::MemoryStore> {
    let local = keypair.public().to_peer_id();
    let mut config = kad::Config::new(KAD_PROTOCOL);
    config
        .set_provider_record_ttl(Some(PROVIDER_TTL))
        .set_provider_publication_interval(Some(PROVIDER_REPUBLISH));
    let store = kad::store::MemoryStore::with_config(
        local,
        kad::store::MemoryStoreConfig {
            // Servers share provider records only: values are refused.
            max_records: 0,
            max_value_bytes: 0,
            max_provided_keys: registrations.total,
            max_providers_per_key: MAX_SERVERS_PER_NAMESPACE,
        },
    );
    let mut kad = kad::Behaviour::with_config(local, store, config);
    kad.set_mode(Some(kad::Mode::Server));
    kad
}
