//! [`PeerRates`]: a request rate per connected peer (a [`Rate`] token bucket each), sans-IO.
//! A peer's bucket is made at its first request and forgotten when its last connection
//! closes, so the map holds at most one entry per connected peer.

use crate::rate_flag::Rate;
use libp2p::PeerId;
use peerfetch::util::rate_limit::TokenBucket;
use std::collections::HashMap;
use std::time::Duration;

/// Token buckets of one [`Rate`], one per peer.
#[derive(Debug)]
pub struct PeerRates {
    rate: Rate,
    buckets: HashMap<PeerId, TokenBucket>,
}

impl PeerRates {
    /// No peer has asked yet.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// The rate each peer gets.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Whether `peer` may make one more request at `now` (taking it from its budget).
    pub fn try_take(&mut self, peer: PeerId, now: Duration) -> bool {
        let rate = self.rate;
        self.buckets
            .entry(peer)
            .or_insert_with(|| TokenBucket::with_burst(rate.limit.get(), rate.interval, now))
            .try_take(now)
    }

    /// Peers with a budget.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no peer has a budget.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Forgets `peer`'s budget (its last connection closed).
    pub fn forget(&mut self, peer: &PeerId) {
        self.buckets.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_peer_then_refills_and_forgets() {
        let mut rates = PeerRates::new("2/1s".parse().expect("a rate"));
        let (a, b) = (PeerId::random(), PeerId::random());
        let t0 = Duration::from_secs(10);
        assert!(rates.try_take(a, t0) && rates.try_take(a, t0));
        assert!(!rates.try_take(a, t0), "past the burst");
        assert!(rates.try_take(b, t0), "another peer has its own budget");
        assert!(rates.try_take(a, t0 + Duration::from_secs(1)), "refilled");
        rates.forget(&a);
        assert!(!rates.buckets.contains_key(&a));
    }
}
