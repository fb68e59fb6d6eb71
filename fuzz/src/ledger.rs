//! [`Ledger`]: the requests the machine under test has open at each peer (or stream), kept by
//! the harness from the messages it sees go out and the answers it sends back. Peers answer
//! from it, and the machine's own count of open requests is checked against it.

use std::collections::BTreeMap;
use std::time::Duration;

/// One request sent to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    /// The request id.
    pub id: u32,
    /// The piece asked for.
    pub piece: u32,
    /// When it was sent.
    pub at: Duration,
}

/// Open requests per peer `K`.
#[derive(Debug)]
pub struct Ledger<K> {
    open: BTreeMap<K, Vec<Asked>>,
}

impl<K> Default for Ledger<K> {
    fn default() -> Self {
        Self {
            open: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy + std::fmt::Debug> Ledger<K> {
    /// A request went out to `peer`. Panics if `id` is open at `peer` already: request ids are
    /// unique among a sender's open requests.
    pub fn asked(&mut self, peer: K, id: u32, piece: u32, at: Duration) {
        let open = self.open.entry(peer).or_default();
        assert!(
            open.iter().all(|a| a.id != id),
            "request id {id} reused at {peer:?} while open: {open:?}"
        );
        open.push(Asked { id, piece, at });
    }

    /// Request `id` at `peer` was cancelled by the machine. Panics if it was not open: a cancel
    /// names a request that is.
    pub fn cancelled(&mut self, peer: K, id: u32) {
        assert!(
            self.settle(peer, id).is_some(),
            "cancel of request {id} at {peer:?}, which is not open"
        );
    }

    /// `peer` answered request `id` (a piece or a reject): it is no longer open, if it was.
    pub fn settle(&mut self, peer: K, id: u32) -> Option<Asked> {
        let open = self.open.get_mut(&peer)?;
        let at = open.iter().position(|a| a.id == id)?;
        let asked = open.remove(at);
        if open.is_empty() {
            self.open.remove(&peer);
        }
        Some(asked)
    }

    /// `peer` is gone, with everything asked of it.
    pub fn forget(&mut self, peer: K) {
        self.open.remove(&peer);
    }

    /// The requests open at `peer`, oldest first.
    pub fn open(&self, peer: K) -> &[Asked] {
        self.open.get(&peer).map_or(&[], Vec::as_slice)
    }

    /// Every open request, with its peer.
    pub fn all(&self) -> impl Iterator<Item = (K, &Asked)> {
        self.open
            .iter()
            .flat_map(|(peer, open)| open.iter().map(move |a| (*peer, a)))
    }

    /// How many requests are open in total.
    pub fn len(&self) -> usize {
        self.open.values().map(Vec::len).sum()
    }

    /// Whether no request is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}
