//! The registrations this server holds (rendezvous): which tab registered under which namespace
//! (its swarm, or a resource it provides), with its signed peer record, until its TTL runs out
//! or, once the tab's last connection has closed, a grace period has passed. Sans-IO: the
//! caller passes the time and says when a peer disconnects and reconnects.
//!
//! Peer ids cost nothing to make, so what one party can hold is bounded by what it cannot make
//! freely and by time:
//! - a TTL is clamped to [`RegistryLimits::max_ttl`] (tabs register for minutes and renew);
//! - a tab's registrations go [`RegistryLimits::grace`] after its last connection closed;
//! - registrations are bounded in total, per tab, and per address ([`AddressKey`]: an IPv4
//!   address or an IPv6 /64) of the connection the tab first registered over.

use crate::address_budget::AddressBudget;
use crate::ip_key::AddressKey;
use libp2p::{
    core::PeerRecord,
    rendezvous::{ErrorCode, Namespace, Registration, Ttl},
    PeerId,
};
use rand::seq::{IteratorRandom, SliceRandom};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// TTL of a registration that names none (the protocol's default: 2 hours; clamped).
const DEFAULT_TTL: Ttl = 2 * 60 * 60;
/// Longest TTL the protocol allows (72 hours); longer ones are refused, shorter ones clamped.
const PROTOCOL_MAX_TTL: Ttl = 72 * 60 * 60;

/// Bounds on what the registry holds.
#[derive(Debug, Clone, Copy)]
pub struct RegistryLimits {
    /// Registrations held at once, over all namespaces and tabs.
    pub total: usize,
    /// Registrations one tab may hold at once.
    pub per_peer: usize,
    /// Registrations the tabs of one address may hold at once.
    pub per_address: usize,
    /// Shortest TTL accepted, in seconds.
    pub min_ttl: Ttl,
    /// Longest TTL granted, in seconds: longer ones are granted this.
    pub max_ttl: Ttl,
    /// How long a tab's registrations outlive its last connection.
    pub grace: Duration,
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

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The signed record is not the sender's own.
    #[error("the record is not the sender's")]
    NotAuthorized,
    /// The TTL is below the minimum or above the protocol's maximum.
    #[error("TTL out of range")]
    InvalidTtl,
    /// The tab holds `--max-registrations-per-peer`.
    #[error("the tab holds its most registrations")]
    PeerFull,
    /// The tabs of the address hold `--max-registrations-per-ip`.
    #[error("the address holds its most registrations")]
    AddressFull,
    /// The server holds `--max-swarm-registrations`.
    #[error("the server holds its most registrations")]
    Full,
}

impl Refused {
    /// The rendezvous status the tab is answered with.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::NotAuthorized => ErrorCode::NotAuthorized,
            Self::InvalidTtl => ErrorCode::InvalidTtl,
            Self::PeerFull | Self::AddressFull | Self::Full => ErrorCode::Unavailable,
        }
    }

    /// The `reason` label of `peerfetch_refusals_total{request="registration"}`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotAuthorized => "NotAuthorized",
            Self::InvalidTtl => "InvalidTtl",
            Self::PeerFull | Self::Full => "Unavailable",
            Self::AddressFull => "per-ip limit",
        }
    }
}

#[derive(Debug)]
struct Held {
    record: PeerRecord,
    expires: Duration,
}

/// What one tab holds.
#[derive(Debug)]
struct Holder {
    namespaces: HashSet<Namespace>,
    /// The address its registrations count against.
    address: Option<AddressKey>,
    /// When its last connection closed, while it has none.
    gone_since: Option<Duration>,
}

/// Registrations by namespace, with their counts.
#[derive(Debug)]
pub struct Registry {
    limits: RegistryLimits,
    namespaces: HashMap<Namespace, HashMap<PeerId, Held>>,
    holders: HashMap<PeerId, Holder>,
    per_address: AddressBudget,
    total: usize,
}

impl Registry {
    /// An empty registry with these bounds.
    pub fn new(limits: RegistryLimits) -> Self {
        Self {
            limits,
            namespaces: HashMap::new(),
            holders: HashMap::new(),
            per_address: AddressBudget::new(limits.per_address),
            total: 0,
        }
    }

    /// Registrations held.
    pub fn held(&self) -> usize {
        self.total
    }

    /// The sizes of its maps, by name, for the gauges.
    pub fn sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("registrations", self.total),
            ("registration_namespaces", self.namespaces.len()),
            ("registration_holders", self.holders.len()),
            ("registration_addresses", self.per_address.addresses()),
        ]
    }

    /// Adds or renews `peer`'s registration under `namespace`, sent over a connection from
    /// `address`. Refused when the record is not the sender's own, the TTL is out of range, or
    /// a bound is reached.
    pub fn register(
        &mut self,
        peer: PeerId,
        address: Option<AddressKey>,
        namespace: Namespace,
        record: PeerRecord,
        ttl: Option<Ttl>,
        now: Duration,
    ) -> Result<Accepted, Refused> {
        if record.peer_id() != peer {
            return Err(Refused::NotAuthorized);
        }
        let ttl = ttl.unwrap_or(DEFAULT_TTL.min(self.limits.max_ttl));
        if !(self.limits.min_ttl..=PROTOCOL_MAX_TTL).contains(&ttl) {
            return Err(Refused::InvalidTtl);
        }
        let ttl = ttl.min(self.limits.max_ttl);
        let held = Held {
            record,
            expires: now + Duration::from_secs(ttl),
        };
        if let Some(existing) = self
            .namespaces
            .get_mut(&namespace)
            .and_then(|entries| entries.get_mut(&peer))
        {
            *existing = held;
            if let Some(holder) = self.holders.get_mut(&peer) {
                holder.gone_since = None;
            }
            return Ok(Accepted {
                ttl,
                first_in_namespace: false,
            });
        }
        let holder = self.holders.get(&peer);
        let address = holder.map_or(address, |h| h.address);
        let of_peer = holder.map_or(0, |h| h.namespaces.len());
        if self.total >= self.limits.total {
            return Err(Refused::Full);
        }
        if of_peer >= self.limits.per_peer {
            return Err(Refused::PeerFull);
        }
        if let Some(address) = address {
            // Taken last: nothing below refuses.
            self.per_address
                .try_take(address)
                .map_err(|_| Refused::AddressFull)?;
        }
        let entries = self.namespaces.entry(namespace.clone()).or_default();
        let first_in_namespace = entries.is_empty();
        entries.insert(peer, held);
        let holder = self.holders.entry(peer).or_insert_with(|| Holder {
            namespaces: HashSet::new(),
            address,
            gone_since: None,
        });
        holder.namespaces.insert(namespace);
        holder.gone_since = None;
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
        self.forget_one(peer, namespace);
        emptied
    }

    /// `peer`'s last connection closed at `now`: its registrations go after the grace period
    /// unless it comes back.
    pub fn peer_disconnected(&mut self, peer: PeerId, now: Duration) {
        if let Some(holder) = self.holders.get_mut(&peer) {
            holder.gone_since = Some(now);
        }
    }

    /// `peer` is connected again: its registrations stay until their TTL.
    pub fn peer_connected(&mut self, peer: PeerId) {
        if let Some(holder) = self.holders.get_mut(&peer) {
            holder.gone_since = None;
        }
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

    /// Drops registrations whose TTL ran out and those of tabs gone for longer than the grace
    /// period; returns the namespaces that emptied and the number of registrations dropped.
    pub fn expire(&mut self, now: Duration) -> (Vec<Namespace>, usize) {
        let grace = self.limits.grace;
        let gone: HashSet<PeerId> = self
            .holders
            .iter()
            .filter(|(_, h)| {
                h.gone_since
                    .is_some_and(|since| since.saturating_add(grace) <= now)
            })
            .map(|(peer, _)| *peer)
            .collect();
        let mut dropped: Vec<(PeerId, Namespace)> = Vec::new();
        let mut emptied = Vec::new();
        self.namespaces.retain(|namespace, entries| {
            entries.retain(|peer, held| {
                let live = held.expires > now && !gone.contains(peer);
                if !live {
                    dropped.push((*peer, namespace.clone()));
                }
                live
            });
            if entries.is_empty() {
                emptied.push(namespace.clone());
            }
            !entries.is_empty()
        });
        let count = dropped.len();
        for (peer, namespace) in dropped {
            self.forget_one(peer, &namespace);
        }
        (emptied, count)
    }

    fn forget_one(&mut self, peer: PeerId, namespace: &Namespace) {
        self.total -= 1;
        let Some(holder) = self.holders.get_mut(&peer) else {
            return;
        };
        holder.namespaces.remove(namespace);
        if let Some(address) = holder.address {
            self.per_address.release(address);
        }
        if holder.namespaces.is_empty() {
            self.holders.remove(&peer);
        }
    }
}

#[cfg(test)]
#[path = "registry_sequences.rs"]
mod sequences;

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::identity::Keypair;
    use std::net::IpAddr;

    const GRACE: Duration = Duration::from_secs(30);

    fn limits(total: usize, per_peer: usize) -> RegistryLimits {
        RegistryLimits {
            total,
            per_peer,
            per_address: usize::MAX,
            min_ttl: 60,
            max_ttl: 600,
            grace: GRACE,
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

    fn at(ip: &str) -> Option<AddressKey> {
        Some(ip.parse::<IpAddr>().expect("an address").into())
    }

    const T0: Duration = Duration::from_secs(1000);

    #[test]
    fn registers_renews_and_discovers_with_remaining_ttl() {
        let mut registry = Registry::new(limits(10, 10));
        let (a, record_a) = tab();
        let (b, record_b) = tab();
        let first = registry.register(a, None, ns("s"), record_a.clone(), Some(120), T0);
        assert_eq!(
            first,
            Ok(Accepted {
                ttl: 120,
                first_in_namespace: true
            })
        );
        let second = registry.register(b, None, ns("s"), record_b, Some(120), T0);
        assert_eq!(second.map(|a| a.first_in_namespace), Ok(false));
        // Renewing does not count twice.
        let renewed = registry.register(a, None, ns("s"), record_a, Some(120), T0);
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
        let refused = registry.register(b, None, ns("s"), record_a.clone(), None, T0);
        assert_eq!(refused, Err(Refused::NotAuthorized));
        for ttl in [59, PROTOCOL_MAX_TTL + 1] {
            let refused = registry.register(a, None, ns("s"), record_a.clone(), Some(ttl), T0);
            assert_eq!(refused, Err(Refused::InvalidTtl));
        }
        for name in ["s1", "s2"] {
            assert!(registry
                .register(a, None, ns(name), record_a.clone(), None, T0)
                .is_ok());
        }
        let per_peer = registry.register(a, None, ns("s3"), record_a, None, T0);
        assert_eq!(per_peer, Err(Refused::PeerFull));
        assert!(registry
            .register(b, None, ns("s1"), record_b.clone(), None, T0)
            .is_ok());
        let total = registry.register(b, None, ns("s4"), record_b, None, T0);
        assert_eq!(total, Err(Refused::Full));
        assert_eq!(total.unwrap_err().code(), ErrorCode::Unavailable);
        assert_eq!(registry.held(), 3);
        assert!(registry.discover(Some(&ns("s4")), 10, T0).is_empty());
    }

    #[test]
    fn long_ttls_are_clamped_to_the_maximum() {
        let mut registry = Registry::new(limits(10, 10));
        let (a, record_a) = tab();
        let asked_for_days = registry.register(
            a,
            None,
            ns("s"),
            record_a.clone(),
            Some(PROTOCOL_MAX_TTL),
            T0,
        );
        assert_eq!(asked_for_days.map(|a| a.ttl), Ok(600));
        let unnamed = registry.register(a, None, ns("t"), record_a, None, T0);
        assert_eq!(unnamed.map(|a| a.ttl), Ok(600));
        assert_eq!(registry.expire(T0 + Duration::from_secs(601)).1, 2);
    }

    #[test]
    fn registration_exhaustion_by_throwaway_ids_is_undone_after_the_grace_period() {
        let mut registry = Registry::new(limits(100, 10));
        let mut throwaway = Vec::new();
        for _ in 0..10 {
            let (peer, record) = tab();
            for i in 0..10 {
                registry
                    .register(
                        peer,
                        at("10.0.0.9"),
                        ns(&format!("n{i}")),
                        record.clone(),
                        Some(600),
                        T0,
                    )
                    .expect("room");
            }
            throwaway.push(peer);
        }
        let (tab_id, tab_record) = tab();
        let full = registry.register(
            tab_id,
            at("10.0.0.1"),
            ns("s"),
            tab_record.clone(),
            Some(120),
            T0,
        );
        assert_eq!(full, Err(Refused::Full));
        for peer in &throwaway {
            registry.peer_disconnected(*peer, T0);
        }
        // One came back within the grace period: its registrations stay.
        registry.peer_connected(throwaway[0]);
        assert_eq!(registry.expire(T0 + GRACE - Duration::from_secs(1)).1, 0);
        let (emptied, dropped) = registry.expire(T0 + GRACE);
        assert_eq!((emptied.len(), dropped), (0, 90));
        assert_eq!(registry.held(), 10);
        assert!(registry
            .register(
                tab_id,
                at("10.0.0.1"),
                ns("s"),
                tab_record,
                Some(120),
                T0 + GRACE
            )
            .is_ok());
        assert_eq!(registry.holders.len(), 2, "nothing left of the others");
        assert_eq!(registry.per_address.addresses(), 2);
    }

    #[test]
    fn registrations_per_address_are_bounded_with_ipv6_per_64() {
        let mut registry = Registry::new(RegistryLimits {
            per_address: 3,
            ..limits(100, 10)
        });
        for (i, ip) in ["2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::3"]
            .into_iter()
            .enumerate()
        {
            let (peer, record) = tab();
            registry
                .register(peer, at(ip), ns(&format!("n{i}")), record, None, T0)
                .expect("within the address's budget");
        }
        let (peer, record) = tab();
        let refused = registry.register(
            peer,
            at("2001:db8:0:1::9"),
            ns("n"),
            record.clone(),
            None,
            T0,
        );
        assert_eq!(refused, Err(Refused::AddressFull));
        assert_eq!(refused.unwrap_err().reason(), "per-ip limit");
        assert!(
            registry
                .register(peer, at("2001:db8:0:2::9"), ns("n"), record, None, T0)
                .is_ok(),
            "another /64 has its own budget"
        );
    }

    #[test]
    fn one_ipv6_48_cannot_fill_the_table_however_many_64s_it_uses() {
        let mut registry = Registry::new(RegistryLimits {
            per_address: 3,
            ..limits(100_000, 10)
        });
        let mut held = 0;
        for subnet in 0..4096u32 {
            let (peer, record) = tab();
            let address = at(&format!("2001:db8:5:{subnet:x}::1"));
            if registry
                .register(peer, address, ns("n"), record, None, T0)
                .is_ok()
            {
                held += 1;
            }
        }
        assert_eq!(held, 3 * crate::address_budget::PER_48);
    }

    #[test]
    fn unregistering_and_expiry_free_their_slots_and_report_empty_namespaces() {
        let mut registry = Registry::new(limits(2, 2));
        let (a, record_a) = tab();
        let (b, record_b) = tab();
        registry
            .register(a, None, ns("s"), record_a.clone(), Some(60), T0)
            .expect("accepted");
        registry
            .register(b, None, ns("s"), record_b, Some(600), T0)
            .expect("accepted");
        assert!(!registry.unregister(a, &ns("other")));
        let at = T0 + Duration::from_secs(61);
        assert_eq!(registry.discover(Some(&ns("s")), 10, at).len(), 1);
        assert_eq!(registry.expire(at), (Vec::new(), 1));
        assert!(registry.unregister(b, &ns("s")));
        assert_eq!(registry.held(), 0);
        for name in ["x", "y"] {
            registry
                .register(a, None, ns(name), record_a.clone(), Some(60), at)
                .expect("slots were freed");
        }
        let (mut emptied, dropped) = registry.expire(at + Duration::from_secs(60));
        emptied.sort_by_key(|n| n.to_string());
        assert_eq!((emptied, dropped), (vec![ns("x"), ns("y")], 2));
        assert!(registry.holders.is_empty());
    }
}
