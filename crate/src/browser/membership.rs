//! Swarm membership in the tab: register in the swarm's rendezvous namespace on the server,
//! discover the other members, and let [`Mesh`] pick which of them to hold direct links to.

use super::{
    behaviour::TabBehaviourEvent, clock::now, direct_links::Waiter, events::dispatch,
    tab_node::TabNode,
};
use crate::{
    mesh::{Mesh, MeshAction, MeshConfig},
    transport_kind::TransportKind,
};
use libp2p::{multiaddr::Protocol, rendezvous, swarm::SwarmEvent, PeerId};
use serde_json::json;
use std::time::Duration;

/// Seconds a registration lasts on the server; renewed at half that.
const REGISTRATION_TTL: u64 = 120;
/// How often to ask the server for members while the mesh wants more neighbours.
const DISCOVER_WHILE_WANTING: Duration = Duration::from_secs(2);
/// How often to ask otherwise (to learn replacements before they are needed).
const DISCOVER_OTHERWISE: Duration = Duration::from_secs(30);
/// Members asked for per discovery.
const DISCOVER_LIMIT: u64 = 100;

/// The tab's membership of its swarm.
pub(crate) struct Membership {
    mesh: Mesh,
    namespace: rendezvous::Namespace,
    next_registration: Duration,
    next_discovery: Duration,
}

impl Membership {
    /// Membership of `swarm` for the tab `local`; the error names a bad swarm name.
    pub(crate) fn new(local: PeerId, swarm: &str, config: MeshConfig) -> Result<Self, String> {
        let namespace = rendezvous::Namespace::new(swarm.to_owned())
            .map_err(|e| format!("invalid swarm name {swarm:?}: {e}"))?;
        Ok(Self {
            mesh: Mesh::new(local, config),
            namespace,
            next_registration: Duration::ZERO,
            next_discovery: Duration::ZERO,
        })
    }

    /// Registers and discovers at the next chance (after moving to another server).
    pub(crate) fn renew_now(&mut self) {
        self.next_registration = Duration::ZERO;
        self.next_discovery = Duration::ZERO;
    }
}

impl TabNode {
    /// Registers and discovers when due, then starts the dials the mesh asks for. Called on a
    /// timer and after membership events.
    pub(crate) fn drive_membership(&mut self) {
        let Some(server_addr) = self.server_addr.clone() else {
            return;
        };
        let server = self.state.borrow().server;
        let now = now();
        if now >= self.membership.next_registration {
            if self.swarm.external_addresses().next().is_none() {
                // What other tabs dial: <server>/p2p-circuit/webrtc/p2p/<us>.
                self.swarm.add_external_address(
                    server_addr
                        .with(Protocol::P2pCircuit)
                        .with(Protocol::WebRTC),
                );
            }
            let namespace = self.membership.namespace.clone();
            let rendezvous = &mut self.swarm.behaviour_mut().rendezvous;
            if let Err(e) = rendezvous.register(namespace, server, Some(REGISTRATION_TTL)) {
                tracing::warn!("cannot register in the swarm: {e}");
            }
            self.membership.next_registration = now + Duration::from_secs(REGISTRATION_TTL / 2);
        }
        if now >= self.membership.next_discovery {
            let namespace = Some(self.membership.namespace.clone());
            self.swarm.behaviour_mut().rendezvous.discover(
                namespace,
                None,
                Some(DISCOVER_LIMIT),
                server,
            );
            let wait = if self.membership.mesh.wants_peers() {
                DISCOVER_WHILE_WANTING
            } else {
                DISCOVER_OTHERWISE
            };
            self.membership.next_discovery = now + wait;
        }
        while let Some(action) = self.membership.mesh.poll_action(now) {
            match action {
                MeshAction::Dial(peer) => self.connect(peer, Waiter::Mesh),
                MeshAction::Drop(peer) => {
                    for id in self.state.borrow().links(peer, TransportKind::WebRtc) {
                        self.swarm.close_connection(id);
                    }
                }
            }
        }
    }

    /// Updates the mesh from discovery and connection events.
    pub(crate) fn observe_membership(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        let now = now();
        match event {
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::Discovered { registrations, .. },
            )) => {
                let ours = registrations
                    .iter()
                    .filter(|r| r.namespace == self.membership.namespace);
                for registration in ours {
                    self.membership
                        .mesh
                        .discovered(registration.record.peer_id(), now);
                }
            }
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::RegisterFailed {
                    error, namespace, ..
                },
            )) => tracing::warn!(?error, %namespace, "registration refused"),
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } if super::direct_links::connection_kind(endpoint) == TransportKind::WebRtc => {
                let before = self.membership.mesh.neighbours().count();
                self.membership.mesh.connected(*peer_id, now);
                if self.membership.mesh.neighbours().count() > before {
                    let direction = if endpoint.is_dialer() {
                        "outbound"
                    } else {
                        "inbound"
                    };
                    dispatch(
                        &self.events,
                        "neighbour",
                        &json!({ "peer": peer_id.to_string(), "direction": direction }),
                    );
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, .. }
                if self
                    .state
                    .borrow()
                    .links(*peer_id, TransportKind::WebRtc)
                    .is_empty()
                    && self.membership.mesh.neighbours().any(|p| p == peer_id) =>
            {
                self.membership.mesh.disconnected(*peer_id, now);
                dispatch(
                    &self.events,
                    "neighbourgone",
                    &json!({ "peer": peer_id.to_string() }),
                );
            }
            _ => return,
        }
        self.drive_membership();
    }

    /// The mesh's own dial to `peer` ended.
    pub(crate) fn mesh_dial_finished(&mut self, peer: PeerId, ok: bool) {
        if !ok {
            self.membership.mesh.dial_failed(peer, now());
        }
    }
}
