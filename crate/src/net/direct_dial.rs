//! Upgrading to a direct browser-to-browser connection, sans-IO: first a relayed connection
//! through the server (signaling needs it), then the `/webrtc` dial over it. One attempt per
//! peer at a time; every caller waiting on that peer gets the same outcome.
//!
//! A caller is answered only once the direct link is the peer's only link: streams open on
//! whichever connection to the peer exists, so one opened while the relayed connection (or a
//! duplicate direct link) is still closing could land on it and die with it.
//!
//! When the peer's own dial comes up while ours is under way, the attempt waits for ours to
//! end: ours then lands beside it (and one of the two closes as a duplicate) or fails (and the
//! peer's link serves); a caller answered in between could open a stream on the one that closes.
//!
//! A duplicate direct link (both tabs dialed each other at once) is closed only
//! [`DUPLICATE_GRACE`] after it was found: the other tab's side of the link it keeps may come
//! up a little later than ours, and closing the duplicate at once would leave that tab for a
//! moment with no link to us at all (its callers failed, its streams cut).

use crate::net::transport_kind::TransportKind;
use libp2p::{swarm::ConnectionId, PeerId};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How long a duplicate direct link stays open after it was found (see the module docs).
pub const DUPLICATE_GRACE: Duration = Duration::from_millis(500);

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

/// What an attempt waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    /// The relayed connection.
    Relayed,
    /// The direct `/webrtc` connection.
    Direct,
    /// The other links to the peer to finish closing.
    Settled,
}

#[derive(Debug)]
struct Attempt<W> {
    awaiting: Awaiting,
    dial: Option<ConnectionId>,
    /// A direct link the peer dialed, up while our own `/webrtc` dial is under way.
    theirs: Option<ConnectionId>,
    waiters: Vec<W>,
}

/// Direct-connection attempts in progress, at most one per peer.
#[derive(Debug)]
pub struct DirectDials<W> {
    attempts: HashMap<PeerId, Attempt<W>>,
    /// Links the caller is closing, per peer (each is an open connection, so this is bounded
    /// by the connections; an entry leaves when its connection closes).
    closing: HashMap<PeerId, HashSet<ConnectionId>>,
    /// Duplicates to close once their grace is over, and when (each is also `closing`).
    duplicates: Vec<(Duration, PeerId, ConnectionId)>,
}

impl<W> Default for DirectDials<W> {
    fn default() -> Self {
        Self {
            attempts: HashMap::new(),
            closing: HashMap::new(),
            duplicates: Vec::new(),
        }
    }
}

impl<W> DirectDials<W> {
    /// Asks for a direct connection to `peer`, given what exists now (leaving out links that
    /// are closing).
    pub fn request(&mut self, peer: PeerId, links: Links, waiter: W) -> Vec<Step<W>> {
        if links.direct && !self.closing.contains_key(&peer) {
            return vec![Step::Resolve(peer, vec![waiter], Ok(()))];
        }
        if let Some(attempt) = self.attempts.get_mut(&peer) {
            attempt.waiters.push(waiter);
            return Vec::new();
        }
        if links.direct {
            self.attempts.insert(
                peer,
                Attempt {
                    awaiting: Awaiting::Settled,
                    dial: None,
                    theirs: None,
                    waiters: vec![waiter],
                },
            );
            return Vec::new();
        }
        let (awaiting, step) = if links.relayed {
            (Awaiting::Direct, Step::DialWebRtc(peer))
        } else {
            (Awaiting::Relayed, Step::DialRelayed(peer))
        };
        self.attempts.insert(
            peer,
            Attempt {
                awaiting,
                dial: None,
                theirs: None,
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

    /// The caller is closing `connection` to `peer`; call before [`established`] for the link
    /// that replaces it.
    ///
    /// [`established`]: Self::established
    pub fn closing(&mut self, peer: PeerId, connection: ConnectionId) {
        self.closing.entry(peer).or_default().insert(connection);
    }

    /// `connection` to `peer` duplicates the direct link kept (found at `now`): it counts as
    /// closing from now, and [`due_duplicates`] hands it back to be closed after
    /// [`DUPLICATE_GRACE`].
    ///
    /// [`due_duplicates`]: Self::due_duplicates
    pub fn duplicate(&mut self, peer: PeerId, connection: ConnectionId, now: Duration) {
        if !self.is_closing(peer, connection) {
            self.closing(peer, connection);
            self.duplicates
                .push((now + DUPLICATE_GRACE, peer, connection));
        }
    }

    /// The duplicates whose grace is over at `now`: close them.
    pub fn due_duplicates(&mut self, now: Duration) -> Vec<(PeerId, ConnectionId)> {
        let (due, later) = std::mem::take(&mut self.duplicates)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        self.duplicates = later;
        due.into_iter().map(|(_, peer, c)| (peer, c)).collect()
    }

    /// When the next duplicate's grace is over, if one waits.
    pub fn next_duplicate_due(&self) -> Option<Duration> {
        self.duplicates.iter().map(|(at, _, _)| *at).min()
    }

    /// Whether `connection` is one the caller is closing.
    pub fn is_closing(&self, peer: PeerId, connection: ConnectionId) -> bool {
        self.closing
            .get(&peer)
            .is_some_and(|closing| closing.contains(&connection))
    }

    /// `connection` to `peer` came up.
    pub fn established(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        transport: TransportKind,
    ) -> Vec<Step<W>> {
        let Some(attempt) = self.attempts.get_mut(&peer) else {
            return Vec::new();
        };
        let ours_under_way = attempt.dial.is_some_and(|dial| dial != connection);
        match (transport, attempt.awaiting) {
            (TransportKind::WebRtc, Awaiting::Direct) if ours_under_way => {
                attempt.theirs = Some(connection);
                Vec::new()
            }
            (TransportKind::WebRtc, _) => {
                attempt.awaiting = Awaiting::Settled;
                attempt.dial = None;
                self.settle(peer)
            }
            (TransportKind::Relay, Awaiting::Relayed) => {
                attempt.awaiting = Awaiting::Direct;
                attempt.dial = None;
                vec![Step::DialWebRtc(peer)]
            }
            _ => Vec::new(),
        }
    }

    /// `connection` to `peer` closed; `links` are what remain.
    pub fn closed(&mut self, peer: PeerId, connection: ConnectionId, links: Links) -> Vec<Step<W>> {
        self.duplicates
            .retain(|(_, p, c)| (*p, *c) != (peer, connection));
        if let Some(closing) = self.closing.get_mut(&peer) {
            closing.remove(&connection);
            if closing.is_empty() {
                self.closing.remove(&peer);
            }
        }
        if let Some(attempt) = self.attempts.get_mut(&peer) {
            if attempt.theirs == Some(connection) {
                attempt.theirs = None;
            }
        }
        let settling = self
            .attempts
            .get(&peer)
            .is_some_and(|attempt| attempt.awaiting == Awaiting::Settled);
        if settling && !links.direct {
            let attempt = self.attempts.remove(&peer).expect("present");
            let error = format!("direct WebRTC connection to {peer} closed");
            return vec![Step::Resolve(peer, attempt.waiters, Err(error))];
        }
        self.settle(peer)
    }

    /// Answers the attempt waiting for `peer`'s other links to close, if none is left.
    fn settle(&mut self, peer: PeerId) -> Vec<Step<W>> {
        let settled = !self.closing.contains_key(&peer)
            && self
                .attempts
                .get(&peer)
                .is_some_and(|attempt| attempt.awaiting == Awaiting::Settled);
        if !settled {
            return Vec::new();
        }
        let attempt = self.attempts.remove(&peer).expect("present");
        vec![Step::Resolve(peer, attempt.waiters, Ok(()))]
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
        if let Some(attempt) = self.attempts.get_mut(&peer) {
            if attempt.theirs.is_some() {
                // The link the peer dialed serves instead.
                attempt.awaiting = Awaiting::Settled;
                attempt.dial = None;
                return self.settle(peer);
            }
        }
        let attempt = self.attempts.remove(&peer).expect("present");
        let stage = match attempt.awaiting {
            Awaiting::Relayed => "relayed connection",
            Awaiting::Direct | Awaiting::Settled => "direct WebRTC connection",
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
            dials.established(b, ConnectionId::new_unchecked(1), TransportKind::Relay),
            vec![Step::DialWebRtc(b)]
        );
        dials.dialed(b, ConnectionId::new_unchecked(2));
        assert_eq!(
            dials.established(b, ConnectionId::new_unchecked(2), TransportKind::WebRtc),
            vec![Step::Resolve(b, vec![1, 2], Ok(()))]
        );
        assert_eq!(
            dials.request(b, Links::default(), 3),
            vec![Step::DialRelayed(b)],
            "the attempt is over: a new one may start"
        );
    }

    fn conn(id: usize) -> ConnectionId {
        ConnectionId::new_unchecked(id)
    }

    const DIRECT: Links = Links {
        direct: true,
        relayed: false,
    };

    #[test]
    fn callers_are_answered_once_the_relayed_link_has_closed() {
        let mut dials = DirectDials::default();
        let b = peer();
        let relayed = conn(1);
        dials.request(b, Links::default(), 1);
        dials.dialed(b, relayed);
        dials.established(b, relayed, TransportKind::Relay);
        dials.dialed(b, conn(2));
        dials.closing(b, relayed);
        assert!(dials.is_closing(b, relayed));
        assert_eq!(
            dials.established(b, conn(2), TransportKind::WebRtc),
            vec![],
            "a stream opened now could land on the relayed link"
        );
        assert_eq!(
            dials.request(b, DIRECT, 2),
            vec![],
            "a later caller waits as well"
        );
        assert_eq!(
            dials.closed(b, relayed, DIRECT),
            vec![Step::Resolve(b, vec![1, 2], Ok(()))]
        );
        assert!(!dials.is_closing(b, relayed));
        assert_eq!(
            dials.request(b, DIRECT, 3),
            vec![Step::Resolve(b, vec![3], Ok(()))]
        );
    }

    #[test]
    fn a_duplicate_direct_link_closing_holds_callers_until_it_is_gone() {
        let mut dials = DirectDials::default();
        let b = peer();
        let (loser, other) = (conn(7), conn(8));
        // The other tab dialed at the same time: its link is the one to close.
        dials.closing(b, loser);
        assert_eq!(dials.established(b, other, TransportKind::WebRtc), vec![]);
        assert_eq!(dials.request(b, DIRECT, 1), vec![]);
        assert_eq!(
            dials.closed(b, other, DIRECT),
            vec![],
            "another link closing changes nothing"
        );
        assert_eq!(
            dials.closed(b, loser, DIRECT),
            vec![Step::Resolve(b, vec![1], Ok(()))]
        );
    }

    #[test]
    fn the_direct_link_dying_while_others_close_fails_the_callers() {
        let mut dials = DirectDials::default();
        let b = peer();
        let (relayed, direct) = (conn(1), conn(2));
        dials.request(b, Links::default(), 1);
        dials.established(b, relayed, TransportKind::Relay);
        dials.closing(b, relayed);
        dials.established(b, direct, TransportKind::WebRtc);
        let relayed_left = Links {
            direct: false,
            relayed: true,
        };
        assert!(matches!(
            &dials.closed(b, direct, relayed_left)[..],
            [Step::Resolve(_, waiters, Err(_))] if waiters == &vec![1]
        ));
        assert_eq!(dials.closed(b, relayed, Links::default()), vec![]);
        assert!(
            !dials.is_closing(b, relayed),
            "nothing is left about the peer"
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
    fn a_waiter_is_answered_only_after_our_own_dial_ends_when_the_peer_dialed_first() {
        let relayed = Links {
            direct: false,
            relayed: true,
        };
        let (ours, theirs) = (conn(2), conn(7));
        for our_dial_lands in [true, false] {
            let mut dials = DirectDials::default();
            let b = peer();
            assert_eq!(dials.request(b, relayed, 1), vec![Step::DialWebRtc(b)]);
            dials.dialed(b, ours);
            assert_eq!(
                dials.established(b, theirs, TransportKind::WebRtc),
                vec![],
                "ours may still land beside it"
            );
            let answered = if our_dial_lands {
                // Both tabs keep one of the two; the other closes after its grace.
                dials.duplicate(b, theirs, Duration::ZERO);
                assert_eq!(dials.established(b, ours, TransportKind::WebRtc), vec![]);
                dials.closed(b, theirs, DIRECT)
            } else {
                dials.failed(b, Some(ours), "ICE failed")
            };
            assert_eq!(answered, vec![Step::Resolve(b, vec![1], Ok(()))]);
        }
        // The peer's link gone before ours failed: the attempt fails.
        let mut dials = DirectDials::default();
        let b = peer();
        dials.request(b, relayed, 1);
        dials.dialed(b, ours);
        dials.established(b, theirs, TransportKind::WebRtc);
        assert_eq!(dials.closed(b, theirs, relayed), vec![]);
        assert!(matches!(
            &dials.failed(b, Some(ours), "ICE failed")[..],
            [Step::Resolve(_, waiters, Err(_))] if waiters == &vec![1]
        ));
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
    fn a_duplicate_is_closed_after_its_grace_and_callers_wait_for_it() {
        let mut dials = DirectDials::default();
        let b = peer();
        let (kept, duplicate) = (
            ConnectionId::new_unchecked(1),
            ConnectionId::new_unchecked(2),
        );
        let now = Duration::from_secs(5);
        dials.duplicate(b, duplicate, now);
        dials.duplicate(b, duplicate, now); // found again: one close
        let direct = Links {
            direct: true,
            relayed: false,
        };
        assert!(
            dials.request(b, direct, 1).is_empty(),
            "waits for the duplicate to go"
        );
        assert_eq!(dials.next_duplicate_due(), Some(now + DUPLICATE_GRACE));
        assert!(dials.due_duplicates(now + DUPLICATE_GRACE / 2).is_empty());
        assert_eq!(
            dials.due_duplicates(now + DUPLICATE_GRACE),
            [(b, duplicate)]
        );
        assert!(dials.due_duplicates(now + DUPLICATE_GRACE * 2).is_empty());
        assert_eq!(dials.next_duplicate_due(), None);
        assert_eq!(
            dials.closed(b, duplicate, direct),
            [Step::Resolve(b, vec![1], Ok(()))]
        );
        assert!(!dials.is_closing(b, kept));
        // A duplicate that the other tab closed first is not handed back.
        dials.duplicate(b, ConnectionId::new_unchecked(3), now);
        dials.closed(b, ConnectionId::new_unchecked(3), direct);
        assert!(dials.due_duplicates(now + DUPLICATE_GRACE).is_empty());
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
