//! Every protocol id, the identify version and the provider namespace scheme, in one place for
//! the tab and the server.

use crate::content::content_id::ContentId;

/// The identify protocol version every peerfetch node announces.
pub const IDENTIFY_VERSION: &str = "/peerfetch/0.1.0";
/// Piece exchange between tabs about one resource (see `swarm/message.rs`).
pub const SWARM: &str = "/peerfetch/swarm/1";
/// Browser-to-browser WebRTC signaling (the libp2p spec's id).
pub const SIGNALING: &str = "/webrtc-signaling/0.0.1";
/// Rendezvous (the libp2p spec's id).
pub const RENDEZVOUS: &str = "/rendezvous/1.0.0";
/// The servers' Kademlia DHT (a private one, apart from the public IPFS DHT).
pub const KAD: &str = "/peerfetch/kad/1.0.0";
/// The ICE servers a server offers the asking tab: its STUN, and its TURN with credentials
/// minted for that tab (see `net/ice_server.rs`).
pub const ICE_SERVERS: &str = "/peerfetch/ice/1";
/// Echo, for tests and benchmarks.
pub const ECHO: &str = "/peerfetch/echo/1.0.0";
/// Bulk throughput, for benchmarks.
pub const THROUGHPUT: &str = "/peerfetch/throughput/1.0.0";

/// The rendezvous namespace under which tabs of `swarm` provide the resource `id`:
/// `<swarm>/c/<hash hex>`.
pub fn content_namespace(swarm: &str, id: &ContentId) -> String {
    format!("{swarm}/c/{}", id.hash().to_hex())
}
