//! Carrying out the tab's [`ProviderRecords`](crate::net::providers::ProviderRecords) with the
//! swarm: provider registrations and lookups at the home server, and answering whoever waits.

use crate::browser::js::clock::now;
use crate::browser::node::behaviour::TabBehaviourEvent;
use crate::browser::node::command::ProvidersReply;
use crate::browser::node::tab_node::TabNode;
use crate::content::content_id::ContentId;
use crate::net::providers::ProviderAction;
use libp2p::{rendezvous, swarm::SwarmEvent, PeerId};

impl TabNode {
    /// Starts announcing that this tab serves `id`.
    pub(crate) fn provide(&mut self, id: &ContentId) {
        if let Err(e) = self.providers.provide(id, now()) {
            tracing::warn!("cannot provide {id}: {e}");
        }
        self.carry_out_provider_actions();
    }

    /// Stops announcing `id`.
    pub(crate) fn unprovide(&mut self, id: &ContentId) {
        self.providers.unprovide(id);
        self.carry_out_provider_actions();
    }

    /// Asks the server which tabs serve `id`.
    pub(crate) fn find_providers(&mut self, id: &ContentId, reply: ProvidersReply) {
        match self.providers.find(id, reply, now()) {
            Ok(()) => self.carry_out_provider_actions(),
            Err((e, reply)) => {
                let _ = reply.send(Err(e.to_string()));
            }
        }
    }

    /// Registers the namespaces that are due. Called on the tab's timer.
    pub(crate) fn renew_provider_records(&mut self) {
        self.providers.renew_due(now());
        self.carry_out_provider_actions();
    }

    fn carry_out_provider_actions(&mut self) {
        let server = self.state.borrow().server;
        while let Some(action) = self.providers.poll_action() {
            match action {
                ProviderAction::Register { namespace, ttl } => {
                    let Some(ns) = self.namespace(&namespace) else {
                        continue;
                    };
                    tracing::debug!(%namespace, "registering as provider");
                    let rendezvous = &mut self.swarm.behaviour_mut().rendezvous;
                    if let Err(e) = rendezvous.register(ns, server, Some(ttl)) {
                        tracing::warn!(%namespace, "cannot register as provider: {e}");
                    }
                }
                ProviderAction::Unregister(namespace) => {
                    if let Some(ns) = self.namespace(&namespace) {
                        self.swarm.behaviour_mut().rendezvous.unregister(ns, server);
                    }
                }
                ProviderAction::Discover { namespace, limit } => {
                    let ns = self.namespace(&namespace);
                    if ns.is_some() {
                        let rendezvous = &mut self.swarm.behaviour_mut().rendezvous;
                        rendezvous.discover(ns, None, Some(limit), server);
                    }
                }
            }
        }
    }

    /// Answers lookups from discovery results.
    pub(crate) fn observe_providers(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        let local = *self.swarm.local_peer_id();
        let (namespace, answer) = match event {
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::Discovered {
                    registrations,
                    cookie,
                    ..
                },
            )) => {
                let Some(namespace) = cookie.namespace() else {
                    return;
                };
                let peers: Vec<PeerId> = registrations
                    .iter()
                    .map(|r| r.record.peer_id())
                    .filter(|peer| *peer != local)
                    .collect();
                (namespace.to_string(), Ok(peers))
            }
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::DiscoverFailed {
                    namespace: Some(namespace),
                    error,
                    ..
                },
            )) => (
                namespace.to_string(),
                Err(format!("provider lookup refused: {error:?}")),
            ),
            _ => return,
        };
        for reply in self.providers.answered(&namespace) {
            let _ = reply.send(answer.clone());
        }
    }
}
