//! Prometheus metrics, served at `GET /metrics` on the admin listener: libp2p's own (connections by
//! transport and direction, relay reservations and circuits, identify, ping, bytes by
//! protocol stack) through `libp2p-metrics`, and the server's: swarm registrations held,
//! discovery requests, refusals by protocol and reason, and the size of every long-lived map
//! (`peerfetch_map_entries{map="…"}`), so that a soak can tell whether one grows without bound.

use std::sync::{Arc, Mutex};

use libp2p::metrics::{Metrics as Libp2pMetrics, Recorder};
use libp2p::relay;
use libp2p::swarm::{ConnectionDenied, ListenError, SwarmEvent};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use prometheus_client::registry::Registry;

use crate::behaviour::ServerBehaviourEvent;
use crate::circuit_caps::CircuitCapReached;
use crate::discovery::Outcome;
use crate::http_serve::HttpGauges;
use crate::ip_limits::IpLimitExceeded;
use crate::relay_gate::cap_reached;

/// The registry `GET /metrics` encodes, shared with the HTTP side.
pub type SharedRegistry = Arc<Mutex<Registry>>;

/// What a refusal was about and why.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Refusal {
    /// `connection`, `relay_reservation`, `relay_circuit`, `registration` or `discovery`.
    pub request: String,
    /// The protocol's status or error code.
    pub reason: String,
}

/// Which map a size is of.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MapLabel {
    /// The map's name.
    pub map: String,
}

/// The server's metrics, recorded from its swarm's events.
pub struct ServerMetrics {
    libp2p: Libp2pMetrics,
    registrations: Gauge,
    servers: Gauge,
    discoveries: Counter,
    refusals: Family<Refusal, Counter>,
    maps: Family<MapLabel, Gauge>,
}

impl ServerMetrics {
    /// Registers every metric in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let libp2p = Libp2pMetrics::new(registry);
        let ours = registry.sub_registry_with_prefix("peerfetch");
        let registrations = Gauge::default();
        ours.register(
            "swarm_registrations",
            "Swarm and provider registrations (rendezvous) held",
            registrations.clone(),
        );
        let servers = Gauge::default();
        ours.register(
            "servers",
            "Servers of the network (--network-peer-id, --peer) connected",
            servers.clone(),
        );
        let discoveries = Counter::default();
        ours.register(
            "discoveries",
            "Discovery requests served",
            discoveries.clone(),
        );
        let refusals = Family::default();
        ours.register(
            "refusals",
            "Requests refused, by request and reason",
            refusals.clone(),
        );
        let maps = Family::default();
        ours.register(
            "map_entries",
            "Entries of each long-lived map the server holds (a soak watches these stay bounded)",
            maps.clone(),
        );
        Self {
            libp2p,
            registrations,
            servers,
            discoveries,
            refusals,
            maps,
        }
    }

    /// The gauges of an HTTP listener (`public` or `admin`): its connections and the addresses
    /// holding them.
    pub fn http_gauges(&self, listener: &str) -> HttpGauges {
        HttpGauges {
            connections: self.map_gauge(&format!("http_{listener}_connections")),
            addresses: self.map_gauge(&format!("http_{listener}_addresses")),
        }
    }

    fn map_gauge(&self, map: &str) -> Gauge {
        self.maps
            .get_or_create(&MapLabel {
                map: map.to_owned(),
            })
            .clone()
    }

    /// Sets the size of each named map.
    pub fn set_sizes(&self, sizes: &[(&'static str, usize)]) {
        for (map, size) in sizes {
            self.map_gauge(map).set(*size as i64);
        }
    }

    /// Records what `event` says.
    pub fn record(&mut self, event: &SwarmEvent<ServerBehaviourEvent>) {
        self.libp2p.record(event);
        match event {
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { cause },
                ..
            } => self.refuse("connection", denial_reason(cause)),
            SwarmEvent::Behaviour(ServerBehaviourEvent::Relay(event)) => self.record_relay(event),
            SwarmEvent::Behaviour(ServerBehaviourEvent::Identify(event)) => {
                self.libp2p.record(event)
            }
            SwarmEvent::Behaviour(ServerBehaviourEvent::Ping(event)) => self.libp2p.record(event),
            SwarmEvent::Behaviour(ServerBehaviourEvent::Kad(event)) => self.libp2p.record(event),
            _ => {}
        }
    }

    fn record_relay(&mut self, event: &relay::Event) {
        self.libp2p.record(event);
        match event {
            relay::Event::ReservationReqDenied { status, .. } => {
                self.refuse("relay_reservation", format!("{status:?}"))
            }
            relay::Event::CircuitReqDenied { status, .. } => {
                self.refuse("relay_circuit", format!("{status:?}"))
            }
            #[allow(deprecated)] // the relay still reports it
            relay::Event::CircuitReqOutboundConnectFailed { error, .. } => {
                match cap_reached(error) {
                    Some(CircuitCapReached::Peer(_)) => {
                        self.refuse("relay_circuit", "per-destination limit".to_owned())
                    }
                    Some(CircuitCapReached::Address(_)) => {
                        self.refuse("relay_circuit", "per-destination-ip limit".to_owned())
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// Records what became of a rendezvous request.
    pub fn record_rendezvous(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Discovering => {
                self.discoveries.inc();
            }
            Outcome::Refused { request, reason } => self.refuse(request, reason.clone()),
            Outcome::Registered | Outcome::Unregistered => {}
        }
    }

    /// Sets the registrations held and the other servers known.
    pub fn set_registrations(&mut self, held: usize, servers: usize) {
        self.registrations.set(held as i64);
        self.servers.set(servers as i64);
    }

    /// Counts a refusal of `request` for `reason`.
    pub fn refuse(&self, request: &str, reason: String) {
        self.refusals
            .get_or_create(&Refusal {
                request: request.to_owned(),
                reason,
            })
            .inc();
    }
}

/// Which bound denied a connection.
fn denial_reason(cause: &ConnectionDenied) -> String {
    match cause.downcast_ref::<IpLimitExceeded>() {
        Some(IpLimitExceeded::Connections { .. }) => return "per-ip limit".to_owned(),
        Some(IpLimitExceeded::Pending { .. }) => return "per-ip pending limit".to_owned(),
        None => {}
    }
    match cause.downcast_ref::<libp2p::connection_limits::Exceeded>() {
        Some(exceeded) => exceeded.to_string(),
        None => cause.to_string(),
    }
}
