//! Upgrading to a direct browser-to-browser connection, sans-IO: first a relayed connection
//! through the server (signaling needs it), then the `/webrtc` dial over it. One attempt per
//! peer at a time; every caller waiting on that peer gets the same outcome.

use crate::net::transport_kind::TransportKind;
use libp2p::{swarm::ConnectionId, PeerId};
use std::collections::HashMap;

/// What connections to a peer exist now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Links {
    /// A direct `/webrtc` connection.
    pub direct: bool,
    /// A relayed (`/p2p-circuit`) connection.
    pub relayed: bool,
}

/// What the caller must do next. `W` is whatever the caller uses to answer a waiter.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<W> {
    /// Dial the peer's relayed address, then report [`DirectDials::dialed`].
    DialRelayed(PeerId),
    /// Dial the peer's `/webrtc` address (even though connected), then report `dialed`.
    DialWebRtc(PeerId),
    /// Answer these waiters about this peer.
    Resolve(PeerId, Vec<W>, Result<(), String>),
}

#[derive(Debug)]
struct Attempt<W> {
    awaiting: TransportKind,
    dial: Option<ConnectionId>,
    waiters: Vec<W>,
}

/// Direct-connection attempts in progress, at most one per peer.
#[derive(Debug)]
pub struct DirectDials<W> {
    attempts: HashMap<PeerId, Attempt<W>>,
}

impl<W> Default for DirectDials<W> {
    fn default() -> Self {
        Self {
            attempts: HashMap::new(),
        }
    }
}

impl<W> DirectDials<W> {
    /// Asks for a direct connection to `peer`, given what exists now.
    pub fn request(&mut self, peer: PeerId, links: Links, waiter: W) -> Vec<Step<W>> {
        if links.direct {
            return vec![Step::Resolve(peer, vec![waiter], Ok(()))];
        }
        if let Some(attempt) = self.attempts.get_mut(&peer) {
            attempt.waiters.push(waiter);
            return Vec::new();
        }
        let (awaiting, step) = if links.relayed {
            (TransportKind::WebRtc, Step::DialWebRtc(peer))
        } else {
            (TransportKind::Relay, Step::DialRelayed(peer))
        };
        self.attempts.insert(
            peer,
            Attempt {
                awaiting,
                dial: None,
                waiters: vec![waiter],
            },
        );
        vec![step]
    }

    /// The dial asked for by the last step for `peer` started as `connection`.
    pub fn dialed(&mut self, peer: PeerId, connection: ConnectionId) {
        if let Some(attempt) = self.attempts.get_mut(&peer) {
            attempt.dial = Some(connection);
        }
    }

    /// A connection to `peer` came up.
    pub fn established(&mut self, peer: PeerId, transport: TransportKind) -> Vec<Step<W>> {
        let Some(attempt) = self.attempts.get_mut(&peer) else {
            return Vec::new();
        };
        match transport {
            TransportKind::WebRtc => {
                let attempt = self.attempts.remove(&peer).expect("present");
                vec![Step::Resolve(peer, attempt.waiters, Ok(()))]
            }
            TransportKind::Relay if attempt.awaiting == TransportKind::Relay => {
                attempt.awaiting = TransportKind::WebRtc;
                attempt.dial = None;
                vec![Step::DialWebRtc(peer)]
            }
            _ => Vec::new(),
        }
    }

    /// The dial `connection` to `peer` failed (or could not start: pass `None`).
    pub fn failed(
        &mut self,
        peer: PeerId,
        connection: Option<ConnectionId>,
        reason: &str,
    ) -> Vec<Step<W>> {
        let ours = self
            .attempts
            .get(&peer)
            .is_some_and(|attempt| connection.is_none() || attempt.dial == connection);
        if !ours {
            return Vec::new();
        }
        let attempt = self.attempts.remove(&peer).expect("present");
        let stage = match attempt.awaiting {
            TransportKind::Relay => "relayed connection",
            _ => "direct WebRTC connection",
        };
        vec![Step::Resolve(
            peer,
            attempt.waiters,
            Err(format!("{stage} to {peer} failed: {reason}")),
        )]
    }
}

/// Which direct links to `peer` to close when a new one (`new`: its id, and whether this tab
/// dialed it) comes up beside `existing` ones. When both tabs dialed each other at once, both
/// keep the link the tab with the smaller peer id dialed, so they close the same one.
pub fn redundant_direct_links<C: Copy + PartialEq>(
    local: PeerId,
    peer: PeerId,
    new: (C, bool),
    existing: &[(C, bool)],
) -> Vec<C> {
    let keep_ours = local < peer;
    let new_is_keeper = new.1 == keep_ours;
    let mut close = Vec::new();
    for &(old, old_we_dialed) in existing {
        let old_is_keeper = old_we_dialed == keep_ours;
        let loser = if new_is_keeper || !old_is_keeper {
            old
        } else {
            new.0
        };
        if !close.contains(&loser) {
            close.push(loser);
        }
    }
    close
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        PeerId::random()
    }

    #[test]
    fn relayed_first_then_webrtc_then_everyone_is_answered() {
        let mut dials = DirectDials::default();
        let b = peer();
        assert_eq!(
            dials.request(b, Links::default(), 1),
            vec![Step::DialRelayed(b)]
        );
        assert_eq!(
            dials.request(b, Links::default(), 2),
            vec![],
            "no second dial while one runs"
        );
        dials.dialed(b, ConnectionId::new_unchecked(1));
        assert_eq!(
            dials.established(b, TransportKind::Relay),
            vec![Step::DialWebRtc(b)]
        );
        dials.dialed(b, ConnectionId::new_unchecked(2));
        assert_eq!(
            dials.established(b, TransportKind::WebRtc),
            vec![Step::Resolve(b, vec![1, 2], Ok(()))]
        );
        assert_eq!(
            dials.request(b, Links::default(), 3),
            vec![Step::DialRelayed(b)],
            "the attempt is over: a new one may start"
        );
    }

    #[test]
    fn existing_links_shorten_the_path() {
        let mut dials = DirectDials::default();
        let b = peer();
        let direct = Links {
            direct: true,
            relayed: false,
        };
        assert_eq!(
            dials.request(b, direct, 1),
            vec![Step::Resolve(b, vec![1], Ok(()))]
        );
        let relayed = Links {
            direct: false,
            relayed: true,
        };
        assert_eq!(dials.request(b, relayed, 2), vec![Step::DialWebRtc(b)]);
    }

    #[test]
    fn only_our_dial_failing_ends_the_attempt() {
        let mut dials = DirectDials::default();
        let b = peer();
        dials.request(b, Links::default(), 1);
        dials.dialed(b, ConnectionId::new_unchecked(5));
        assert_eq!(
            dials.failed(b, Some(ConnectionId::new_unchecked(9)), "other"),
            vec![]
        );
        let steps = dials.failed(b, Some(ConnectionId::new_unchecked(5)), "no reservation");
        assert_eq!(
            steps,
            vec![Step::Resolve(
                b,
                vec![1],
                Err(format!("relayed connection to {b} failed: no reservation"))
            )]
        );
        // A dial that could not even start.
        dials.request(
            b,
            Links {
                direct: false,
                relayed: true,
            },
            2,
        );
        assert!(
            matches!(&dials.failed(b, None, "refused")[..], [Step::Resolve(_, w, Err(_))] if w == &vec![2])
        );
    }

    #[test]
    fn both_tabs_keep_the_link_the_smaller_peer_id_dialed() {
        let (a, b) = (peer(), peer());
        let (small, large) = if a < b { (a, b) } else { (b, a) };
        // Link 1 was dialed by the small tab, link 2 by the large one; each tab sees both,
        // in either order, and must close link 2.
        for (new, old) in [(1, 2), (2, 1)] {
            let small_dialed = |link| link == 1;
            let at_small = redundant_direct_links(
                small,
                large,
                (new, small_dialed(new)),
                &[(old, small_dialed(old))],
            );
            let at_large = redundant_direct_links(
                large,
                small,
                (new, !small_dialed(new)),
                &[(old, !small_dialed(old))],
            );
            assert_eq!(at_small, [2]);
            assert_eq!(at_large, [2]);
        }
        assert!(redundant_direct_links::<u8>(small, large, (1, true), &[]).is_empty());
    }
}
