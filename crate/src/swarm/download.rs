//! [`Download`]: pulls the missing pieces of one resource from every peer that has them at once,
//! sans-IO. The caller feeds it messages, byte arrivals and the clock, and carries out the
//! [`Event`]s it returns: messages to send, verified pieces to store, peers to drop.
//!
//! - Rarest first: a peer is asked for the piece fewest peers hold, ties broken at random so
//!   downloaders spread over the swarm; pieces a reader waits for ([`Download::prefer`]) come
//!   before any other, in order.
//! - Pipelining: each peer keeps a window of requests sized to its measured rate (how much it
//!   delivers in [`DownloadConfig::queue_target`]), so slow peers get less.
//! - Endgame: once every obtainable piece is asked for, idle peers duplicate open requests; the
//!   first copy to verify wins and the others are cancelled.
//! - Stalls: a peer that sends nothing for [`DownloadConfig::stall_timeout`] while asked, or
//!   holds a request for [`DownloadConfig::request_timeout`] (dripping bytes to look alive),
//!   loses its requests to others, rests, and is dropped after [`DownloadConfig::max_stalls`].
//! - Lies: a piece failing verification bans its sender from this swarm at once; nothing it
//!   sent is kept.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Debug;
use std::ops::Range;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::content::bitfield::Bitfield;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::{PieceLayout, PIECE_LEN};
use crate::content::piece_proof::{verify_piece, VerifiedPiece};

use super::ban_list::BanList;
use super::message::{RejectReason, SwarmMessage};

/// Whether request `id` was made by a swarm whose next request is `next`: requests are
/// numbered from 0 for a resource, across its downloads. (After 2^32 requests of one resource,
/// 4 PiB, the numbers wrap and an old request is taken for one never made.)
pub fn made(id: u32, next: u32) -> bool {
    id < next
}

/// Ranges of pieces readers wait for that a download remembers; older ones are forgotten.
pub const MAX_PREFERRED: usize = 8;

/// Tuning of a [`Download`].
#[derive(Debug, Clone)]
pub struct DownloadConfig {
    /// Requests queued at a peer before its rate is known.
    pub initial_window: u32,
    /// Most requests queued at one peer.
    pub max_window: u32,
    /// How much work, in time at a peer's measured rate, to keep queued at it.
    pub queue_target: Duration,
    /// A peer with open requests that sends no byte for this long has stalled.
    pub stall_timeout: Duration,
    /// A peer with a request open this long has stalled, however it trickles bytes (a piece
    /// must come at 17 KB/s at least with the default of 60 s).
    pub request_timeout: Duration,
    /// Stalls after which a peer is dropped.
    pub max_stalls: u32,
    /// Most peers asked for the same piece in endgame.
    pub endgame_copies: usize,
    /// Seed of the tie-break between equally rare pieces.
    pub seed: u64,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self {
            initial_window: 4,
            max_window: 16,
            queue_target: Duration::from_millis(500),
            stall_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_stalls: 3,
            endgame_copies: 2,
            seed: 0,
        }
    }
}

/// What the caller must do.
#[derive(Debug)]
pub enum Event<P> {
    /// Send a message to a peer.
    Send(P, SwarmMessage),
    /// A piece passed verification: store it and serve it onward.
    Verified(VerifiedPiece),
    /// Close the stream to a peer; the download has forgotten it.
    Drop(P, DropReason),
    /// Every piece is held and verified.
    Finished,
}

/// Why a peer was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// It sent a piece that failed verification: banned from this swarm.
    BadPiece(String),
    /// It broke the protocol: banned from this swarm.
    Protocol(String),
    /// It was banned earlier and came back.
    Banned,
    /// It stalled too often; it may come back.
    Stalled,
}

impl DropReason {
    /// Whether the peer is banned from this swarm.
    pub fn is_ban(&self) -> bool {
        !matches!(self, DropReason::Stalled)
    }
}

/// A peer's part in the download.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerStats {
    /// Verified bytes it delivered.
    pub verified_bytes: u64,
    /// Requests open at it.
    pub open_requests: usize,
    /// Its measured delivery rate in bytes per second, once known.
    pub rate: Option<f64>,
}

#[derive(Debug)]
struct Peer {
    has: Option<Bitfield>,
    open: BTreeMap<u32, Open>,
    window: u32,
    rate: Option<f64>,
    last_progress: Duration,
    last_piece_at: Duration,
    stalls: u32,
    resting_until: Duration,
    verified_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    piece: u32,
    sent_at: Duration,
}

/// The download of one resource from a changing set of peers `P`.
#[derive(Debug)]
pub struct Download<P> {
    id: ContentId,
    layout: PieceLayout,
    have: Bitfield,
    /// Pieces not held, the candidates for requests.
    missing: Vec<u32>,
    /// Pieces readers wait for, the latest reader's first (at most [`MAX_PREFERRED`]): asked
    /// for before any other, in order.
    preferred: VecDeque<Range<u32>>,
    peers: BTreeMap<P, Peer>,
    banned: BanList<P>,
    /// How many peers hold each piece.
    availability: Vec<u32>,
    /// Who is asked for each piece, under which request id.
    holders: HashMap<u32, Vec<(P, u32)>>,
    next_request: u32,
    rng: SmallRng,
    events: VecDeque<Event<P>>,
    config: DownloadConfig,
    finished: bool,
}

impl<P: Clone + Ord + std::hash::Hash + Debug> Download<P> {
    /// A download of `id` that already holds the pieces in `have` (resumed from storage).
    pub fn new(id: ContentId, have: Bitfield, config: DownloadConfig) -> Self {
        let layout = PieceLayout::of(&id);
        debug_assert_eq!(have.len(), layout.piece_count());
        let missing = (0..layout.piece_count())
            .filter(|i| !have.contains(*i))
            .collect();
        let mut download = Self {
            id,
            layout,
            have,
            missing,
            preferred: VecDeque::new(),
            peers: BTreeMap::new(),
            banned: BanList::default(),
            availability: vec![0; layout.piece_count() as usize],
            holders: HashMap::new(),
            next_request: 0,
            rng: SmallRng::seed_from_u64(config.seed),
            events: VecDeque::new(),
            config,
            finished: false,
        };
        download.check_finished();
        download
    }

    /// Numbers this download's requests from `first` on: a download that follows another on
    /// the same links must not reuse the ids of requests a peer may still answer.
    pub fn numbering_from(mut self, first: u32) -> Self {
        self.next_request = first;
        self
    }

    /// The id the next request will get.
    pub fn next_request(&self) -> u32 {
        self.next_request
    }

    /// The resource.
    pub fn id(&self) -> &ContentId {
        &self.id
    }

    /// Pieces held and verified.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Whether every piece is held.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Peers currently part of the download.
    pub fn peers(&self) -> impl Iterator<Item = (&P, PeerStats)> {
        self.peers.iter().map(|(id, peer)| {
            let stats = PeerStats {
                verified_bytes: peer.verified_bytes,
                open_requests: peer.open.len(),
                rate: peer.rate,
            };
            (id, stats)
        })
    }

    /// Whether `peer` is banned from this swarm.
    pub fn is_banned(&self, peer: &P) -> bool {
        self.banned.contains(peer)
    }

    /// Missing pieces that no current peer holds.
    pub fn unobtainable(&self) -> usize {
        self.missing
            .iter()
            .filter(|i| self.availability[**i as usize] == 0)
            .count()
    }

    /// Whether more pieces may come at `now`: a current peer holds a missing piece, or joined
    /// less than [`DownloadConfig::stall_timeout`] ago and has not said yet what it holds (one
    /// that stays silent counts as holding nothing).
    pub fn may_obtain_more(&self, now: Duration) -> bool {
        let timeout = self.config.stall_timeout;
        !self.missing.is_empty()
            && (self
                .peers
                .values()
                .any(|p| p.has.is_none() && now.saturating_sub(p.last_progress) < timeout)
                || self.unobtainable() < self.missing.len())
    }

    /// The next thing to do, if any.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    /// A stream to `peer` about this resource is open.
    pub fn add_peer(&mut self, peer: P, now: Duration) {
        if self.banned.contains(&peer) {
            self.events.push_back(Event::Drop(peer, DropReason::Banned));
            return;
        }
        self.peers.entry(peer).or_insert_with(|| Peer {
            has: None,
            open: BTreeMap::new(),
            window: self.config.initial_window.max(1),
            rate: None,
            last_progress: now,
            last_piece_at: now,
            stalls: 0,
            resting_until: now,
            verified_bytes: 0,
        });
    }

    /// The stream to `peer` is gone (closed, reset, or the peer vanished): what it was asked
    /// for goes to others.
    pub fn remove_peer(&mut self, peer: &P, now: Duration) {
        self.forget(peer);
        self.schedule(now);
    }

    /// Bytes are arriving from `peer` (a piece may be on its way): it has not stalled.
    pub fn progress(&mut self, peer: &P, now: Duration) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.last_progress = now;
        }
    }

    /// The stream to `peer` carried bytes that are not a valid message: it is banned.
    pub fn protocol_error(&mut self, peer: &P, reason: impl Into<String>, now: Duration) {
        self.ban(peer, DropReason::Protocol(reason.into()));
        self.schedule(now);
    }

    /// A message from `peer`. Messages about uploads (`Want`, `Request`, `Cancel`) are not the
    /// download's and are ignored.
    pub fn handle(&mut self, peer: &P, message: SwarmMessage, now: Duration) {
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        state.last_progress = now;
        match message {
            SwarmMessage::Have(bits) => self.on_have(peer, &bits, now),
            SwarmMessage::HavePiece(piece) => self.on_have_piece(peer, piece, now),
            SwarmMessage::Reject { id, reason } => self.on_reject(peer, id, reason, now),
            SwarmMessage::Piece { id, piece, encoded } => {
                self.on_piece(peer, id, piece, &encoded, now)
            }
            SwarmMessage::Want(_) | SwarmMessage::Request { .. } | SwarmMessage::Cancel { .. } => {}
        }
    }

    /// The tab came to hold `pieces` without the download (the page shared them): they are
    /// not asked for any more, and requests open for them are cancelled. (All are marked
    /// before anything is asked: one at a time, asking after the first could pick the next.)
    /// Peers are not told here: whoever holds a piece announces it.
    pub fn held(&mut self, pieces: &[u32], now: Duration) {
        let count = self.layout.piece_count();
        for &piece in pieces {
            if piece < count && self.have.insert(piece) {
                self.missing.retain(|m| *m != piece);
                self.cancel_requests_for(piece);
            }
        }
        self.forget_held_preferences();
        self.check_finished();
        self.schedule(now);
    }

    /// A reader waits for `pieces` (a range of the resource being read in order): the missing
    /// ones are asked for before any other piece, lowest first, as peers' windows open; before
    /// those of earlier readers too (a player that seeks wants the new place first).
    pub fn prefer(&mut self, pieces: Range<u32>, now: Duration) {
        let pieces = pieces.start..pieces.end.min(self.layout.piece_count());
        if pieces.clone().all(|piece| self.have.contains(piece)) {
            return;
        }
        self.preferred.retain(|range| *range != pieces);
        self.preferred.push_front(pieces);
        self.preferred.truncate(MAX_PREFERRED);
        self.schedule(now);
    }

    /// Drops the preferred ranges every piece of which is held.
    fn forget_held_preferences(&mut self) {
        let have = &self.have;
        self.preferred
            .retain(|range| range.clone().any(|piece| !have.contains(piece)));
    }

    /// Lets time pass: stalled peers lose their requests.
    pub fn tick(&mut self, now: Duration) {
        let stalled: Vec<P> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                let silent = now.saturating_sub(p.last_progress) >= self.config.stall_timeout;
                let slow = p
                    .open
                    .values()
                    .any(|o| now.saturating_sub(o.sent_at) >= self.config.request_timeout);
                !p.open.is_empty() && (silent || slow)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for peer in stalled {
            self.cancel_all(&peer);
            let state = self.peers.get_mut(&peer).expect("listed above");
            state.stalls += 1;
            state.window = 1;
            state.resting_until = now + self.config.stall_timeout;
            if state.stalls >= self.config.max_stalls {
                self.forget(&peer);
                self.events
                    .push_back(Event::Drop(peer, DropReason::Stalled));
            }
        }
        self.schedule(now);
    }

    fn on_have(&mut self, peer: &P, bits: &[u8], now: Duration) {
        let state = self.peers.get_mut(peer).expect("checked by handle");
        if state.has.is_some() {
            return self.protocol_error(peer, "second bitfield", now);
        }
        let has = match Bitfield::from_bytes(bits, self.layout.piece_count()) {
            Ok(has) => has,
            Err(e) => return self.protocol_error(peer, e.to_string(), now),
        };
        for piece in has.iter() {
            self.availability[piece as usize] += 1;
        }
        state.has = Some(has);
        self.schedule(now);
    }

    fn on_have_piece(&mut self, peer: &P, piece: u32, now: Duration) {
        if piece >= self.layout.piece_count() {
            return self.protocol_error(peer, format!("has piece {piece} past the end"), now);
        }
        let count = self.layout.piece_count();
        let state = self.peers.get_mut(peer).expect("checked by handle");
        if state
            .has
            .get_or_insert_with(|| Bitfield::empty(count))
            .insert(piece)
        {
            self.availability[piece as usize] += 1;
            self.schedule(now);
        }
    }

    fn on_reject(&mut self, peer: &P, id: u32, reason: RejectReason, now: Duration) {
        let state = self.peers.get_mut(peer).expect("checked by handle");
        let Some(open) = state.open.remove(&id) else {
            return;
        };
        match reason {
            RejectReason::NotHave => {
                if state.has.as_mut().is_some_and(|has| has.remove(open.piece)) {
                    self.availability[open.piece as usize] -= 1;
                }
            }
            RejectReason::Busy => {
                state.window = (state.open.len() as u32).max(1);
                state.resting_until = now + self.config.queue_target;
            }
        }
        self.release(open.piece, peer, id);
        self.schedule(now);
    }

    fn on_piece(&mut self, peer: &P, id: u32, piece: u32, encoded: &[u8], now: Duration) {
        let state = self.peers.get_mut(peer).expect("checked by handle");
        let open = state.open.remove(&id);
        if open.is_none() && !made(id, self.next_request) {
            let reason = format!("sent piece {piece} for request {id}, which was never made");
            return self.protocol_error(peer, reason, now);
        }
        if let Some(open) = open {
            self.release(open.piece, peer, id);
            if open.piece != piece {
                let reason = format!(
                    "answered request for piece {} with piece {piece}",
                    open.piece
                );
                return self.protocol_error(peer, reason, now);
            }
        }
        if piece >= self.layout.piece_count() {
            return self.protocol_error(peer, format!("sent piece {piece} past the end"), now);
        }
        if self.have.contains(piece) {
            // A late endgame copy, or an answer to a cancelled request.
            return self.schedule(now);
        }
        let verified = match verify_piece(&self.id, piece, encoded) {
            Ok(verified) => verified,
            Err(e) => {
                self.ban(peer, DropReason::BadPiece(format!("piece {piece}: {e}")));
                return self.schedule(now);
            }
        };
        let len = verified.data().len() as u64;
        let state = self.peers.get_mut(peer).expect("not dropped");
        if let Some(open) = open {
            let busy = now.saturating_sub(open.sent_at.max(state.last_piece_at));
            let sample = len as f64 / busy.as_secs_f64().max(1e-4);
            let rate = state.rate.map_or(sample, |r| 0.7 * r + 0.3 * sample);
            state.rate = Some(rate);
            let queued = rate * self.config.queue_target.as_secs_f64() / PIECE_LEN as f64;
            state.window = (queued.ceil() as u32).clamp(1, self.config.max_window.max(1));
        }
        state.last_piece_at = now;
        state.verified_bytes += len;
        self.accept(verified);
        self.schedule(now);
    }

    fn accept(&mut self, verified: VerifiedPiece) {
        let piece = verified.index();
        self.have.insert(piece);
        self.missing.retain(|m| *m != piece);
        self.forget_held_preferences();
        self.events.push_back(Event::Verified(verified));
        self.cancel_requests_for(piece);
        for (other, state) in &self.peers {
            if !state.has.as_ref().is_some_and(|has| has.contains(piece)) {
                self.events
                    .push_back(Event::Send(other.clone(), SwarmMessage::HavePiece(piece)));
            }
        }
        self.check_finished();
    }

    /// Cancels the requests still open for `piece`, held now.
    fn cancel_requests_for(&mut self, piece: u32) {
        for (other, id) in self.holders.remove(&piece).unwrap_or_default() {
            if let Some(state) = self.peers.get_mut(&other) {
                state.open.remove(&id);
            }
            self.events
                .push_back(Event::Send(other, SwarmMessage::Cancel { id }));
        }
    }

    fn check_finished(&mut self) {
        if !self.finished && self.have.is_full() {
            self.finished = true;
            self.events.push_back(Event::Finished);
        }
    }

    /// Fills every peer's window, fastest peers first.
    fn schedule(&mut self, now: Duration) {
        if self.finished {
            return;
        }
        let mut order: Vec<(P, f64)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.has.is_some() && p.resting_until <= now)
            .map(|(id, p)| (id.clone(), p.rate.unwrap_or(0.0)))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (peer, _) in order {
            while self.peers[&peer].open.len() < self.peers[&peer].window as usize {
                let Some(piece) = self.pick(&peer) else { break };
                let id = self.next_request;
                self.next_request = self.next_request.wrapping_add(1);
                let state = self.peers.get_mut(&peer).expect("listed above");
                if state.open.is_empty() {
                    state.last_progress = now;
                }
                state.open.insert(
                    id,
                    Open {
                        piece,
                        sent_at: now,
                    },
                );
                self.holders
                    .entry(piece)
                    .or_default()
                    .push((peer.clone(), id));
                self.events.push_back(Event::Send(
                    peer.clone(),
                    SwarmMessage::Request { id, piece },
                ));
            }
        }
    }

    /// The piece to ask `peer` for next: the rarest it has that nobody is asked for, or in
    /// endgame the one asked of fewest others.
    fn pick(&mut self, peer: &P) -> Option<u32> {
        let has = self.peers[peer].has.as_ref()?;
        if self.missing.is_empty() {
            return None;
        }
        let wanted = |piece: &u32| {
            !self.have.contains(*piece) && !self.holders.contains_key(piece) && has.contains(*piece)
        };
        if let Some(piece) = self.preferred.iter().flat_map(Clone::clone).find(wanted) {
            return Some(piece);
        }
        let start = self.rng.random_range(0..self.missing.len());
        let rotated = self.missing[start..].iter().chain(&self.missing[..start]);
        let holders = |piece: &u32| self.holders.get(piece).map_or(0, Vec::len);
        let mut rarest: Option<(u32, u32)> = None;
        let mut endgame = true;
        let mut fewest_copies: Option<(usize, u32)> = None;
        for &piece in rotated {
            let copies = holders(&piece);
            if copies == 0 && self.availability[piece as usize] > 0 {
                endgame = false;
            }
            if !has.contains(piece) {
                continue;
            }
            let availability = self.availability[piece as usize];
            if copies == 0 {
                if rarest.is_none_or(|(best, _)| availability < best) {
                    rarest = Some((availability, piece));
                }
            } else if copies < self.config.endgame_copies
                && fewest_copies.is_none_or(|(best, _)| copies < best)
                && !self.holders[&piece].iter().any(|(p, _)| p == peer)
            {
                fewest_copies = Some((copies, piece));
            }
        }
        match rarest {
            Some((_, piece)) => Some(piece),
            None if endgame => fewest_copies.map(|(_, piece)| piece),
            None => None,
        }
    }

    fn release(&mut self, piece: u32, peer: &P, id: u32) {
        if let Some(list) = self.holders.get_mut(&piece) {
            list.retain(|(p, i)| !(p == peer && *i == id));
            if list.is_empty() {
                self.holders.remove(&piece);
            }
        }
    }

    fn cancel_all(&mut self, peer: &P) {
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        let open = std::mem::take(&mut state.open);
        for (id, open) in open {
            self.release(open.piece, peer, id);
            self.events
                .push_back(Event::Send(peer.clone(), SwarmMessage::Cancel { id }));
        }
    }

    fn ban(&mut self, peer: &P, reason: DropReason) {
        self.banned.ban(peer.clone());
        if self.peers.contains_key(peer) {
            self.forget(peer);
            self.events.push_back(Event::Drop(peer.clone(), reason));
        }
    }

    /// Removes a peer and everything it held.
    fn forget(&mut self, peer: &P) {
        let Some(state) = self.peers.remove(peer) else {
            return;
        };
        for (id, open) in state.open {
            self.release(open.piece, peer, id);
        }
        for piece in state.has.iter().flat_map(Bitfield::iter) {
            self.availability[piece as usize] -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::content_hasher::ContentHasher;
    use crate::content::piece_proof::encode_piece;
    use bytes::Bytes;

    const T0: Duration = Duration::ZERO;

    fn content(pieces: u64) -> (Vec<u8>, ContentId, crate::content::Outboard) {
        let data: Vec<u8> = (0..pieces * PIECE_LEN).map(|i| (i % 253) as u8).collect();
        let mut hasher = ContentHasher::new(data.len() as u64).unwrap();
        hasher.update(&data).unwrap();
        let (id, outboard) = hasher.finish().unwrap();
        (data, id, outboard)
    }

    fn have(pieces: u32, held: &[u32]) -> SwarmMessage {
        let mut field = Bitfield::empty(pieces);
        for piece in held {
            field.insert(*piece);
        }
        SwarmMessage::Have(Bytes::copy_from_slice(field.as_bytes()))
    }

    fn requests(download: &mut Download<char>) -> Vec<(char, u32, u32)> {
        std::iter::from_fn(|| download.poll_event())
            .filter_map(|event| match event {
                Event::Send(peer, SwarmMessage::Request { id, piece }) => Some((peer, id, piece)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn asks_for_the_rarest_piece_first() {
        let (_, id, _) = content(4);
        let config = DownloadConfig {
            initial_window: 1,
            ..DownloadConfig::default()
        };
        let mut download = Download::new(id, Bitfield::empty(4), config);
        for peer in ['a', 'b', 'c'] {
            download.add_peer(peer, T0);
        }
        // Pieces 0-2 are held by two peers, piece 3 only by `c`.
        download.handle(&'a', have(4, &[0, 1, 2]), T0);
        download.handle(&'b', have(4, &[0, 1, 2]), T0);
        requests(&mut download);
        download.handle(&'c', have(4, &[0, 1, 2, 3]), T0);
        let asked = requests(&mut download);
        assert_eq!(asked.len(), 1);
        assert_eq!((asked[0].0, asked[0].2), ('c', 3));
    }

    #[test]
    fn pieces_a_reader_waits_for_are_asked_for_first_in_order() {
        let (data, id, outboard) = content(6);
        let config = DownloadConfig {
            initial_window: 1,
            ..DownloadConfig::default()
        };
        let mut download = Download::new(id, Bitfield::empty(6), config);
        download.prefer(3..5, T0);
        download.add_peer('a', T0);
        download.handle(&'a', have(6, &[0, 1, 2, 3, 4, 5]), T0);
        // Answered one by one, the window growing as they come.
        let mut open = requests(&mut download);
        let mut asked = Vec::new();
        while !open.is_empty() {
            let (_, request, piece) = open.remove(0);
            asked.push(piece);
            let range = PieceLayout::of(&id).piece_bytes(piece).unwrap();
            let bytes = &data[range.start as usize..range.end as usize];
            let encoded = encode_piece(&outboard, piece, bytes).unwrap();
            let message = SwarmMessage::Piece {
                id: request,
                piece,
                encoded,
            };
            download.handle(&'a', message, T0);
            open.extend(requests(&mut download));
        }
        assert_eq!(asked[..2], [3, 4], "{asked:?}");
        assert_eq!(asked.len(), 6);
        assert!(download.is_finished() && download.preferred.is_empty());
    }

    #[test]
    fn the_latest_reader_comes_first() {
        let (_, id, _) = content(10);
        let config = DownloadConfig {
            initial_window: 1,
            ..DownloadConfig::default()
        };
        let mut download = Download::new(id, Bitfield::empty(10), config);
        download.prefer(0..3, T0);
        download.prefer(7..9, T0);
        download.add_peer('a', T0);
        download.handle(&'a', have(10, &(0..10).collect::<Vec<_>>()), T0);
        assert_eq!(requests(&mut download)[0].2, 7, "the seek first");
        // Older readers are forgotten past the bound; a range past the end is cut.
        for start in 0..10 {
            download.prefer(start..start + 1, T0);
        }
        assert_eq!(download.preferred.len(), MAX_PREFERRED);
        download.prefer(9..100, T0);
        assert_eq!(download.preferred[0], 9..10);
        download.prefer(10..100, T0);
        assert_eq!(
            download.preferred[0],
            9..10,
            "nothing to ask for past the end"
        );
    }

    #[test]
    fn pieces_the_page_comes_to_hold_are_never_asked_for_even_in_passing() {
        let (_, id, _) = content(3);
        let config = DownloadConfig {
            initial_window: 1,
            ..DownloadConfig::default()
        };
        let mut download = Download::new(id, Bitfield::empty(3), config);
        download.add_peer('a', T0);
        download.handle(&'a', have(3, &[0, 1, 2]), T0);
        let (_, _, asked) = requests(&mut download)[0];
        let rest: Vec<u32> = (0..3).filter(|p| *p != asked).collect();
        // The page shares the piece asked for and one more: only the third may be asked now.
        download.held(&[asked, rest[0]], T0);
        let pieces: Vec<u32> = requests(&mut download).iter().map(|r| r.2).collect();
        assert_eq!(pieces, [rest[1]]);
    }

    #[test]
    fn bad_bitfields_and_mismatched_answers_ban_the_peer() {
        let (data, id, outboard) = content(2);
        let mut download = Download::new(id, Bitfield::empty(2), DownloadConfig::default());
        download.add_peer('a', T0);
        download.handle(
            &'a',
            SwarmMessage::Have(Bytes::from_static(&[0xff, 0xff])),
            T0,
        );
        assert!(download.is_banned(&'a'));
        download.add_peer('a', T0);
        assert!(matches!(
            download.poll_event(),
            Some(Event::Drop('a', DropReason::Protocol(_)))
        ));
        assert!(matches!(
            download.poll_event(),
            Some(Event::Drop('a', DropReason::Banned))
        ));

        download.add_peer('b', T0);
        download.handle(&'b', have(2, &[0, 1]), T0);
        let (_, request, piece) = requests(&mut download)[0];
        let other = 1 - piece;
        let range = PieceLayout::of(&id).piece_bytes(other).unwrap();
        let encoded = encode_piece(
            &outboard,
            other,
            &data[range.start as usize..range.end as usize],
        )
        .unwrap();
        // A valid piece, but not the one asked for under that request id.
        download.handle(
            &'b',
            SwarmMessage::Piece {
                id: request,
                piece: other,
                encoded,
            },
            T0,
        );
        assert!(download.is_banned(&'b'));
        assert!(!download.have().contains(other));

        // A valid piece, for a request never made: nothing is kept from a liar.
        download.add_peer('c', T0);
        download.handle(&'c', have(2, &[0, 1]), T0);
        let range = PieceLayout::of(&id).piece_bytes(other).unwrap();
        let bytes = &data[range.start as usize..range.end as usize];
        let unsolicited = SwarmMessage::Piece {
            id: 1_000_000,
            piece: other,
            encoded: encode_piece(&outboard, other, bytes).unwrap(),
        };
        download.handle(&'c', unsolicited, T0);
        assert!(download.is_banned(&'c'));
        assert!(!download.have().contains(other));
    }

    #[test]
    fn a_silent_peer_loses_its_requests_and_is_dropped_after_three_stalls() {
        let (_, id, _) = content(2);
        let config = DownloadConfig::default();
        let stall = config.stall_timeout;
        let mut download = Download::new(id, Bitfield::empty(2), config);
        download.add_peer('a', T0);
        download.handle(&'a', have(2, &[0, 1]), T0);
        assert_eq!(requests(&mut download).len(), 2);
        // Ticks every half second for a minute: the peer never answers.
        let (mut stalls, mut dropped_at) = (0, None);
        for tick in 1..=120u32 {
            let now = T0 + Duration::from_millis(500) * tick;
            download.tick(now);
            let events: Vec<_> = std::iter::from_fn(|| download.poll_event()).collect();
            if events
                .iter()
                .any(|e| matches!(e, Event::Send('a', SwarmMessage::Cancel { .. })))
            {
                stalls += 1;
                assert!(
                    now.saturating_sub(T0) >= stall,
                    "no stall before the timeout"
                );
            }
            if events
                .iter()
                .any(|e| matches!(e, Event::Drop('a', DropReason::Stalled)))
            {
                assert!(dropped_at.is_none());
                dropped_at = Some(stalls);
            }
        }
        assert_eq!(dropped_at, Some(3), "dropped at its third stall");
        assert_eq!(download.peers().count(), 0);
        assert!(!download.is_banned(&'a'), "a stalled peer may come back");
    }

    #[test]
    fn a_peer_that_drips_bytes_without_finishing_a_piece_stalls_too() {
        let (_, id, _) = content(2);
        let config = DownloadConfig::default();
        let timeout = config.request_timeout;
        let mut download = Download::new(id, Bitfield::empty(2), config);
        download.add_peer('a', T0);
        download.handle(&'a', have(2, &[0, 1]), T0);
        assert_eq!(requests(&mut download).len(), 2);
        let mut cancelled_at = None;
        for second in 1..=90u32 {
            let now = T0 + Duration::from_secs(u64::from(second));
            // A few bytes every second: never silent for the stall timeout.
            download.progress(&'a', now);
            download.tick(now);
            let cancelled = std::iter::from_fn(|| download.poll_event())
                .any(|e| matches!(e, Event::Send('a', SwarmMessage::Cancel { .. })));
            if cancelled && cancelled_at.is_none() {
                cancelled_at = Some(now - T0);
            }
        }
        assert_eq!(
            cancelled_at,
            Some(timeout),
            "its requests go elsewhere at the timeout"
        );
    }
}
