//! How long `peer.fetch` waits on peers for a resource before it asks the origin, sans-IO.
//!
//! A resource gives up on peers when none of its bytes came for the peer timeout and no peer
//! delivered any resource of the page for that long either. While peers do deliver other
//! resources (its requests may queue behind theirs), it waits [`PATIENCE_WHILE_PEERS_DELIVER`]
//! peer timeouts for its own bytes.

use std::time::Duration;

/// Peer timeouts a resource waits for its own bytes while peers deliver others.
pub const PATIENCE_WHILE_PEERS_DELIVER: u32 = 3;

/// When one resource last heard from peers.
#[derive(Debug, Clone, Copy)]
pub struct PeerPatience {
    /// The peer timeout.
    pub timeout: Duration,
    /// When the fetch from peers started.
    pub started: Duration,
}

impl PeerPatience {
    /// Whether to give up on peers at `now`, given when bytes of this resource last arrived
    /// (`own`) and when bytes of any resource of the page last came from peers (`any`).
    pub fn exhausted(&self, now: Duration, own: Duration, any: Duration) -> bool {
        let idle = now.saturating_sub(own.max(self.started));
        let peers_idle = now.saturating_sub(any.max(self.started));
        idle >= self.timeout
            && (peers_idle >= self.timeout || idle >= self.timeout * PATIENCE_WHILE_PEERS_DELIVER)
    }
}

#[cfg(test)]
mod tests {
    use super::PeerPatience;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn gives_up_after_the_timeout_when_no_peer_delivers_anything() {
        let patience = PeerPatience {
            timeout: 2 * S,
            started: 10 * S,
        };
        assert!(!patience.exhausted(11 * S, Duration::ZERO, Duration::ZERO));
        assert!(patience.exhausted(12 * S, Duration::ZERO, Duration::ZERO));
        // Its own bytes came at 11 s: the timeout counts from there.
        assert!(!patience.exhausted(12 * S, 11 * S, 11 * S));
        assert!(patience.exhausted(13 * S, 11 * S, 11 * S));
    }

    #[test]
    fn waits_three_timeouts_while_peers_deliver_other_resources() {
        let patience = PeerPatience {
            timeout: 2 * S,
            started: Duration::ZERO,
        };
        assert!(!patience.exhausted(5 * S, Duration::ZERO, 5 * S));
        assert!(patience.exhausted(6 * S, Duration::ZERO, 6 * S));
    }
}
