//! Driving [`DirectDials`](crate::net::direct_dial::DirectDials) with the swarm: relayed dial, then
//! the `/webrtc` dial, then the relayed connection closed; duplicate direct links resolved.

use crate::browser::js::clock::now;
use crate::browser::node::behaviour::TabBehaviourEvent;
use crate::browser::node::command::DialWaiter;
use crate::browser::node::tab_node::TabNode;
use crate::net::direct_dial::{redundant_direct_links, Links, Step};
use crate::net::transport_kind::TransportKind;
use crate::util::error_chain::dial_error_text;
use libp2p::{
    multiaddr::Protocol,
    rendezvous,
    swarm::{
        dial_opts::{DialOpts, PeerCondition},
        ConnectionId, SwarmEvent,
    },
    Multiaddr, PeerId,
};
use std::collections::VecDeque;

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
        for registration in registrations {
            let record = &registration.record;
            self.relays
                .learn(record.peer_id(), record.addresses(), home);
        }
        self.ask_network_if_due();
    }

    /// Starts (or joins) a direct connection attempt to `peer`.
    pub(crate) fn connect(&mut self, peer: PeerId, waiter: DialWaiter) {
        if self.server_addr.is_none() {
            if let DialWaiter::Page(reply) = waiter {
                let _ = reply.send(Err("not joined".into()));
            }
            return;
        }
        if matches!(waiter, DialWaiter::Page(_)) {
            // A link for a download or the page: the mesh must not count or drop it.
            self.membership.pin(peer);
        }
        let links = self.links_to(peer);
        let steps = self.direct_dials.request(peer, links, waiter);
        self.run_steps(steps);
    }

    /// Feeds connection events to the attempts in progress; closes what a direct link replaces.
    pub(crate) fn advance_direct_dials(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        let steps = match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                let transport = TransportKind::of_endpoint(endpoint);
                if transport == TransportKind::WebRtc {
                    self.close_redundant_links(*peer_id, *connection_id, endpoint.is_dialer());
                }
                self.direct_dials
                    .established(*peer_id, *connection_id, transport)
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                let links = self.links_to(*peer_id);
                self.direct_dials.closed(*peer_id, *connection_id, links)
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                connection_id,
                error,
            } => self
                .direct_dials
                .failed(*peer, Some(*connection_id), &dial_error_text(error)),
            _ => Vec::new(),
        };
        self.run_steps(steps);
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
        let local = *self.swarm.local_peer_id();
        let losers = redundant_direct_links(local, peer, (new, we_dialed), &direct);
        for id in relayed {
            self.close_link(peer, id);
        }
        for id in losers {
            self.direct_dials.duplicate(peer, id, now());
        }
    }

    /// Closes the duplicate direct links whose grace is over.
    pub(crate) fn close_duplicates(&mut self) {
        for (_, connection) in self.direct_dials.due_duplicates(now()) {
            self.swarm.close_connection(connection);
        }
    }

    /// Closes `connection` to `peer`, telling the dials to wait until it is gone.
    pub(crate) fn close_link(&mut self, peer: PeerId, connection: ConnectionId) {
        if self.swarm.close_connection(connection) {
            self.direct_dials.closing(peer, connection);
        }
    }

    /// Carries out dial steps; a dial that cannot start (no server to signal through, while
    /// moving home) fails its attempt at once.
    fn run_steps(&mut self, steps: Vec<Step<DialWaiter>>) {
        let mut queue: VecDeque<_> = steps.into();
        while let Some(step) = queue.pop_front() {
            let (peer, addr) = match step {
                Step::Resolve(peer, waiters, result) => {
                    if result.is_err() {
                        // The relayed connection was only for signaling: do not hold a circuit
                        // on the server for a link that did not come up.
                        let relayed = self.state.borrow().links(peer, TransportKind::Relay);
                        for relayed in relayed {
                            self.close_link(peer, relayed);
                        }
                    }
                    for waiter in waiters {
                        match waiter {
                            DialWaiter::Page(reply) => {
                                if result.is_err() {
                                    self.membership.unpin(&peer);
                                }
                                let _ = reply.send(result.clone());
                            }
                            DialWaiter::Mesh => {
                                tracing::debug!(%peer, ?result, "mesh dial finished");
                                self.membership.dial_finished(peer, result.is_ok(), now())
                            }
                        }
                    }
                    continue;
                }
                Step::DialRelayed(peer) | Step::DialWebRtc(peer) => {
                    let Some(relay) = self.relay_to(peer) else {
                        queue.extend(self.direct_dials.failed(
                            peer,
                            None,
                            "no server to signal through",
                        ));
                        continue;
                    };
                    let addr = match step {
                        Step::DialRelayed(_) => relayed_addr(relay, peer),
                        _ => webrtc_addr(relay, peer),
                    };
                    (peer, addr)
                }
            };
            let opts = DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(PeerCondition::Always)
                .build();
            let connection = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => self.direct_dials.dialed(peer, connection),
                Err(e) => queue.extend(self.direct_dials.failed(peer, None, &dial_error_text(&e))),
            }
        }
    }

    /// The server through which `peer` is reached: its own, if attached elsewhere, else ours.
    fn relay_to(&self, peer: PeerId) -> Option<&Multiaddr> {
        self.relays.relay_for(&peer).or(self.server_addr.as_ref())
    }

    /// The links to `peer` that are not closing.
    fn links_to(&self, peer: PeerId) -> Links {
        let state = self.state.borrow();
        let open = |kind| {
            state
                .links(peer, kind)
                .into_iter()
                .any(|id| !self.direct_dials.is_closing(peer, id))
        };
        Links {
            direct: open(TransportKind::WebRtc),
            relayed: open(TransportKind::Relay),
        }
    }
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
