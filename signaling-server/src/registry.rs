//! The registrations this server holds (rendezvous): which tab registered under which namespace
//! (its swarm, or a resource it provides), with its signed peer record, until its TTL runs out.
//! Bounded in total and per tab; sans-IO (the caller passes the time).

use libp2p::{
    core::PeerRecord,
    rendezvous::{ErrorCode, Namespace, Registration, Ttl},
    PeerId,
};
use rand::seq::{IteratorRandom, SliceRandom};
use std::collections::HashMap;
use std::time::Duration;

/// TTL of a registration that names none (the protocol's default: 2 hours).
const DEFAULT_TTL: Ttl = 2 * 60 * 60;
/// Longest TTL granted (the protocol's maximum: 72 hours).
const MAX_TTL: Ttl = 72 * 60 * 60;

/// Bounds on what the registry holds.
#[derive(Debug, Clone, Copy)]
pub struct RegistryLimits {
    /// Registrations held at once, over all namespaces and tabs.
    pub total: usize,
    /// Registrations one tab may hold at once.
    pub per_peer: usize,
    /// Shortest TTL accepted, in seconds.
    pub min_ttl: Ttl,
}

/// A registration accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Seconds granted.
    pub ttl: Ttl,
    /// Whether it is the namespace's first registration here (the server starts announcing
    /// the namespace to the other servers).
    pub first_in_namespace: bool,
}

#[derive(Debug)]
struct Held {
    record: PeerRecord,
    expires: Duration,
}

/// Registrations by namespace, with their counts.
#[derive(Debug)]
pub struct Registry {
    limits: RegistryLimits,
    namespaces: HashMap<Namespace, HashMap<PeerId, Held>>,
    per_peer: HashMap<PeerId, usize>,
    total: usize,
}

impl Registry {
    /// An empty registry with these bounds.
    pub fn new(limits: RegistryLimits) -> Self {
        Self {
            limits,
            namespaces: HashMap::new(),
            per_peer: HashMap::new(),
            total: 0,
        }
    }

    /// Registrations held.
    pub fn held(&self) -> usize {
        self.total
    }

    /// Adds or renews `peer`'s registration under `namespace`. Refused when the record is not
    /// the sender's own, the TTL is out of range, or a bound is reached.
    pub fn register(
        &mut self,
        peer: PeerId,
        namespace: Namespace,
        record: PeerRecord,
        ttl: Option<Ttl>,
        now: Duration,
    ) -> Result<Accepted, ErrorCode> {
        if record.peer_id() != peer {
            return Err(ErrorCode::NotAuthorized);
        }
        let ttl = ttl.unwrap_or(DEFAULT_TTL);
        if !(self.limits.min_ttl..=MAX_TTL).contains(&ttl) {
            return Err(ErrorCode::InvalidTtl);
        }
        let held = Held {
            record,
            expires: now + Duration::from_secs(ttl),
        };
        let first_in_namespace = !self.namespaces.contains_key(&namespace);
        let entries = self.namespaces.entry(namespace.clone()).or_default();
        if let Some(existing) = entries.get_mut(&peer) {
            *existing = held;
            return Ok(Accepted {
                ttl,
                first_in_namespace: false,
            });
        }
        let of_peer = self.per_peer.get(&peer).copied().unwrap_or(0);
        if self.total >= self.limits.total || of_peer >= self.limits.per_peer {
            if entries.is_empty() {
                self.namespaces.remove(&namespace);
            }
            return Err(ErrorCode::Unavailable);
        }
        entries.insert(peer, held);
        *self.per_peer.entry(peer).or_default() += 1;
        self.total += 1;
        Ok(Accepted {
            ttl,
            first_in_namespace,
        })
    }

    /// Removes `peer`'s registration under `namespace`; true when that emptied the namespace.
    pub fn unregister(&mut self, peer: PeerId, namespace: &Namespace) -> bool {
        let Some(entries) = self.namespaces.get_mut(namespace) else {
            return false;
        };
        if entries.remove(&peer).is_none() {
            return false;
        }
        let emptied = entries.is_empty();
        if emptied {
            self.namespaces.remove(namespace);
        }
        self.forget_one(peer);
        emptied
    }

    /// Up to `limit` live registrations under `namespace` (every namespace when `None`), a
    /// random choice when there are more, each with the seconds it has left.
    pub fn discover(
        &self,
        namespace: Option<&Namespace>,
        limit: usize,
        now: Duration,
    ) -> Vec<Registration> {
        fn live<'a>(
            (ns, entries): (&'a Namespace, &'a HashMap<PeerId, Held>),
            now: Duration,
        ) -> impl Iterator<Item = (&'a Namespace, &'a Held)> {
            entries
                .values()
                .filter(move |held| held.expires > now)
                .map(move |held| (ns, held))
        }
        // A uniform random sample of at most `limit` (all of them when fewer), without
        // collecting every live registration first; shuffled, so that any prefix of it is a
        // uniform sample too.
        let mut found = match namespace {
            Some(ns) => self
                .namespaces
                .get_key_value(ns)
                .into_iter()
                .flat_map(|entry| live(entry, now))
                .sample(&mut rand::rng(), limit),
            None => self
                .namespaces
                .iter()
                .flat_map(|entry| live(entry, now))
                .sample(&mut rand::rng(), limit),
        };
        found.shuffle(&mut rand::rng());
        found
            .into_iter()
            .map(|(ns, held)| Registration {
                namespace: ns.clone(),
                record: held.record.clone(),
                ttl: held.expires.saturating_sub(now).as_secs().max(1),
            })
            .collect()
    }

    /// Drops registrations whose TTL ran out; returns the namespaces that emptied and the
    /// number of registrations dropped.
    pub fn expire(&mut self, now: Duration) -> (Vec<Namespace>, usize) {
        let mut gone: Vec<PeerId> = Vec::new();
        let mut emptied = Vec::new();
        self.namespaces.retain(|namespace, entries| {
            entries.retain(|peer, held| {
                let live = held.expires > now;
                if !live {
                    gone.push(*peer);
                }
                live
            });
            if entries.is_empty() {
                emptied.push(namespace.clone());
            }
            !entries.is_empty()
        });
        let dropped = gone.len();
        for peer in gone {
            self.forget_one(peer);
        }
        (emptied, dropped)
    }

    fn forget_one(&mut self, peer: PeerId) {
        self.total -= 1;
        if let Some(count) = self.per_peer.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::identity::Keypair;

    fn limits(total: usize, per_peer: usize) -> RegistryLimits {
        RegistryLimits {
            total,
            per_peer,
            min_ttl: 60,
        }
    }

    fn tab() -> (PeerId, PeerRecord) {
        let key = Keypair::generate_ed25519();
        let addr = "/ip4/10.0.0.1/tcp/4001/ws".parse().expect("valid");
        let record = PeerRecord::new(&key, vec![addr]).expect("signs");
        (record.peer_id(), record)
    }

    fn ns(name: &str) -> Namespace {
        Namespace::new(name.to_owned()).expect("short")
    }

    const T0: Duration = Duration::from_secs(1000);

    #[test]
    fn registers_renews_and_discovers_with_remaining_ttl() {
        let mut registry = Registry::new(limits(10, 10));
        let (a, record_a) = tab();
        let (b, record_b) = tab();
        let first = registry.register(a, ns("s"), record_a.clone(), Some(120), T0);
        assert_eq!(
            first,
            Ok(Accepted {
                ttl: 120,
                first_in_namespace: true
            })
        );
        let second = registry.register(b, ns("s"), record_b, Some(120), T0);
        assert_eq!(second.map(|a| a.first_in_namespace), Ok(false));
        // Renewing does not count twice.
        let renewed = registry.register(a, ns("s"), record_a, Some(120), T0);
        assert_eq!(renewed.map(|a| a.ttl), Ok(120));
        assert_eq!(registry.held(), 2);
        let later = T0 + Duration::from_secs(20);
        let found = registry.discover(Some(&ns("s")), 10, later);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|r| r.ttl == 100));
        assert!(registry.discover(Some(&ns("other")), 10, later).is_empty());
        assert_eq!(registry.discover(None, 1, later).len(), 1);
    }

    #[test]
    fn refuses_foreign_records_bad_ttls_and_past_its_bounds() {
        let mut registry = Registry::new(limits(3, 2));
        let (a, record_a) = tab();
        let (b, record_b) = tab();
        let refused = registry.register(b, ns("s"), record_a.clone(), None, T0);
        assert_eq!(refused, Err(ErrorCode::NotAuthorized));
        for ttl in [59, MAX_TTL + 1] {
            let refused = registry.register(a, ns("s"), record_a.clone(), Some(ttl), T0);
            assert_eq!(refused, Err(ErrorCode::InvalidTtl));
        }
        for name in ["s1", "s2"] {
            assert!(registry
                .register(a, ns(name), record_a.clone(), None, T0)
                .is_ok());
        }
        let per_peer = registry.register(a, ns("s3"), record_a, None, T0);
        assert_eq!(per_peer, Err(ErrorCode::Unavailable));
        assert!(registry
            .register(b, ns("s1"), record_b.clone(), None, T0)
            .is_ok());
        let total = registry.register(b, ns("s4"), record_b, None, T0);
        assert_eq!(total, Err(ErrorCode::Unavailable));
        assert_eq!(registry.held(), 3);
        assert!(registry.discover(Some(&ns("s4")), 10, T0).is_empty());
    }

    #[test]
    fn unregistering_and_expiry_free_their_slots_and_report_empty_namespaces() {
        let mut registry = Registry::new(limits(2, 2));
        let (a, record_a) = tab();
        let (b, record_b) = tab();
        registry
            .register(a, ns("s"), record_a.clone(), Some(60), T0)
            .expect("accepted");
        registry
            .register(b, ns("s"), record_b, Some(600), T0)
            .expect("accepted");
        assert!(!registry.unregister(a, &ns("other")));
        let at = T0 + Duration::from_secs(61);
        assert_eq!(registry.discover(Some(&ns("s")), 10, at).len(), 1);
        assert_eq!(registry.expire(at), (Vec::new(), 1));
        assert!(registry.unregister(b, &ns("s")));
        assert_eq!(registry.held(), 0);
        for name in ["x", "y"] {
            registry
                .register(a, ns(name), record_a.clone(), Some(60), at)
                .expect("slots were freed");
        }
        let (mut emptied, dropped) = registry.expire(at + Duration::from_secs(60));
        emptied.sort_by_key(|n| n.to_string());
        assert_eq!((emptied, dropped), (vec![ns("x"), ns("y")], 2));
    }
}
