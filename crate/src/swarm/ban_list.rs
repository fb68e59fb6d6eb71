//! [`BanList`]: the peers banned from one resource, bounded.
//!
//! Bans are per peer id and ids cost nothing, so a liar can earn ban after ban under fresh ids
//! (new links per resource are rate-limited, which slows this but does not end it). Past
//! [`MAX_BANNED`] the oldest ban is forgotten: that peer may come back, and lying again gets it
//! banned again.

use hashlink::LinkedHashSet;
use std::hash::Hash;

/// Bans one resource remembers at once.
pub const MAX_BANNED: usize = 1024;

/// Banned peers, oldest first; at most [`MAX_BANNED`].
#[derive(Debug)]
pub struct BanList<P>(LinkedHashSet<P>);

impl<P: Hash + Eq> Default for BanList<P> {
    fn default() -> Self {
        Self(LinkedHashSet::new())
    }
}

impl<P: Hash + Eq> BanList<P> {
    /// Bans `peer`, forgetting the oldest ban if the list is full.
    pub fn ban(&mut self, peer: P) {
        self.0.insert(peer);
        if self.0.len() > MAX_BANNED {
            self.0.pop_front();
        }
    }

    /// Whether `peer` is banned.
    pub fn contains(&self, peer: &P) -> bool {
        self.0.contains(peer)
    }

    /// The banned peers, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &P> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_banned_one_after_another_stay_bounded_and_the_oldest_go_first() {
        let mut bans = BanList::default();
        for peer in 0..MAX_BANNED as u32 * 3 {
            bans.ban(peer);
        }
        assert_eq!(bans.iter().count(), MAX_BANNED);
        let last = MAX_BANNED as u32 * 3 - 1;
        assert!(bans.contains(&last));
        assert!(!bans.contains(&0));
        assert_eq!(bans.iter().next(), Some(&(last + 1 - MAX_BANNED as u32)));
    }
}
