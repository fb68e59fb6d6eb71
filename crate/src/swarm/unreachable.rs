//! [`Unreachable`]: the peers a tab could not open a stream to, resting before they are dialed
//! again, for every resource at once, sans-IO.
//!
//! A provider record outlives its tab until the server forgets it. Were rests kept per
//! resource, a page fetching many small resources (a video's segments, a site's assets) would
//! dial every departed tab once per resource; kept per tab, a failed dial makes the peer rest
//! for all of them. The rest grows with failures in a row ([`Backoff`]); a stream that opens to
//! the peer, about any resource, ends it.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use crate::net::backoff::Backoff;

/// Peers remembered as resting; past it, those whose rest is over are forgotten, then the one
/// whose rest ends first.
const MAX_RESTING: usize = 1024;

/// A peer that could not be reached: until when it rests, and its backoff.
#[derive(Debug)]
struct Resting {
    until: Duration,
    backoff: Backoff,
}

/// The peers resting after failed dials.
#[derive(Debug)]
pub struct Unreachable<P> {
    /// First and longest rest.
    rest: (Duration, Duration),
    resting: HashMap<P, Resting>,
}

impl<P: Copy + Eq + Hash> Unreachable<P> {
    /// Nobody resting; a peer rests `first` after one failed dial, twice that after two, and so
    /// on up to `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            rest: (first, max),
            resting: HashMap::new(),
        }
    }

    /// A dial to `peer` failed at `now`: it rests longer than after its last failure.
    pub fn failed(&mut self, peer: P, now: Duration) {
        if self.resting.len() >= MAX_RESTING && !self.resting.contains_key(&peer) {
            self.resting.retain(|_, r| r.until > now);
            if self.resting.len() >= MAX_RESTING {
                let first_back = self.resting.iter().min_by_key(|(_, r)| r.until);
                if let Some(peer) = first_back.map(|(peer, _)| *peer) {
                    self.resting.remove(&peer);
                }
            }
        }
        let (first, max) = self.rest;
        let resting = self.resting.entry(peer).or_insert(Resting {
            until: now,
            backoff: Backoff::new(first, max),
        });
        resting.until = now + resting.backoff.fail(0.0);
    }

    /// A stream to `peer` opened: its next failure rests it `first` again.
    pub fn reached(&mut self, peer: P) {
        self.resting.remove(&peer);
    }

    /// Whether `peer` rests at `now` (not to be dialed).
    pub fn is_resting(&self, peer: &P, now: Duration) -> bool {
        self.resting.get(peer).is_some_and(|r| r.until > now)
    }

    /// Peers remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.resting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{Unreachable, MAX_RESTING};
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_peer_rests_longer_after_each_failure_until_reached() {
        let mut unreachable = Unreachable::new(2 * S, 30 * S);
        let mut dialed_at = Vec::new();
        for second in 0..60 {
            let now = second * S;
            if !unreachable.is_resting(&9, now) {
                dialed_at.push(second);
                unreachable.failed(9, now);
            }
        }
        assert_eq!(dialed_at, [0, 2, 6, 14, 30]);
        unreachable.reached(9);
        assert!(!unreachable.is_resting(&9, 60 * S));
        unreachable.failed(9, 60 * S);
        assert!(!unreachable.is_resting(&9, 62 * S), "the rest starts over");
    }

    #[test]
    fn the_resting_peers_remembered_are_bounded() {
        let mut unreachable = Unreachable::new(2 * S, 30 * S);
        for peer in 0..3 * MAX_RESTING as u32 {
            unreachable.failed(peer, Duration::from_millis(peer.into()));
        }
        assert_eq!(unreachable.len(), MAX_RESTING);
        let last = 3 * MAX_RESTING as u32 - 1;
        assert!(unreachable.is_resting(&last, S), "the newest is kept");
    }
}
