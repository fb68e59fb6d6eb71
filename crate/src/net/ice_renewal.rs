//! When a tab asks its server for the ICE servers it offers (`/peerfetch/ice/1`: its STUN, its
//! TURN with credentials for the tab): as soon as it is attached to a server (so a move brings
//! the new server's), again when four fifths of the answer's lifetime has passed, after a
//! backoff when asking failed, and never again from a server that does not speak the protocol.
//! Sans-IO: time passed in, the tab sends the request when [`IceRenewal::poll_request`] says so.

use crate::net::backoff::Backoff;
use std::time::Duration;

/// The shortest wait before asking again, however short the answer's lifetime.
const MIN_RENEWAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not attached, the tab's own `iceServers` are used, or the server does not answer.
    Idle,
    /// Ask at this time.
    Due(Duration),
    /// A request is in flight.
    Asking,
}

/// The ICE servers schedule of one tab.
#[derive(Debug, Clone)]
pub struct IceRenewal {
    enabled: bool,
    state: State,
    backoff: Backoff,
}

impl IceRenewal {
    /// `enabled` is false when the tab's `iceServers` option replaces what servers offer.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            state: State::Idle,
            backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(60)),
        }
    }

    /// The tab attached to a server (first join, or a move): ask it now.
    pub fn attached(&mut self, now: Duration) {
        if self.enabled {
            self.backoff.reset();
            self.state = State::Due(now);
        }
    }

    /// Whether to send a request now; if so, it counts as in flight until answered.
    pub fn poll_request(&mut self, now: Duration) -> bool {
        match self.state {
            State::Due(at) if now >= at => {
                self.state = State::Asking;
                true
            }
            _ => false,
        }
    }

    /// The server answered, good for `valid_for` (any length: a server's figure, so nothing
    /// here may overflow on it).
    pub fn offered(&mut self, now: Duration, valid_for: Duration) {
        self.backoff.reset();
        let renew_in = (valid_for / 5).saturating_mul(4).max(MIN_RENEWAL);
        self.state = State::Due(now.saturating_add(renew_in));
    }

    /// The request failed (connection lost, bad answer): ask again after a backoff.
    pub fn failed(&mut self, now: Duration) {
        self.state = State::Due(now + self.backoff.fail(0.0));
    }

    /// The server does not speak the protocol (an older one): stop asking it.
    pub fn unavailable(&mut self) {
        self.state = State::Idle;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn asks_on_attach_then_before_expiry() {
        let mut turn = IceRenewal::new(true);
        assert!(
            !turn.poll_request(Duration::ZERO),
            "nothing before attaching"
        );
        turn.attached(5 * S);
        assert!(turn.poll_request(5 * S));
        assert!(!turn.poll_request(6 * S), "one request in flight");
        turn.offered(6 * S, 3600 * S);
        assert!(!turn.poll_request(2885 * S));
        assert!(
            turn.poll_request(2886 * S),
            "at four fifths of the lifetime"
        );
        turn.offered(2886 * S, S);
        assert!(!turn.poll_request(2895 * S), "never sooner than 10 s");
        assert!(turn.poll_request(2896 * S));
        turn.offered(2896 * S, Duration::MAX);
        assert!(
            !turn.poll_request(Duration::from_secs(1 << 40)),
            "a huge lifetime is no panic, and no request for ages"
        );
    }

    #[test]
    fn failures_back_off_and_a_server_without_turn_is_not_asked_again() {
        let mut turn = IceRenewal::new(true);
        turn.attached(Duration::ZERO);
        assert!(turn.poll_request(Duration::ZERO));
        turn.failed(Duration::ZERO);
        assert!(!turn.poll_request(S));
        assert!(turn.poll_request(2 * S));
        turn.failed(2 * S);
        assert!(!turn.poll_request(5 * S));
        assert!(turn.poll_request(6 * S), "twice as long the second time");
        turn.unavailable();
        assert!(!turn.poll_request(1000 * S));
        turn.attached(1000 * S);
        assert!(turn.poll_request(1000 * S), "a new server is asked");
    }

    #[test]
    fn a_tab_with_its_own_ice_servers_never_asks() {
        let mut turn = IceRenewal::new(false);
        turn.attached(Duration::ZERO);
        assert!(!turn.poll_request(Duration::ZERO));
    }
}
