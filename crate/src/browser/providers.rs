//! Content providers: a tab that holds pieces of a resource registers at the server under the
//! resource's rendezvous namespace (`<swarm>/c/<hash>`), and a tab that wants it discovers who
//! registered there. The same rendezvous service as swarm membership, one namespace per resource.

use super::{behaviour::TabBehaviourEvent, clock::now, tab_node::TabNode};
use crate::content::content_id::ContentId;
use futures::channel::oneshot;
use libp2p::{rendezvous, swarm::SwarmEvent, PeerId};
use std::collections::HashMap;
use std::time::Duration;

/// Seconds a provider registration lasts on the server; renewed at half that.
const PROVIDER_TTL: u64 = 120;
/// A lookup not answered within this long is sent again.
const LOOKUP_RETRY: Duration = Duration::from_secs(5);
/// Providers asked for per lookup.
const LOOKUP_LIMIT: u64 = 50;

/// Someone waiting for a lookup's answer.
pub(crate) type ProvidersReply = oneshot::Sender<Result<Vec<PeerId>, String>>;

/// The resources this tab announces and the lookups in flight.
#[derive(Default)]
pub(crate) struct Providers {
    /// Announced namespaces and when to renew each.
    provided: HashMap<rendezvous::Namespace, Duration>,
    /// Lookups in flight: who waits, and when the question was sent.
    lookups: HashMap<rendezvous::Namespace, (Vec<ProvidersReply>, Duration)>,
}

impl Providers {
    /// Registers every announced resource at the next chance (after moving to another server).
    pub(crate) fn renew_now(&mut self) {
        for next in self.provided.values_mut() {
            *next = Duration::ZERO;
        }
    }
}

/// The rendezvous namespace of `id` within `swarm`.
fn namespace(swarm: &str, id: &ContentId) -> Result<rendezvous::Namespace, String> {
    let name = format!("{swarm}/c/{}", id.hash().to_hex());
    rendezvous::Namespace::new(name).map_err(|e| format!("swarm name too long for content: {e}"))
}

impl TabNode {
    /// Starts announcing that this tab serves `id`.
    pub(crate) fn provide(&mut self, id: &ContentId) {
        let namespace = namespace(&self.state.borrow().swarm, id);
        match namespace {
            Ok(namespace) => {
                self.providers.provided.insert(namespace, Duration::ZERO);
                self.renew_provider_records();
            }
            Err(e) => tracing::warn!("cannot provide {id}: {e}"),
        }
    }

    /// Stops announcing `id`.
    pub(crate) fn unprovide(&mut self, id: &ContentId) {
        let namespace = namespace(&self.state.borrow().swarm, id);
        let Ok(namespace) = namespace else {
            return;
        };
        if self.providers.provided.remove(&namespace).is_some() {
            let server = self.state.borrow().server;
            self.swarm
                .behaviour_mut()
                .rendezvous
                .unregister(namespace, server);
        }
    }

    /// Asks the server which tabs serve `id`.
    pub(crate) fn find_providers(&mut self, id: &ContentId, reply: ProvidersReply) {
        let namespace = namespace(&self.state.borrow().swarm, id);
        let namespace = match namespace {
            Ok(namespace) => namespace,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let now = now();
        let (waiting, asked) = self
            .providers
            .lookups
            .entry(namespace.clone())
            .or_insert_with(|| (Vec::new(), now));
        waiting.push(reply);
        // A question unanswered for long is asked again rather than waited on forever.
        if waiting.len() == 1 || now.saturating_sub(*asked) > LOOKUP_RETRY {
            *asked = now;
            let server = self.state.borrow().server;
            self.swarm.behaviour_mut().rendezvous.discover(
                Some(namespace),
                None,
                Some(LOOKUP_LIMIT),
                server,
            );
        }
    }

    /// Registers the namespaces that are due. Called on the tab's timer.
    pub(crate) fn renew_provider_records(&mut self) {
        let server = self.state.borrow().server;
        let now = now();
        for (namespace, next) in &mut self.providers.provided {
            if *next > now {
                continue;
            }
            let rendezvous = &mut self.swarm.behaviour_mut().rendezvous;
            if let Err(e) = rendezvous.register(namespace.clone(), server, Some(PROVIDER_TTL)) {
                tracing::warn!(%namespace, "cannot register as provider: {e}");
            }
            *next = now + Duration::from_secs(PROVIDER_TTL / 2);
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
                (namespace.clone(), Ok(peers))
            }
            SwarmEvent::Behaviour(TabBehaviourEvent::Rendezvous(
                rendezvous::client::Event::DiscoverFailed {
                    namespace: Some(namespace),
                    error,
                    ..
                },
            )) => (
                namespace.clone(),
                Err(format!("provider lookup refused: {error:?}")),
            ),
            _ => return,
        };
        let (waiting, _) = self
            .providers
            .lookups
            .remove(&namespace)
            .unwrap_or_default();
        for reply in waiting {
            let _ = reply.send(answer.clone());
        }
    }
}
