//! How long `peer.fetch` waits on peers for a resource before it asks the origin, sans-IO.
//!
//! A resource gives up on peers when none of its pieces came for the peer timeout and no peer
//! sent bytes of any resource of the page for that long either. While peers do send (its
//! pieces may share the links with many others, or queue behind them), it waits
//! [`PATIENCE_WHILE_PEERS_DELIVER`] peer timeouts for a piece of its own. A peer trickling
//! bytes holds a resource that long at most.
//!
//! Until a peer first offers pieces, the wait is [`PATIENCE_BEFORE_AN_OFFER`] peer timeouts:
//! finding providers and setting up a link to one (a relayed connection, then WebRTC, then a
//! stream) takes a second or so on a busy machine before any peer can be silent. From the
//! offer on, silence is counted.

use std::time::Duration;

/// Peer timeouts a resource waits for a piece of its own while peers send bytes.
pub const PATIENCE_WHILE_PEERS_DELIVER: u32 = 3;
/// Peer timeouts a resource waits for a first offer from peers.
pub const PATIENCE_BEFORE_AN_OFFER: u32 = 2;

/// When one resource last heard from peers.
#[derive(Debug, Clone, Copy)]
pub struct PeerPatience {
    /// The peer timeout.
    pub timeout: Duration,
    /// When the fetch from peers started.
    pub started: Duration,
}

impl PeerPatience {
    /// When to give up on peers, given when a peer first offered pieces of this resource
    /// (`offered`), when a piece of it last arrived (`own`), and when bytes of any resource of
    /// the page last came from peers (`any`), if nothing more comes. Only news moves it later,
    /// so a caller sleeps until then instead of checking on a timer (a hidden page's timers
    /// fire a second or more late).
    pub fn gives_up_at(&self, offered: Option<Duration>, own: Duration, any: Duration) -> Duration {
        let since = own.max(self.started).max(offered.unwrap_or_default());
        let allowed = match offered {
            Some(_) => self.timeout,
            None => self.timeout * PATIENCE_BEFORE_AN_OFFER,
        };
        let peers_silent = any.max(self.started) + self.timeout;
        let own_silent_long = since + self.timeout * PATIENCE_WHILE_PEERS_DELIVER;
        (since + allowed).max(peers_silent.min(own_silent_long))
    }
}

#[cfg(test)]
mod tests {
    use super::{PeerPatience, PATIENCE_BEFORE_AN_OFFER, PATIENCE_WHILE_PEERS_DELIVER};
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    impl PeerPatience {
        fn exhausted(
            &self,
            now: Duration,
            offered: Option<Duration>,
            own: Duration,
            any: Duration,
        ) -> bool {
            now >= self.gives_up_at(offered, own, any)
        }

        /// The rule of the module docs, written as it reads: silent for the allowed time, and
        /// either every peer silent for a timeout or this resource for three.
        fn as_the_docs_say(
            &self,
            now: Duration,
            offered: Option<Duration>,
            own: Duration,
            any: Duration,
        ) -> bool {
            let since = own.max(self.started).max(offered.unwrap_or_default());
            let idle = now.saturating_sub(since);
            let peers_idle = now.saturating_sub(any.max(self.started));
            let allowed = match offered {
                Some(_) => self.timeout,
                None => self.timeout * PATIENCE_BEFORE_AN_OFFER,
            };
            idle >= allowed
                && (peers_idle >= self.timeout
                    || idle >= self.timeout * PATIENCE_WHILE_PEERS_DELIVER)
        }
    }

    #[test]
    fn waits_two_timeouts_for_an_offer_then_one_of_silence() {
        let patience = PeerPatience {
            timeout: 2 * S,
            started: 10 * S,
        };
        let zero = Duration::ZERO;
        // Nobody offered: two timeouts from the start.
        assert!(!patience.exhausted(13 * S, None, zero, zero));
        assert!(patience.exhausted(14 * S, None, zero, zero));
        // A peer offered at 13 s: one timeout of silence from there.
        assert!(!patience.exhausted(14 * S, Some(13 * S), zero, zero));
        assert!(patience.exhausted(15 * S, Some(13 * S), zero, zero));
        // Its own bytes came at 14 s: the timeout counts from there.
        assert!(!patience.exhausted(15 * S, Some(13 * S), 14 * S, 14 * S));
        assert!(patience.exhausted(16 * S, Some(13 * S), 14 * S, 14 * S));
    }

    #[test]
    fn waits_three_timeouts_while_peers_deliver_other_resources() {
        let patience = PeerPatience {
            timeout: 2 * S,
            started: Duration::ZERO,
        };
        let offered = Some(Duration::ZERO);
        assert!(!patience.exhausted(5 * S, offered, Duration::ZERO, 5 * S));
        assert!(patience.exhausted(6 * S, offered, Duration::ZERO, 6 * S));
        assert!(!patience.exhausted(5 * S, None, Duration::ZERO, 5 * S));
        assert!(patience.exhausted(6 * S, None, Duration::ZERO, 6 * S));
    }

    #[test]
    fn gives_up_exactly_when_the_docs_say() {
        let patience = PeerPatience {
            timeout: 2 * S,
            started: 10 * S,
        };
        let ms = Duration::from_millis;
        let times = [None, Some(11 * S), Some(13 * S)];
        for offered in times {
            for own in [Duration::ZERO, 12 * S, 15 * S] {
                for any in [Duration::ZERO, 12 * S, 16 * S, 19 * S] {
                    let at = patience.gives_up_at(offered, own, any);
                    assert!(patience.as_the_docs_say(at, offered, own, any));
                    assert!(!patience.as_the_docs_say(at - ms(1), offered, own, any));
                }
            }
        }
    }
}
