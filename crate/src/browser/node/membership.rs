//! Carrying out the tab's [`Membership`](crate::net::membership::Membership) with the swarm:
//! rendezvous registrations and discoveries at the home server, mesh dials and drops, and the
//! `neighbour` / `neighbourgone` events.

use crate::browser::js::clock::now;
use crate::browser::js::events::dispatch;
use crate::browser::node::behaviour::TabBehaviourEvent;
use crate::browser::node::command::DialWaiter;
use crate::browser::node::tab_node::TabNode;
use crate::net::membership::MembershipAction;
use crate::net::mesh::MeshAction;
use crate::net::transport_kind::TransportKind;
use libp2p::{multiaddr::Protocol, rendezvous, swarm::SwarmEvent};
use serde_json::json;

impl TabNode {
    /// Does what membership asks at this moment. Called on a timer and after membership events.
    pub(crate) fn drive_membership(&mut self) {
        let Some(server_addr) = self.server_addr.clone() else {
            return;
        };
        let server = self.state.borrow().server;
        let now = now();
        while let Some(action) = self.membership.poll_action(now) {
            tracing::debug!(?action, "membership");
            match action {
                MembershipAction::Register { ttl } => {
                    if self.swarm.external_addresses().next().is_none() {
                        // What other tabs dial: <server>/p2p-circuit/webrtc/p2p/<us>.
                        self.swarm.add_external_address(
                            server_addr
                                .clone()
                                .with(Protocol::P2pCircuit)
                                .with(Protocol::WebRTC),
                        );
                    }
                    let Some(namespace) = self.namespace(self.membership.swarm()) else {
                        continue;
                    };
                    let rendezvous = &mut self.swarm.behaviour_mut().rendezvous;
                    if let Err(e) = rendezvous.register(namespace, server, Some(ttl)) {
                        tracing::warn!("cannot register in the swarm: {e}");
                    }
                }
                MembershipAction::Discover { limit } => {
                    let namespace = self.namespace(self.membership.swarm());
                    if namespace.is_some() {
                        let rendezvous = &mut self.swarm.behaviour_mut().rendezvous;
                        rendezvous.discover(namespace, None, Some(limit), server);
                    }
                }
                MembershipAction::Mesh(MeshAction::Dial(peer)) => {
                    self.connect(peer, DialWaiter::Mesh)
                }
                MembershipAction::Mesh(MeshAction::Drop(peer)) => {
                    let links = self.state.borrow().links(peer, TransportKind::WebRtc);
                    for id in links {
                        self.close_link(peer, id);
                    }
                }
            }
        }
    }

    /// `name` as a rendezvous namespace (checked when the membership was made).
    pub(crate) fn namespace(&self, name: &str) -> Option<rendezvous::Namespace> {
        rendezvous::Namespace::new(name.to_owned())
            .inspect_err(|e| tracing::warn!("invalid namespace {name:?}: {e}"))
            .ok()
    }

    /// Updates membership from discovery and connection events.
    pub(crate) fn observe_membership(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        let now = now();
        match event {
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::Discovered { registrations, .. },
            )) => {
                tracing::debug!(members = registrations.len(), "discovered");
                let swarm = self.membership.swarm().to_owned();
                let members = registrations
                    .iter()
                    .filter(|r| r.namespace.to_string() == swarm)
                    .map(|r| r.record.peer_id());
                self.membership.discovered(members, now);
            }
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::RegisterFailed {
                    error, namespace, ..
                },
            )) => tracing::warn!(?error, %namespace, "registration refused"),
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } if TransportKind::of_endpoint(endpoint) == TransportKind::WebRtc => {
                if self.membership.connected(*peer_id, now) {
                    self.swarm.behaviour_mut().neighbours.keep(*peer_id);
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
                    .is_empty() =>
            {
                if self.membership.disconnected(*peer_id, now) {
                    self.swarm.behaviour_mut().neighbours.release(*peer_id);
                    dispatch(
                        &self.events,
                        "neighbourgone",
                        &json!({ "peer": peer_id.to_string() }),
                    );
                }
            }
            _ => return,
        }
        self.drive_membership();
    }
}
