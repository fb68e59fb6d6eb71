// peerfetch's change to libp2p-webrtc 0.10.0-alpha (see vendor/README.md).
//
//! Remote addresses reported to the transport as new: bounded in number and in time.
//!
//! Upstream keeps every reported address in a set until a connection registers for it. An
//! address whose upgrade never registers (the ICE check failed, the swarm refused the pending
//! connection, or the packet was a spoofed STUN request, which costs an attacker one datagram)
//! stays there for the life of the listener: the set grows with every source address ever
//! seen, and that address is never reported again, so a client whose first attempt was
//! refused under load can never connect from the same port.
//!
//! Here what is remembered is an address with the ICE username fragment it sent, for
//! [`REPORTED_FOR`]: a new attempt from the same port (a new fragment) is reported at once,
//! the retransmissions of one attempt are reported once, and again only after that time (an
//! attempt whose upgrade the swarm refused gets another). At most [`MAX_REPORTED`] are
//! remembered; past that, the oldest is forgotten: a flood of spoofed requests then costs the
//! swarm upgrades, which its pending-connection limits bound, rather than locking every new
//! client out until the flood's entries expire.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    time::{Duration, Instant},
};

/// How long an attempt (an address and a username fragment) is not reported again: longer
/// than its binding requests' retransmissions take to reach the connection its upgrade
/// creates.
pub(crate) const REPORTED_FOR: Duration = Duration::from_secs(10);

/// Most attempts remembered at once.
pub(crate) const MAX_REPORTED: usize = 1024;

/// An address and the username fragment it sent.
type Attempt = (SocketAddr, String);

/// Attempts reported as new, and when.
#[derive(Debug, Default)]
pub(crate) struct NewAddrs {
    reported: HashMap<Attempt, Instant>,
    /// The same, oldest first; an entry whose time differs from the map's (reported again, or
    /// forgotten) is stale and skipped.
    order: VecDeque<(Attempt, Instant)>,
}

impl NewAddrs {
    /// Whether to report `addr` as new at `now`, its binding request naming the username
    /// fragment `ufrag`: not if that attempt was reported within [`REPORTED_FOR`]. Remembers
    /// it when it is to be reported.
    pub(crate) fn report(&mut self, addr: SocketAddr, ufrag: &str, now: Instant) -> bool {
        let attempt = (addr, ufrag.to_owned());
        let recent = |at: &Instant| now.saturating_duration_since(*at) < REPORTED_FOR;
        if self.reported.get(&attempt).is_some_and(recent) {
            return false;
        }
        self.reported.insert(attempt.clone(), now);
        self.order.push_back((attempt, now));
        while self.reported.len() > MAX_REPORTED || self.order.len() > 2 * MAX_REPORTED {
            self.forget_oldest(now);
        }
        true
    }

    /// Forgets the oldest attempt remembered (and stale entries before it).
    fn forget_oldest(&mut self, now: Instant) {
        while let Some((attempt, at)) = self.order.pop_front() {
            if self.reported.get(&attempt) == Some(&at) {
                self.reported.remove(&attempt);
                if now.saturating_duration_since(at) < REPORTED_FOR {
                    tracing::debug!(address=%attempt.0, "Too many new addresses at once, forgetting the oldest");
                }
                return;
            }
        }
    }

    /// A connection registered for `addr`, with username fragment `ufrag`: its packets reach
    /// it from now on.
    pub(crate) fn remove(&mut self, addr: SocketAddr, ufrag: &str) {
        self.reported.remove(&(addr, ufrag.to_owned()));
    }

    /// Forgets every attempt.
    pub(crate) fn clear(&mut self) {
        self.reported.clear();
        self.order.clear();
    }

    /// How many attempts are remembered.
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
    fn an_attempt_is_reported_once_until_it_expires_or_registers() {
        let start = Instant::now();
        let mut addrs = NewAddrs::default();
        assert!(addrs.report(addr(1), "a", start));
        assert!(!addrs.report(addr(1), "a", start + REPORTED_FOR / 2));
        // Its upgrade never registered (refused, say): reported again.
        assert!(addrs.report(addr(1), "a", start + REPORTED_FOR));
        addrs.remove(addr(1), "a");
        assert!(addrs.report(addr(1), "a", start + REPORTED_FOR));
    }

    #[test]
    fn a_new_attempt_from_the_same_port_is_reported_at_once() {
        let start = Instant::now();
        let mut addrs = NewAddrs::default();
        assert!(addrs.report(addr(1), "first", start));
        assert!(addrs.report(addr(1), "second", start + Duration::from_millis(1)));
        assert!(!addrs.report(addr(1), "first", start + Duration::from_millis(2)));
    }

    #[test]
    fn a_flood_of_source_addresses_is_bounded_and_new_clients_still_get_in() {
        let start = Instant::now();
        let mut addrs = NewAddrs::default();
        for n in 0..100_000 {
            let at = start + Duration::from_millis(n as u64 / 100);
            assert!(addrs.report(addr(n), "spoofed", at));
            assert!(addrs.len() <= MAX_REPORTED);
            assert!(addrs.order.len() <= 2 * MAX_REPORTED);
        }
        assert_eq!(addrs.len(), MAX_REPORTED);
        // A client arriving during the flood is reported, and its retransmissions are not.
        let during = start + Duration::from_secs(1);
        assert!(addrs.report(addr(200_000), "client", during));
        assert!(!addrs.report(addr(200_000), "client", during + Duration::from_millis(200)));
        // Registrations and re-reports leave stale entries behind; they stay bounded too.
        for n in 0..10_000 {
            let at = during + Duration::from_millis(n as u64);
            addrs.report(addr(n % 10), "again", at);
            addrs.remove(addr(n % 10), "again");
            assert!(addrs.order.len() <= 2 * MAX_REPORTED);
        }
        addrs.clear();
        assert_eq!(addrs.len(), 0);
    }
}
