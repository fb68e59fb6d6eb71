//! [`CircuitCaps`]: relayed circuits open at once per destination, sans-IO.
//!
//! The relay bounds circuits in total and per source (peer and IP rates), but not per
//! destination: many sources (peer ids are free) could pin every circuit slot on one tab, or
//! on the tabs of one address. A circuit only carries the WebRTC signaling of one
//! browser-to-browser link, so a tab needs few at once. This counts the circuits opened to each
//! destination peer and to each destination address ([`AddressKey`]: an IPv4 address or an
//! IPv6 /64, the wider IPv6 prefixes bounded too: [`AddressBudget`]) and says when one more
//! would pass a bound. A circuit counts from the moment the relay asks the destination to accept it until the relay reports it ended; one whose end the
//! relay never reports (its source left while it was being set up) is forgotten once it is older
//! than the longest a circuit may live ([`CircuitCaps::expire`]).

use crate::address_budget::AddressBudget;
use crate::ip_key::AddressKey;
use libp2p::PeerId;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The bounds on circuits per destination.
#[derive(Debug, Clone, Copy)]
pub struct DestinationLimits {
    /// Circuits open at once to one peer.
    pub per_peer: usize,
    /// Circuits open at once to the peers of one address.
    pub per_address: usize,
    /// After how long a circuit is forgotten though its end was not reported.
    pub forget_after: Duration,
}

/// A circuit was refused: its destination holds the most it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CircuitCapReached {
    /// `--max-circuits-per-destination`.
    #[error("the destination peer already has {0} circuits (--max-circuits-per-destination)")]
    Peer(usize),
    /// `--max-circuits-per-destination-ip`.
    #[error(
        "the destination's address (or the IPv6 /56 or /48 around it) already has {0} circuits \
         (--max-circuits-per-destination-ip; 4 and 16 times that)"
    )]
    Address(usize),
}

/// Circuits open per destination peer and address.
#[derive(Debug)]
pub struct CircuitCaps {
    limits: DestinationLimits,
    /// Each destination's circuits, oldest first: the address each counts against and when it
    /// was opened.
    by_peer: HashMap<PeerId, VecDeque<(Option<AddressKey>, Instant)>>,
    by_address: AddressBudget,
    open: usize,
}

impl CircuitCaps {
    /// No circuit open.
    pub fn new(limits: DestinationLimits) -> Self {
        Self {
            limits,
            by_peer: HashMap::new(),
            by_address: AddressBudget::new(limits.per_address),
            open: 0,
        }
    }

    /// Counts a circuit to `peer` (reached at `address`) opened at `now`, unless that passes
    /// a bound.
    pub fn try_open(
        &mut self,
        peer: PeerId,
        address: Option<AddressKey>,
        now: Instant,
    ) -> Result<(), CircuitCapReached> {
        self.expire(now);
        let of_peer = self.by_peer.get(&peer).map_or(0, VecDeque::len);
        if of_peer >= self.limits.per_peer {
            return Err(CircuitCapReached::Peer(self.limits.per_peer));
        }
        if let Some(address) = address {
            self.by_address
                .try_take(address)
                .map_err(|full| CircuitCapReached::Address(full.limit))?;
        }
        self.by_peer
            .entry(peer)
            .or_default()
            .push_back((address, now));
        self.open += 1;
        Ok(())
    }

    /// A circuit to `peer` ended (the oldest of its circuits is forgotten).
    pub fn closed(&mut self, peer: &PeerId) {
        let Some(circuits) = self.by_peer.get_mut(peer) else {
            return;
        };
        let Some((address, _)) = circuits.pop_front() else {
            return;
        };
        if circuits.is_empty() {
            self.by_peer.remove(peer);
        }
        self.forget(address);
    }

    /// Forgets circuits older than [`DestinationLimits::forget_after`].
    pub fn expire(&mut self, now: Instant) {
        let forget_after = self.limits.forget_after;
        let mut forgotten = Vec::new();
        self.by_peer.retain(|_, circuits| {
            while let Some((address, opened)) = circuits.front() {
                if now.saturating_duration_since(*opened) < forget_after {
                    break;
                }
                forgotten.push(*address);
                circuits.pop_front();
            }
            !circuits.is_empty()
        });
        for address in forgotten {
            self.forget(address);
        }
    }

    fn forget(&mut self, address: Option<AddressKey>) {
        self.open -= 1;
        if let Some(address) = address {
            self.by_address.release(address);
        }
    }

    /// Circuits counted.
    pub fn open(&self) -> usize {
        self.open
    }

    /// Destination peers with a circuit.
    pub fn destinations(&self) -> usize {
        self.by_peer.len()
    }

    /// Destination addresses with a circuit.
    pub fn addresses(&self) -> usize {
        self.by_address.addresses()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn at(ip: &str) -> Option<AddressKey> {
        Some(ip.parse::<IpAddr>().expect("an address").into())
    }

    const LIMITS: DestinationLimits = DestinationLimits {
        per_peer: 2,
        per_address: 3,
        forget_after: Duration::from_secs(90),
    };

    #[test]
    fn bounds_per_destination_peer_and_address_and_frees_on_close() {
        let mut caps = CircuitCaps::new(LIMITS);
        let t0 = Instant::now();
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        assert_eq!(caps.try_open(a, at("10.0.0.1"), t0), Ok(()));
        assert_eq!(caps.try_open(a, at("10.0.0.1"), t0), Ok(()));
        assert_eq!(
            caps.try_open(a, at("10.0.0.1"), t0),
            Err(CircuitCapReached::Peer(2))
        );
        assert_eq!(caps.try_open(b, at("10.0.0.1"), t0), Ok(()));
        assert_eq!(
            caps.try_open(c, at("10.0.0.1"), t0),
            Err(CircuitCapReached::Address(3)),
            "another id at the same address shares its budget"
        );
        assert_eq!(caps.try_open(c, at("10.0.0.2"), t0), Ok(()));
        assert_eq!(
            (caps.open(), caps.destinations(), caps.addresses()),
            (4, 3, 2)
        );
        caps.closed(&a);
        assert_eq!(caps.try_open(c, at("10.0.0.1"), t0), Ok(()), "freed");
        for peer in [a, b, c, c, c, PeerId::random()] {
            caps.closed(&peer);
        }
        assert_eq!(
            (caps.open(), caps.destinations(), caps.addresses()),
            (0, 0, 0)
        );
    }

    #[test]
    fn circuits_whose_end_is_never_reported_are_forgotten() {
        let mut caps = CircuitCaps::new(LIMITS);
        let t0 = Instant::now();
        let a = PeerId::random();
        caps.try_open(a, None, t0).expect("room");
        caps.try_open(a, at("2001:db8::1"), t0 + Duration::from_secs(10))
            .expect("room");
        assert!(caps
            .try_open(a, None, t0 + Duration::from_secs(89))
            .is_err());
        assert_eq!(caps.try_open(a, None, t0 + Duration::from_secs(90)), Ok(()));
        caps.expire(t0 + Duration::from_secs(200));
        assert_eq!(
            (caps.open(), caps.destinations(), caps.addresses()),
            (0, 0, 0)
        );
    }
}
