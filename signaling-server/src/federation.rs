//! Discovery across servers, sans-IO. A tab asks its own server who is in a namespace; the
//! server answers with its own registrations and those held by the other servers that announce
//! the namespace in the servers' Kademlia DHT. The first question about a namespace starts a
//! lookup (DHT providers, then a rendezvous DISCOVER at each); its answer is kept for a short
//! while so that a busy namespace costs the other servers one question per [`FRESH_FOR`].

use libp2p::{
    rendezvous::{Namespace, Registration},
    PeerId,
};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How long other servers' registrations are reused before asking again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);
/// Longest a tab's question waits for the other servers; then it is answered with what came.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(800);
/// Answers kept (fresh or not) are dropped this long after they were fetched.
const KEEP_FOR: Duration = Duration::from_secs(60);
/// Lookups in flight at once; past it, questions are answered with local registrations only.
const MAX_LOOKUPS: usize = 1024;

/// What to do with a new question.
#[derive(Debug, PartialEq)]
pub enum Asked<W> {
    /// Answer now with these registrations from other servers.
    Answer(W, Vec<Registration>),
    /// Start a DHT lookup of the namespace's providers; the question waits.
    LookUp,
    /// A lookup is already under way; the question waits for it.
    Wait,
}

/// A finished lookup: the questions it answers and what the other servers hold.
#[derive(Debug, PartialEq)]
pub struct Done<W> {
    /// The namespace looked up.
    pub namespace: Namespace,
    /// The questions waiting for it.
    pub waiters: Vec<W>,
    /// Registrations held by other servers.
    pub remote: Vec<Registration>,
}

struct Lookup<W> {
    waiters: Vec<W>,
    asked: HashSet<PeerId>,
    providers_known: bool,
    found: Vec<Registration>,
    deadline: Duration,
}

/// Lookups in flight and recent answers, by namespace.
pub struct Federation<W> {
    lookups: HashMap<Namespace, Lookup<W>>,
    answers: HashMap<Namespace, (Vec<Registration>, Duration)>,
}

impl<W> Default for Federation<W> {
    fn default() -> Self {
        Self {
            lookups: HashMap::new(),
            answers: HashMap::new(),
        }
    }
}

impl<W> Federation<W> {
    /// Lookups in flight.
    pub fn lookups(&self) -> usize {
        self.lookups.len()
    }

    /// Answers kept.
    pub fn answers(&self) -> usize {
        self.answers.len()
    }

    /// A tab's question about `namespace`.
    pub fn ask(&mut self, namespace: &Namespace, waiter: W, now: Duration) -> Asked<W> {
        if let Some(lookup) = self.lookups.get_mut(namespace) {
            lookup.waiters.push(waiter);
            return Asked::Wait;
        }
        match self.answers.get(namespace) {
            Some((remote, fetched)) if now.saturating_sub(*fetched) < FRESH_FOR => {
                Asked::Answer(waiter, remote.clone())
            }
            _ if self.lookups.len() >= MAX_LOOKUPS => {
                let stale = self
                    .answers
                    .get(namespace)
                    .map(|(remote, _)| remote.clone());
                Asked::Answer(waiter, stale.unwrap_or_default())
            }
            _ => {
                self.lookups.insert(
                    namespace.clone(),
                    Lookup {
                        waiters: vec![waiter],
                        asked: HashSet::new(),
                        providers_known: false,
                        found: Vec::new(),
                        deadline: now + ANSWER_WITHIN,
                    },
                );
                Asked::LookUp
            }
        }
    }

    /// The DHT named these providers of `namespace`; returns the servers to ask (each once).
    pub fn providers_found(
        &mut self,
        namespace: &Namespace,
        providers: impl IntoIterator<Item = PeerId>,
    ) -> Vec<PeerId> {
        let Some(lookup) = self.lookups.get_mut(namespace) else {
            return Vec::new();
        };
        providers
            .into_iter()
            .filter(|server| lookup.asked.insert(*server))
            .collect()
    }

    /// The DHT lookup ended; done when every server asked has answered.
    pub fn providers_complete(&mut self, namespace: &Namespace, now: Duration) -> Option<Done<W>> {
        let lookup = self.lookups.get_mut(namespace)?;
        lookup.providers_known = true;
        self.finish_if_answered(namespace, now)
    }

    /// `server` answered (with its registrations, or an error as `None`).
    pub fn server_answered(
        &mut self,
        namespace: &Namespace,
        server: PeerId,
        registrations: Option<Vec<Registration>>,
        now: Duration,
    ) -> Option<Done<W>> {
        let lookup = self.lookups.get_mut(namespace)?;
        if !lookup.asked.remove(&server) {
            return None;
        }
        lookup.found.extend(registrations.unwrap_or_default());
        self.finish_if_answered(namespace, now)
    }

    /// Lookups past their deadline, answered with what came; old answers forgotten.
    pub fn overdue(&mut self, now: Duration) -> Vec<Done<W>> {
        self.answers
            .retain(|_, (_, fetched)| now.saturating_sub(*fetched) < KEEP_FOR);
        let late: Vec<Namespace> = self
            .lookups
            .iter()
            .filter(|(_, lookup)| lookup.deadline <= now)
            .map(|(namespace, _)| namespace.clone())
            .collect();
        late.into_iter()
            .filter_map(|namespace| self.finish(&namespace, now))
            .collect()
    }

    fn finish_if_answered(&mut self, namespace: &Namespace, now: Duration) -> Option<Done<W>> {
        let lookup = self.lookups.get(namespace)?;
        if lookup.providers_known && lookup.asked.is_empty() {
            self.finish(namespace, now)
        } else {
            None
        }
    }

    fn finish(&mut self, namespace: &Namespace, now: Duration) -> Option<Done<W>> {
        let lookup = self.lookups.remove(namespace)?;
        self.answers
            .insert(namespace.clone(), (lookup.found.clone(), now));
        Some(Done {
            namespace: namespace.clone(),
            waiters: lookup.waiters,
            remote: lookup.found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::{core::PeerRecord, identity::Keypair};

    fn registration(ns: &Namespace) -> Registration {
        let addr = "/ip4/10.0.0.2/tcp/4001/ws".parse().expect("valid");
        let record = PeerRecord::new(&Keypair::generate_ed25519(), vec![addr]).expect("signs");
        Registration {
            namespace: ns.clone(),
            record,
            ttl: 60,
        }
    }

    const T0: Duration = Duration::from_secs(100);

    #[test]
    fn questions_share_one_lookup_and_its_answer_is_reused_while_fresh() {
        let ns = Namespace::from_static("swarm");
        let mut federation = Federation::default();
        assert_eq!(federation.ask(&ns, 1, T0), Asked::LookUp);
        assert_eq!(federation.ask(&ns, 2, T0), Asked::Wait);
        let (x, y) = (PeerId::random(), PeerId::random());
        assert_eq!(federation.providers_found(&ns, [x, y]), vec![x, y]);
        // A provider named twice is asked once.
        assert_eq!(federation.providers_found(&ns, [x]), Vec::<PeerId>::new());
        let at_x = registration(&ns);
        assert_eq!(
            federation.server_answered(&ns, x, Some(vec![at_x.clone()]), T0),
            None
        );
        assert_eq!(federation.providers_complete(&ns, T0), None);
        let done = federation
            .server_answered(&ns, y, None, T0)
            .expect("all answered");
        assert_eq!(done.waiters, vec![1, 2]);
        assert_eq!(done.remote, vec![at_x.clone()]);
        let soon = T0 + FRESH_FOR / 2;
        assert_eq!(federation.ask(&ns, 3, soon), Asked::Answer(3, vec![at_x]));
        assert_eq!(federation.ask(&ns, 4, T0 + FRESH_FOR), Asked::LookUp);
    }

    #[test]
    fn a_silent_server_delays_the_answer_only_until_the_deadline() {
        let ns = Namespace::from_static("swarm/c/ab");
        let mut federation = Federation::default();
        assert_eq!(federation.ask(&ns, 1, T0), Asked::LookUp);
        let silent = PeerId::random();
        federation.providers_found(&ns, [silent]);
        assert_eq!(federation.providers_complete(&ns, T0), None);
        assert!(federation.overdue(T0 + ANSWER_WITHIN / 2).is_empty());
        let done = federation.overdue(T0 + ANSWER_WITHIN);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].waiters, vec![1]);
        assert!(done[0].remote.is_empty());
        // Its late answer is ignored.
        let late = registration(&ns);
        assert_eq!(
            federation.server_answered(&ns, silent, Some(vec![late]), T0),
            None
        );
    }

    #[test]
    fn no_provider_answers_at_once() {
        let ns = Namespace::from_static("lonely");
        let mut federation = Federation::default();
        assert_eq!(federation.ask(&ns, 1, T0), Asked::LookUp);
        let done = federation
            .providers_complete(&ns, T0)
            .expect("nobody to ask");
        assert_eq!(done.waiters, vec![1]);
    }
}
