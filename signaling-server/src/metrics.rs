//! Prometheus metrics, served at `GET /metrics` on the HTTP port: libp2p's own (connections by
//! transport and direction, relay reservations and circuits, identify, ping, bytes by
//! protocol stack) through `libp2p-metrics`, and the server's: swarm registrations held,
//! discovery requests, and refusals by protocol and reason.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use libp2p::metrics::{Metrics as Libp2pMetrics, Recorder};
use libp2p::swarm::{ConnectionDenied, ListenError, SwarmEvent};
use libp2p::{relay, rendezvous, PeerId};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use prometheus_client::registry::Registry;

use crate::behaviour::ServerBehaviourEvent;
use crate::ip_limits::IpLimitExceeded;

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

/// The server's metrics, recorded from its swarm's events.
pub struct ServerMetrics {
    libp2p: Libp2pMetrics,
    registrations: Gauge,
    held: HashSet<(PeerId, String)>,
    discoveries: Counter,
    refusals: Family<Refusal, Counter>,
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
        Self {
            libp2p,
            registrations,
            held: HashSet::new(),
            discoveries,
            refusals,
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
            SwarmEvent::Behaviour(ServerBehaviourEvent::Rendezvous(event)) => {
                self.record_rendezvous(event)
            }
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
            _ => {}
        }
    }

    fn record_rendezvous(&mut self, event: &rendezvous::server::Event) {
        use rendezvous::server::Event;
        match event {
            Event::PeerRegistered { peer, registration } => {
                self.held
                    .insert((*peer, registration.namespace.to_string()));
            }
            Event::PeerUnregistered { peer, namespace } => {
                self.held.remove(&(*peer, namespace.to_string()));
            }
            Event::RegistrationExpired(registration) => {
                let key = (
                    registration.record.peer_id(),
                    registration.namespace.to_string(),
                );
                self.held.remove(&key);
            }
            Event::PeerNotRegistered { error, .. } => {
                self.refuse("registration", format!("{error:?}"))
            }
            Event::DiscoverServed { .. } => {
                self.discoveries.inc();
            }
            Event::DiscoverNotServed { error, .. } => {
                self.refuse("discovery", format!("{error:?}"))
            }
        }
        self.registrations.set(self.held.len() as i64);
    }

    fn refuse(&self, request: &str, reason: String) {
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
    if cause.downcast_ref::<IpLimitExceeded>().is_some() {
        return "per-ip limit".to_owned();
    }
    match cause.downcast_ref::<libp2p::connection_limits::Exceeded>() {
        Some(exceeded) => exceeded.to_string(),
        None => cause.to_string(),
    }
}
