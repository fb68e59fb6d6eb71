//! [`StunRates`]: how many STUN answers the server sends, sans-IO. Nothing checks the source
//! address of a UDP datagram, so a flood of Binding requests written with a victim's address as
//! their source would have the server send the victim its answers (each a little larger than
//! the request). Each source address therefore gets a small rate, all of them together a larger
//! one, and the table of sources is bounded.

use crate::ip_key::AddressKey;
use hashlink::LruCache;
use peerfetch::util::rate_limit::TokenBucket;
use std::net::IpAddr;
use std::time::Duration;

/// Answers one source (an IPv4 address, an IPv6 /64) may get at once. A browser gathering ICE
/// candidates sends a handful of Binding requests per peer connection it opens.
pub const PER_SOURCE_BURST: u32 = 20;
/// A source earns one more answer this often (10 a second).
pub const PER_SOURCE_INTERVAL: Duration = Duration::from_millis(100);
/// Answers a second to all sources together.
pub const ANSWERS_PER_SECOND: u32 = 5_000;
/// Sources remembered; past it the one seen longest ago is forgotten (and starts afresh with a
/// full burst when it comes back, still within the global rate).
pub const MAX_SOURCES: usize = 16_384;

/// The answer budgets of recent sources, and of all of them together.
#[derive(Debug)]
pub struct StunRates {
    sources: LruCache<AddressKey, TokenBucket>,
    all: TokenBucket,
}

impl StunRates {
    /// Every budget full at `now`.
    pub fn new(now: Duration) -> Self {
        Self {
            sources: LruCache::new(MAX_SOURCES),
            all: TokenBucket::with_burst(
                ANSWERS_PER_SECOND,
                Duration::from_secs(1) / ANSWERS_PER_SECOND,
                now,
            ),
        }
    }

    /// Whether a request from `from` at `now` gets an answer (taking it from the budgets).
    pub fn allow(&mut self, from: IpAddr, now: Duration) -> bool {
        let key = AddressKey::from(from);
        if !self.sources.contains_key(&key) {
            // `insert`, not the entry API: only `insert` forgets the least recent past capacity.
            let fresh = TokenBucket::with_burst(PER_SOURCE_BURST, PER_SOURCE_INTERVAL, now);
            self.sources.insert(key, fresh);
        }
        let Some(source) = self.sources.get_mut(&key) else {
            return false;
        };
        // A source is charged only for answers it gets: when the global budget is spent (a
        // flood from elsewhere), a tab's own budget is left for later.
        source.has_token(now) && self.all.try_take(now) && source.try_take(now)
    }

    /// Sources remembered.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 + last))
    }

    #[test]
    fn one_source_gets_its_burst_then_ten_a_second_and_others_are_not_held_back() {
        let mut rates = StunRates::new(Duration::ZERO);
        let at = Duration::from_secs(1);
        let answered = (0..100).filter(|_| rates.allow(v4(1), at)).count();
        assert_eq!(answered, PER_SOURCE_BURST as usize);
        assert!(rates.allow(v4(2), at), "another source is answered");
        let later = at + Duration::from_secs(1);
        let answered = (0..100).filter(|_| rates.allow(v4(1), later)).count();
        assert_eq!(answered, 10, "one second later: ten more");
    }

    #[test]
    fn addresses_of_one_ipv6_64_share_a_budget() {
        let mut rates = StunRates::new(Duration::ZERO);
        let answered = (0..100u128)
            .filter(|i| {
                let ip = Ipv6Addr::from_bits((0x2001_0db8_u128 << 96) + i);
                rates.allow(IpAddr::V6(ip), Duration::ZERO)
            })
            .count();
        assert_eq!(answered, PER_SOURCE_BURST as usize);
    }

    #[test]
    fn many_sources_together_get_at_most_the_global_rate_and_the_table_stays_bounded() {
        let mut rates = StunRates::new(Duration::ZERO);
        let at = Duration::from_secs(10);
        let answered = (0..40_000).filter(|i| rates.allow(v4(*i), at)).count();
        assert_eq!(answered, ANSWERS_PER_SECOND as usize);
        assert_eq!(rates.sources(), MAX_SOURCES);
        // The global budget spent: the last source got nothing, and was charged nothing.
        let last = v4(39_999);
        let soon = at + Duration::from_millis(50);
        let answered = (0..100).filter(|_| rates.allow(last, soon)).count();
        assert_eq!(answered, PER_SOURCE_BURST as usize);
    }
}
