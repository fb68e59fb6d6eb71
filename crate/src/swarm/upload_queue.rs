//! [`UploadQueue`]: the requests peers made of us, served in turns across peers so one greedy
//! peer cannot starve the rest, with a bound per peer.

use std::collections::{BTreeMap, VecDeque};

use crate::content::bitfield::Bitfield;

use super::message::{RejectReason, SwarmMessage};

/// Requests a peer may have queued with us before more are refused as busy.
pub const DEFAULT_MAX_QUEUED: usize = 64;

/// A request to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upload<P> {
    /// Who asked.
    pub peer: P,
    /// Their request id.
    pub id: u32,
    /// The piece.
    pub piece: u32,
}

/// Pending requests from peers for pieces we hold.
#[derive(Debug)]
pub struct UploadQueue<P> {
    queues: BTreeMap<P, VecDeque<(u32, u32)>>,
    /// Peers with queued requests, in serving order.
    turns: VecDeque<P>,
    max_per_peer: usize,
}

impl<P: Clone + Ord> UploadQueue<P> {
    /// A queue holding at most `max_per_peer` requests from each peer.
    pub fn new(max_per_peer: usize) -> Self {
        Self {
            queues: BTreeMap::new(),
            turns: VecDeque::new(),
            max_per_peer,
        }
    }

    /// Queues `peer`'s request for `piece`, or returns the rejection to send.
    pub fn request(
        &mut self,
        peer: P,
        id: u32,
        piece: u32,
        have: &Bitfield,
    ) -> Option<SwarmMessage> {
        let reject = |reason| Some(SwarmMessage::Reject { id, reason });
        if !have.contains(piece) {
            return reject(RejectReason::NotHave);
        }
        let queue = self.queues.entry(peer.clone()).or_default();
        if queue.len() >= self.max_per_peer {
            return reject(RejectReason::Busy);
        }
        if queue.is_empty() {
            self.turns.push_back(peer);
        }
        queue.push_back((id, piece));
        None
    }

    /// Forgets `peer`'s request `id` if it is still queued.
    pub fn cancel(&mut self, peer: &P, id: u32) -> bool {
        let Some(queue) = self.queues.get_mut(peer) else {
            return false;
        };
        let before = queue.len();
        queue.retain(|(queued, _)| *queued != id);
        let removed = queue.len() != before;
        if queue.is_empty() {
            self.remove_peer(peer);
        }
        removed
    }

    /// Forgets everything `peer` asked for.
    pub fn remove_peer(&mut self, peer: &P) {
        self.queues.remove(peer);
        self.turns.retain(|p| p != peer);
    }

    /// Requests queued in total.
    pub fn len(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// The next request to serve: the oldest of the peer whose turn it is.
    pub fn next_upload(&mut self) -> Option<Upload<P>> {
        self.next_upload_if(|_| true)
    }

    /// The next request from a peer `ready` accepts, taking turns among those peers.
    pub fn next_upload_if(&mut self, ready: impl Fn(&P) -> bool) -> Option<Upload<P>> {
        let turn = self.turns.iter().position(ready)?;
        let peer = self.turns.remove(turn).expect("position is in range");
        let queue = self
            .queues
            .get_mut(&peer)
            .expect("peers in turns have queues");
        let (id, piece) = queue.pop_front().expect("queues in turns are not empty");
        if queue.is_empty() {
            self.queues.remove(&peer);
        } else {
            self.turns.push_back(peer.clone());
        }
        Some(Upload { peer, id, piece })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_peers_in_turns_and_bounds_each() {
        let have = Bitfield::full(10);
        let mut queue = UploadQueue::new(2);
        assert_eq!(queue.request('a', 1, 0, &have), None);
        assert_eq!(queue.request('a', 2, 1, &have), None);
        assert_eq!(
            queue.request('a', 3, 2, &have),
            Some(SwarmMessage::Reject {
                id: 3,
                reason: RejectReason::Busy
            })
        );
        assert_eq!(queue.request('b', 1, 5, &have), None);
        let order: Vec<_> = std::iter::from_fn(|| queue.next_upload())
            .map(|u| (u.peer, u.id))
            .collect();
        assert_eq!(order, [('a', 1), ('b', 1), ('a', 2)]);
        assert!(queue.is_empty());
    }

    #[test]
    fn busy_peers_wait_their_next_turn() {
        let have = Bitfield::full(4);
        let mut queue = UploadQueue::new(8);
        for (peer, id) in [('a', 1), ('b', 1), ('a', 2)] {
            assert_eq!(queue.request(peer, id, 0, &have), None);
        }
        let next = queue.next_upload_if(|peer| *peer != 'a').unwrap();
        assert_eq!((next.peer, next.id), ('b', 1));
        assert_eq!(queue.next_upload_if(|peer| *peer != 'a'), None);
        assert_eq!(queue.len(), 2);
    }

    #[test]
    fn refuses_missing_pieces_and_honours_cancels() {
        let mut have = Bitfield::empty(4);
        have.insert(1);
        let mut queue = UploadQueue::new(8);
        assert_eq!(
            queue.request('a', 7, 0, &have),
            Some(SwarmMessage::Reject {
                id: 7,
                reason: RejectReason::NotHave
            })
        );
        assert_eq!(queue.request('a', 8, 1, &have), None);
        assert_eq!(queue.request('a', 9, 1, &have), None);
        assert!(queue.cancel(&'a', 8));
        assert!(!queue.cancel(&'a', 8));
        assert_eq!(queue.len(), 1);
        queue.remove_peer(&'a');
        assert_eq!(queue.next_upload(), None);
    }
}
