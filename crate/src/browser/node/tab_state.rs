//! What the page can read about its tab: open connections, ping RTTs, the relay reservation.

use crate::net::ice_path::IcePath;
use crate::net::transport_kind::TransportKind;
use crate::util::rtt_stats::RttStats;
use libp2p::{swarm::ConnectionId, PeerId};
use serde::Serialize;
use std::collections::BTreeMap;

/// One open connection, as `connections()` reports it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConnectionInfo {
    #[serde(serialize_with = "as_string")]
    pub(crate) peer: PeerId,
    pub(crate) transport: TransportKind,
    pub(crate) direction: &'static str,
    /// For a direct browser-to-browser link: host, stun or turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<IcePath>,
}

fn as_string<S: serde::Serializer>(peer: &PeerId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(peer)
}

/// The tab's live state, shared between the swarm task and the JS API.
#[derive(Debug)]
pub(crate) struct TabState {
    pub(crate) server: PeerId,
    pub(crate) swarm: String,
    pub(crate) connections: BTreeMap<ConnectionId, ConnectionInfo>,
    pub(crate) server_rtt: RttStats,
    pub(crate) ping_failures: u64,
    pub(crate) reservation: bool,
    pub(crate) closed: bool,
}

/// `stats()` as a plain object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatsView<'a> {
    server: String,
    swarm: &'a str,
    server_transport: Option<TransportKind>,
    connections: usize,
    neighbours: usize,
    relay_reservation: bool,
    pings: u64,
    ping_failures: u64,
    rtt_ms: Option<f64>,
    rtt_p50_ms: Option<f64>,
    rtt_p99_ms: Option<f64>,
    rtt_max_ms: Option<f64>,
    rtc_peer_connections: usize,
    data_channels: usize,
    closed: bool,
}

impl TabState {
    pub(crate) fn new(server: PeerId, swarm: String) -> Self {
        Self {
            server,
            swarm,
            connections: BTreeMap::new(),
            server_rtt: RttStats::default(),
            ping_failures: 0,
            reservation: false,
            closed: false,
        }
    }

    pub(crate) fn opened(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        transport: TransportKind,
        dialer: bool,
        path: Option<IcePath>,
    ) -> ConnectionInfo {
        let info = ConnectionInfo {
            peer,
            transport,
            direction: if dialer { "outbound" } else { "inbound" },
            path,
        };
        self.connections.insert(id, info.clone());
        info
    }

    pub(crate) fn closed_connection(&mut self, id: ConnectionId) -> Option<ConnectionInfo> {
        self.connections.remove(&id)
    }

    /// The transport of the first open connection to the server.
    pub(crate) fn server_transport(&self) -> Option<TransportKind> {
        self.connections
            .values()
            .find(|c| c.peer == self.server)
            .map(|c| c.transport)
    }

    /// Open connections to `peer` over `transport`.
    pub(crate) fn links(&self, peer: PeerId, transport: TransportKind) -> Vec<ConnectionId> {
        self.connections
            .iter()
            .filter(|(_, c)| c.peer == peer && c.transport == transport)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Peers with a direct browser-to-browser link.
    pub(crate) fn neighbours(&self) -> usize {
        let peers: std::collections::BTreeSet<&PeerId> = self
            .connections
            .values()
            .filter(|c| c.transport == TransportKind::WebRtc)
            .map(|c| &c.peer)
            .collect();
        peers.len()
    }

    pub(crate) fn stats(&self) -> StatsView<'_> {
        let rtt = self.server_rtt.summary();
        StatsView {
            server: self.server.to_string(),
            swarm: &self.swarm,
            server_transport: self.server_transport(),
            connections: self.connections.len(),
            neighbours: self.neighbours(),
            relay_reservation: self.reservation,
            pings: rtt.map_or(0, |s| s.count),
            ping_failures: self.ping_failures,
            rtt_ms: rtt.map(|s| s.last_ms),
            rtt_p50_ms: rtt.map(|s| s.p50_ms),
            rtt_p99_ms: rtt.map(|s| s.p99_ms),
            rtt_max_ms: rtt.map(|s| s.max_ms),
            rtc_peer_connections: crate::browser::transport::rtc::live_peer_connections(),
            data_channels: crate::browser::transport::rtc::live_data_channels(),
            closed: self.closed,
        }
    }
}
