// peerfetch's change to libp2p-webrtc 0.10.0-alpha (see vendor/README.md).
//
//! Remote addresses reported to the transport as new: bounded in number and in time.
//!
//! Upstream keeps every reported address in a set until a connection registers for it. An
//! address whose upgrade never registers (the ICE check failed, the swarm refused the pending
//! connection, or the packet was a spoofed STUN request, which costs an attacker one datagram)
//! stays there for the life of the listener: the set grows with every source address ever
//! seen, and that address is never reported again, so a client whose first attempt was
//! refused under load can never connect from the same port. Here an address is remembered
//! for [`REPORTED_FOR`] and at most [`MAX_REPORTED`] are remembered at once; past that, new
//! addresses are not reported until some expire (their binding requests are retransmitted by
//! ICE and reported then).

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

/// How long a reported address is not reported again: longer than a STUN binding request's
/// retransmissions take to reach the connection the upgrade creates for it.
pub(crate) const REPORTED_FOR: Duration = Duration::from_secs(10);

/// Most addresses remembered as reported at once.
pub(crate) const MAX_REPORTED: usize = 1024;

/// Addresses reported as new, and when.
#[derive(Debug, Default)]
pub(crate) struct NewAddrs {
    reported: HashMap<SocketAddr, Instant>,
    /// When the first of them expires, if known: a flood of new addresses while none can
    /// expire costs a lookup each, not a pass over all of them.
    first_expiry: Option<Instant>,
}

impl NewAddrs {
    /// Whether to report `addr` as new at `now`: not if it was reported within
    /// [`REPORTED_FOR`], nor while [`MAX_REPORTED`] others are remembered. Remembers it when
    /// it is to be reported.
    pub(crate) fn report(&mut self, addr: SocketAddr, now: Instant) -> bool {
        let expired = |at: &Instant| now.saturating_duration_since(*at) >= REPORTED_FOR;
        if let Some(at) = self.reported.get(&addr) {
            if !expired(at) {
                return false;
            }
        } else if self.reported.len() >= MAX_REPORTED {
            if self.first_expiry.is_none_or(|first| first <= now) {
                self.reported.retain(|_, at| !expired(at));
                self.first_expiry = self.reported.values().min().map(|at| *at + REPORTED_FOR);
            }
            if self.reported.len() >= MAX_REPORTED {
                tracing::debug!(address=%addr, "Too many new addresses at once, not reporting it yet");
                return false;
            }
        }
        self.reported.insert(addr, now);
        true
    }

    /// A connection registered for `addr`: its packets reach it from now on.
    pub(crate) fn remove(&mut self, addr: &SocketAddr) {
        self.reported.remove(addr);
    }

    /// Forgets every address.
    pub(crate) fn clear(&mut self) {
        self.reported.clear();
        self.first_expiry = None;
    }

    /// How many addresses are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.reported.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use super::*;

    fn addr(n: usize) -> SocketAddr {
        let ip = Ipv4Addr::from(0x0a00_0000 + (n as u32 >> 16));
        SocketAddr::V4(SocketAddrV4::new(ip, n as u16))
    }

    #[test]
    fn an_address_is_reported_once_until_it_expires_or_registers() {
        let start = Instant::now();
        let mut addrs = NewAddrs::default();
        assert!(addrs.report(addr(1), start));
        assert!(!addrs.report(addr(1), start + REPORTED_FOR / 2));
        // Its upgrade never registered: reported again, so the client can still connect.
        assert!(addrs.report(addr(1), start + REPORTED_FOR));
        addrs.remove(&addr(1));
        assert!(addrs.report(addr(1), start + REPORTED_FOR));
    }

    #[test]
    fn a_flood_of_source_addresses_is_bounded() {
        let start = Instant::now();
        let mut addrs = NewAddrs::default();
        let reported = (0..100_000)
            .filter(|n| addrs.report(addr(*n), start + Duration::from_millis(*n as u64 / 100)))
            .count();
        // 100 new addresses a millisecond for a second: the first MAX_REPORTED get through.
        assert_eq!(reported, MAX_REPORTED);
        assert_eq!(addrs.len(), MAX_REPORTED);
        // Once those expire, new ones are reported again, still within the bound.
        let later = start + REPORTED_FOR + Duration::from_secs(1);
        assert!(addrs.report(addr(200_000), later));
        assert_eq!(addrs.len(), 1);
        addrs.clear();
        assert_eq!(addrs.len(), 0);
    }
}
