//! [`Home`]: the server a tab is attached to and the others of its network, sans-IO. When the
//! home server goes away the tab attaches to another one, trying the lost one last; attempts
//! that fail wait a growing, jittered delay so that a network's tabs do not all come back at
//! once.

use std::time::Duration;

use libp2p::PeerId;

use super::backoff::Backoff;
use super::bootstrap::Bootstrap;

/// Wait before the second attempt; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// Each wait is shortened by up to this fraction, at random.
const JITTER: f64 = 0.5;

/// Where a tab attaches and when it tries again.
#[derive(Debug)]
pub struct Home {
    servers: Vec<Bootstrap>,
    backoff: Backoff,
    next_attempt: Duration,
}

impl Home {
    /// A tab of the network made of `servers` (the one first asked first).
    pub fn new(servers: Vec<Bootstrap>) -> Self {
        Self {
            servers,
            backoff: Backoff::new(FIRST_RETRY, MAX_RETRY).with_jitter(JITTER),
            next_attempt: Duration::ZERO,
        }
    }

    /// The network's servers as a newer bootstrap document lists them.
    pub fn update(&mut self, servers: Vec<Bootstrap>) {
        self.servers = servers;
    }

    /// The servers to try, in order: `lost` (the server just lost) last.
    pub fn attempt_order(&self, lost: Option<PeerId>) -> Vec<Bootstrap> {
        let mut servers = self.servers.clone();
        servers.sort_by_key(|server| Some(server.peer_id) == lost);
        servers
    }

    /// Whether to move now: the home server is gone and the wait after the last failure is
    /// over.
    pub fn should_move(&self, now: Duration, home_connected: bool) -> bool {
        !home_connected && now >= self.next_attempt
    }

    /// An attempt to move failed at `now`; `random` is in `0..1`.
    pub fn failed(&mut self, now: Duration, random: f64) {
        self.next_attempt = now + self.backoff.fail(random);
    }

    /// The tab attached to a server.
    pub fn attached(&mut self) {
        self.backoff.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::Home;
    use crate::net::bootstrap::Bootstrap;
    use libp2p::PeerId;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    fn server(peer_id: PeerId) -> Bootstrap {
        Bootstrap::new(peer_id, [])
    }

    #[test]
    fn the_lost_server_is_tried_last() {
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        let home = Home::new(vec![server(a), server(b), server(c)]);
        let order: Vec<PeerId> = home
            .attempt_order(Some(a))
            .iter()
            .map(|s| s.peer_id)
            .collect();
        assert_eq!(order, [b, c, a]);
    }

    #[test]
    fn failed_moves_wait_longer_with_jitter_and_a_success_starts_over() {
        let mut home = Home::new(vec![server(PeerId::random())]);
        assert!(home.should_move(Duration::ZERO, false));
        assert!(!home.should_move(Duration::ZERO, true));
        home.failed(Duration::ZERO, 0.0);
        assert!(!home.should_move(S - Duration::from_millis(1), false));
        assert!(home.should_move(S, false));
        home.failed(S, 1.0);
        // The second wait is 2 s, shortened by half at most.
        assert!(home.should_move(2 * S, false));
        home.failed(2 * S, 0.0);
        assert!(!home.should_move(5 * S, false));
        assert!(home.should_move(6 * S, false));
        home.attached();
        home.failed(6 * S, 0.0);
        assert!(home.should_move(7 * S, false));
    }
}
