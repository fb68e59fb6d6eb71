//! Driving [`DirectDials`](crate::direct_dial::DirectDials) with the swarm: relayed dial, then
//! the `/webrtc` dial, then the relayed connection closed; duplicate direct links resolved.

use super::{behaviour::TabBehaviourEvent, tab_node::TabNode};
use crate::{
    bootstrap::peer_of,
    direct_dial::{Links, Step},
    error_chain::error_chain,
    transport_kind::TransportKind,
};
use futures::channel::oneshot;
use libp2p::{
    core::ConnectedPoint,
    multiaddr::Protocol,
    rendezvous,
    swarm::{
        dial_opts::{DialOpts, PeerCondition},
        ConnectionId, SwarmEvent,
    },
    Multiaddr, PeerId,
};
use std::collections::{HashMap, VecDeque};

/// Tabs remembered as attached to another server; past it the book starts afresh.
const MAX_RELAYS_KNOWN: usize = 10_000;

/// The server each tab attached elsewhere is reached through (`<server addr>/p2p/<server>`),
/// learned from its signed registration. Tabs of our own server are reached through ours.
pub(crate) type RelayBook = HashMap<PeerId, Multiaddr>;

/// Who waits for a direct-connection attempt.
pub(crate) enum Waiter {
    /// A `peer.connect()` promise.
    Page(oneshot::Sender<Result<(), String>>),
    /// The mesh, which wants to hear about failures.
    Mesh,
}

impl TabNode {
    /// Learns from discovered registrations which server relays to each tab.
    pub(crate) fn learn_relays(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        let SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
            rendezvous::client::Event::Discovered { registrations, .. },
        )) = event
        else {
            return;
        };
        let home = self.state.borrow().server;
        if self.relays.len() > MAX_RELAYS_KNOWN {
            self.relays.clear();
        }
        for registration in registrations {
            let peer = registration.record.peer_id();
            let relay = registration.record.addresses().iter().find_map(relay_of);
            match relay {
                Some(relay) if peer_of(&relay) != Some(home) => {
                    self.relays.insert(peer, relay);
                }
                _ => {
                    self.relays.remove(&peer);
                }
            }
        }
    }

    /// Starts (or joins) a direct connection attempt to `peer`.
    pub(crate) fn connect(&mut self, peer: PeerId, waiter: Waiter) {
        let Some(server_addr) = self.server_addr.clone() else {
            if let Waiter::Page(reply) = waiter {
                let _ = reply.send(Err("not joined".into()));
            }
            return;
        };
        let links = self.links_to(peer);
        let steps = self.direct_dials.request(peer, links, waiter);
        self.run_steps(&server_addr, steps);
    }

    /// Feeds connection events to the attempts in progress; closes what a direct link replaces.
    pub(crate) fn advance_direct_dials(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        let Some(server_addr) = self.server_addr.clone() else {
            return;
        };
        let steps = match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                let transport = connection_kind(endpoint);
                if transport == TransportKind::WebRtc {
                    self.close_redundant_links(*peer_id, *connection_id, endpoint.is_dialer());
                }
                self.direct_dials.established(*peer_id, transport)
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                connection_id,
                error,
            } => self
                .direct_dials
                .failed(*peer, Some(*connection_id), &error_chain(error)),
            _ => Vec::new(),
        };
        self.run_steps(&server_addr, steps);
    }

    /// A new direct link to `peer` makes relayed links to it useless; and when both tabs dialed
    /// each other at once, the link dialed by the tab with the larger peer id is closed (both
    /// tabs pick the same one).
    fn close_redundant_links(&mut self, peer: PeerId, new: ConnectionId, we_dialed: bool) {
        let (relayed, direct) = {
            let state = self.state.borrow();
            let direct: Vec<_> = state
                .connections
                .iter()
                .filter(|(id, c)| {
                    c.peer == peer && c.transport == TransportKind::WebRtc && **id != new
                })
                .map(|(id, c)| (*id, c.direction == "outbound"))
                .collect();
            (state.links(peer, TransportKind::Relay), direct)
        };
        for id in relayed {
            self.swarm.close_connection(id);
        }
        // Keep the link dialed by the smaller peer id.
        let keep_ours = *self.swarm.local_peer_id() < peer;
        for (old, old_we_dialed) in direct {
            let new_is_keeper = we_dialed == keep_ours;
            let old_is_keeper = old_we_dialed == keep_ours;
            let loser = if new_is_keeper || !old_is_keeper {
                old
            } else {
                new
            };
            self.swarm.close_connection(loser);
        }
    }

    /// Carries out dial steps; a dial that cannot start fails its attempt at once.
    fn run_steps(&mut self, server_addr: &Multiaddr, steps: Vec<Step<Waiter>>) {
        let mut queue: VecDeque<_> = steps.into();
        while let Some(step) = queue.pop_front() {
            let (peer, addr) = match step {
                Step::Resolve(peer, waiters, result) => {
                    if result.is_err() {
                        // The relayed connection was only for signaling: do not hold a circuit
                        // on the server for a link that did not come up.
                        let relayed = self.state.borrow().links(peer, TransportKind::Relay);
                        for relayed in relayed {
                            self.swarm.close_connection(relayed);
                        }
                    }
                    for waiter in waiters {
                        match waiter {
                            Waiter::Page(reply) => {
                                let _ = reply.send(result.clone());
                            }
                            Waiter::Mesh => self.mesh_dial_finished(peer, result.is_ok()),
                        }
                    }
                    continue;
                }
                Step::DialRelayed(peer) => {
                    (peer, relayed_addr(self.relay_to(peer, server_addr), peer))
                }
                Step::DialWebRtc(peer) => {
                    (peer, webrtc_addr(self.relay_to(peer, server_addr), peer))
                }
            };
            let opts = DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(PeerCondition::Always)
                .build();
            let connection = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => self.direct_dials.dialed(peer, connection),
                Err(e) => queue.extend(self.direct_dials.failed(peer, None, &error_chain(&e))),
            }
        }
    }

    /// The server through which `peer` is reached: its own, if attached elsewhere.
    fn relay_to<'a>(&'a self, peer: PeerId, server_addr: &'a Multiaddr) -> &'a Multiaddr {
        self.relays.get(&peer).unwrap_or(server_addr)
    }

    fn links_to(&self, peer: PeerId) -> Links {
        let state = self.state.borrow();
        Links {
            direct: !state.links(peer, TransportKind::WebRtc).is_empty(),
            relayed: !state.links(peer, TransportKind::Relay).is_empty(),
        }
    }
}

/// How a connection runs, from both of its addresses.
pub(crate) fn connection_kind(endpoint: &ConnectedPoint) -> TransportKind {
    let local = match endpoint {
        ConnectedPoint::Listener { local_addr, .. } => Some(local_addr),
        ConnectedPoint::Dialer { .. } => None,
    };
    TransportKind::of_connection(local, endpoint.get_remote_address())
}

/// The relay part of a relayed address (`<relay addr>/p2p/<relay>` before `/p2p-circuit`).
fn relay_of(addr: &Multiaddr) -> Option<Multiaddr> {
    let mut relay = Multiaddr::empty();
    for protocol in addr.iter() {
        if protocol == Protocol::P2pCircuit {
            return peer_of(&relay).map(|_| relay);
        }
        relay.push(protocol);
    }
    None
}

/// `<server>/p2p-circuit/webrtc/p2p/<peer>`: a direct connection signalled through the relay.
fn webrtc_addr(server_addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    server_addr
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::WebRTC)
        .with(Protocol::P2p(peer))
}

/// `<server>/p2p-circuit/p2p/<peer>`: `peer` reached through the server's relay.
fn relayed_addr(server_addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    server_addr
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(peer))
}
