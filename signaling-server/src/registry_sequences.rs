//! Stateful property test of the [`Registry`]: random sequences of register, unregister,
//! discover, connect, disconnect, time passing and sweeps, with its invariants checked after
//! every step: no panic, the counts agree with what is held, every table within its bound, and
//! after a sweep no registration outlives its TTL, nor a gone tab its grace period.

use super::*;
use libp2p::identity::Keypair;
use proptest::prelude::*;
use std::net::IpAddr;
use std::sync::OnceLock;

const PEERS: usize = 8;
const NAMESPACES: usize = 6;
const GRACE: Duration = Duration::from_secs(30);
const LIMITS: RegistryLimits = RegistryLimits {
    total: 20,
    per_peer: 4,
    per_address: 7,
    min_ttl: 60,
    max_ttl: 600,
    grace: GRACE,
};

/// Tabs with their signed records, made once (signing is the slow part).
fn tabs() -> &'static [(PeerId, PeerRecord)] {
    static TABS: OnceLock<Vec<(PeerId, PeerRecord)>> = OnceLock::new();
    TABS.get_or_init(|| {
        (0..PEERS)
            .map(|_| {
                let key = Keypair::generate_ed25519();
                let addr = "/ip4/10.0.0.1/tcp/4001/ws".parse().expect("valid");
                let record = PeerRecord::new(&key, vec![addr]).expect("signs");
                (record.peer_id(), record)
            })
            .collect()
    })
}

fn namespace(i: usize) -> Namespace {
    Namespace::new(format!("swarm/{i}")).expect("short")
}

/// Three addresses: two IPv4, one IPv6 /64 (written differently each time), or none.
fn address(i: usize, salt: u16) -> Option<AddressKey> {
    let ip: IpAddr = match i {
        0 => "10.0.0.1".parse().expect("an address"),
        1 => "10.0.0.2".parse().expect("an address"),
        2 => format!("2001:db8::{salt:x}").parse().expect("an address"),
        _ => return None,
    };
    Some(ip.into())
}

#[derive(Debug, Clone)]
enum Step {
    Register {
        peer: usize,
        /// Whose record it sends (a foreign one must be refused).
        record_of: usize,
        namespace: usize,
        ttl: Option<Ttl>,
        address: usize,
        salt: u16,
    },
    Unregister {
        peer: usize,
        namespace: usize,
    },
    Discover {
        namespace: Option<usize>,
        limit: usize,
    },
    Connected(usize),
    Disconnected(usize),
    Advance(u64),
    Expire,
}

fn step() -> impl Strategy<Value = Step> {
    let peer = 0..PEERS;
    let ttl = prop_oneof![
        Just(None),
        (0..PROTOCOL_MAX_TTL + 100).prop_map(Some),
        (60..700u64).prop_map(Some),
    ];
    prop_oneof![
        6 => (peer.clone(), prop_oneof![4 => Just(None), 1 => (0..PEERS).prop_map(Some)], 0..NAMESPACES, ttl, 0..4usize, any::<u16>())
            .prop_map(|(peer, other, namespace, ttl, address, salt)| Step::Register {
                peer,
                record_of: other.unwrap_or(peer),
                namespace,
                ttl,
                address,
                salt,
            }),
        2 => (peer.clone(), 0..NAMESPACES).prop_map(|(peer, namespace)| Step::Unregister { peer, namespace }),
        2 => (proptest::option::of(0..NAMESPACES), 0..30usize)
            .prop_map(|(namespace, limit)| Step::Discover { namespace, limit }),
        1 => peer.clone().prop_map(Step::Connected),
        2 => peer.prop_map(Step::Disconnected),
        3 => (0..400u64).prop_map(Step::Advance),
        2 => Just(Step::Expire),
    ]
}

/// Checks what must hold whatever happened before.
fn check_counts(registry: &Registry) {
    let held: usize = registry.namespaces.values().map(HashMap::len).sum();
    assert_eq!(held, registry.total, "the total counts what is held");
    assert!(registry.total <= LIMITS.total);
    assert!(registry
        .namespaces
        .values()
        .all(|entries| !entries.is_empty()));
    let by_holders: usize = registry.holders.values().map(|h| h.namespaces.len()).sum();
    assert_eq!(
        by_holders, registry.total,
        "every registration has its holder"
    );
    for (peer, holder) in &registry.holders {
        assert!(!holder.namespaces.is_empty(), "no empty holder kept");
        assert!(holder.namespaces.len() <= LIMITS.per_peer);
        for ns in &holder.namespaces {
            assert!(registry.namespaces[ns].contains_key(peer));
        }
    }
    let mut per_address: HashMap<AddressKey, usize> = HashMap::new();
    for holder in registry.holders.values() {
        if let Some(address) = holder.address {
            *per_address.entry(address).or_default() += holder.namespaces.len();
        }
    }
    assert_eq!(per_address.len(), registry.per_address.addresses());
    for (address, count) in per_address {
        assert_eq!(
            registry.per_address.of(address),
            count,
            "address counts agree"
        );
        assert!(count <= LIMITS.per_address);
    }
}

/// After a sweep at `now`: nothing outlives its TTL, nor a gone tab its grace period.
fn check_swept(registry: &Registry, now: Duration) {
    for entries in registry.namespaces.values() {
        for held in entries.values() {
            assert!(held.expires > now, "a registration outlived its TTL");
        }
    }
    for holder in registry.holders.values() {
        if let Some(since) = holder.gone_since {
            assert!(
                since + GRACE > now,
                "a gone tab's registrations outlived the grace"
            );
        }
    }
}

fn run(steps: &[Step]) {
    let mut registry = Registry::new(LIMITS);
    let mut now = Duration::from_secs(1_000);
    for step in steps {
        match step.clone() {
            Step::Register {
                peer,
                record_of,
                namespace: ns,
                ttl,
                address: a,
                salt,
            } => {
                let (id, _) = tabs()[peer];
                let record = tabs()[record_of].1.clone();
                let result =
                    registry.register(id, address(a, salt), namespace(ns), record, ttl, now);
                match result {
                    Ok(accepted) => {
                        assert_eq!(record_of, peer, "a foreign record is refused");
                        assert!((LIMITS.min_ttl..=LIMITS.max_ttl).contains(&accepted.ttl));
                        let held = &registry.namespaces[&namespace(ns)][&id];
                        assert!(held.expires <= now + Duration::from_secs(LIMITS.max_ttl));
                    }
                    Err(Refused::NotAuthorized) => assert_ne!(record_of, peer),
                    Err(_) => {}
                }
            }
            Step::Unregister {
                peer,
                namespace: ns,
            } => {
                registry.unregister(tabs()[peer].0, &namespace(ns));
            }
            Step::Discover {
                namespace: ns,
                limit,
            } => {
                let ns = ns.map(namespace);
                let found = registry.discover(ns.as_ref(), limit, now);
                assert!(found.len() <= limit);
                for registration in found {
                    assert!(registration.ttl >= 1 && registration.ttl <= LIMITS.max_ttl);
                    if let Some(ns) = &ns {
                        assert_eq!(&registration.namespace, ns);
                    }
                }
            }
            Step::Connected(peer) => registry.peer_connected(tabs()[peer].0),
            Step::Disconnected(peer) => registry.peer_disconnected(tabs()[peer].0, now),
            Step::Advance(secs) => now += Duration::from_secs(secs),
            Step::Expire => {
                let before = registry.held();
                let (emptied, dropped) = registry.expire(now);
                assert_eq!(registry.held() + dropped, before);
                for ns in emptied {
                    assert!(!registry.namespaces.contains_key(&ns));
                }
                check_swept(&registry, now);
            }
        }
        check_counts(&registry);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_sequences_keep_the_registry_bounded_and_consistent(
        steps in proptest::collection::vec(step(), 1..200)
    ) {
        run(&steps);
    }
}
