//! [`ContentHasher`]: hashes a resource fed in slices of any size (a `File` read piece by piece)
//! into its [`ContentId`] and [`Outboard`], without holding the resource in memory.

use std::iter::Peekable;

use bao_tree::io::sync::OutboardMut;
use bao_tree::iter::{BaoChunk, PostOrderChunkIter};
use blake3::hazmat::{merge_subtrees_non_root, merge_subtrees_root, HasherExt, Mode};

use super::content_id::{ContentId, ContentIdError};
use super::piece_layout::{PieceLayout, CHUNK_GROUP};
use super::Outboard;

/// Hashes content of a length known up front, chunk group by chunk group, in bao-tree's
/// post-order (so each tree node is computed once, as soon as its children are).
pub struct ContentHasher {
    len: u64,
    fed: u64,
    order: Peekable<PostOrderChunkIter>,
    /// Hashes of finished subtrees not yet merged into a parent.
    stack: Vec<blake3::Hash>,
    /// Bytes of the current chunk group, until it is whole.
    pending: Vec<u8>,
    outboard: Outboard,
}

/// Why hashing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// More bytes than announced were fed.
    #[error("content is longer than the announced {0} bytes")]
    TooLong(u64),
    /// Fewer bytes than announced were fed.
    #[error("content ended after {fed} of {len} bytes")]
    TooShort {
        /// Bytes fed.
        fed: u64,
        /// Bytes announced.
        len: u64,
    },
    /// The length cannot be a content id.
    #[error(transparent)]
    Id(#[from] ContentIdError),
}

impl ContentHasher {
    /// A hasher for `len` bytes.
    pub fn new(len: u64) -> Result<Self, HashError> {
        // Validates the length before allocating the outboard.
        ContentId::new(blake3::Hash::from_bytes([0; 32]), len)?;
        let tree = PieceLayout::with_len(len).tree();
        let outboard = Outboard {
            root: blake3::Hash::from_bytes([0; 32]),
            tree,
            data: vec![0; tree.outboard_size() as usize],
        };
        Ok(Self {
            len,
            fed: 0,
            order: tree.post_order_chunks_iter().peekable(),
            stack: Vec::new(),
            pending: Vec::with_capacity(CHUNK_GROUP.bytes()),
            outboard,
        })
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Feeds the next bytes of the content.
    pub fn update(&mut self, mut data: &[u8]) -> Result<(), HashError> {
        if self.fed + data.len() as u64 > self.len {
            return Err(HashError::TooLong(self.len));
        }
        self.fed += data.len() as u64;
        loop {
            match self.order.peek() {
                Some(BaoChunk::Leaf { size, .. }) => {
                    let wanted = size - self.pending.len();
                    let (now, rest) = data.split_at(wanted.min(data.len()));
                    self.pending.extend_from_slice(now);
                    data = rest;
                    if self.pending.len() < *size {
                        return Ok(());
                    }
                    self.hash_leaf();
                }
                Some(BaoChunk::Parent { .. }) => self.hash_parent(),
                None => return Ok(()),
            }
        }
    }

    /// The content id and outboard, once exactly the announced bytes were fed.
    pub fn finish(mut self) -> Result<(ContentId, Outboard), HashError> {
        if self.fed != self.len {
            return Err(HashError::TooShort {
                fed: self.fed,
                len: self.len,
            });
        }
        // Empty content is one empty leaf, which `update` never saw whole.
        self.update(&[])?;
        if self.stack.is_empty() {
            self.hash_leaf();
        }
        let root = self.stack.pop().expect("the tree has a root");
        self.outboard.root = root;
        Ok((ContentId::new(root, self.len)?, self.outboard))
    }

    fn hash_leaf(&mut self) {
        let Some(BaoChunk::Leaf {
            start_chunk,
            is_root,
            ..
        }) = self.order.next()
        else {
            unreachable!("called on a leaf")
        };
        let hash = if is_root {
            blake3::hash(&self.pending)
        } else {
            let mut hasher = blake3::Hasher::new();
            hasher.set_input_offset(start_chunk.to_bytes());
            hasher.update(&self.pending);
            blake3::Hash::from(hasher.finalize_non_root())
        };
        self.pending.clear();
        self.stack.push(hash);
    }

    fn hash_parent(&mut self) {
        let Some(BaoChunk::Parent { node, is_root, .. }) = self.order.next() else {
            unreachable!("called on a parent")
        };
        let right = self.stack.pop().expect("post-order: right child first");
        let left = self.stack.pop().expect("post-order: then left child");
        self.outboard
            .save(node, &(left, right))
            .expect("the outboard is sized for the tree");
        let (l, r) = (*left.as_bytes(), *right.as_bytes());
        self.stack.push(if is_root {
            merge_subtrees_root(&l, &r, Mode::Hash)
        } else {
            blake3::Hash::from(merge_subtrees_non_root(&l, &r, Mode::Hash))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bao_tree::io::outboard::PreOrderMemOutboard;
    use proptest::prelude::*;

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 997) as u8).collect()
    }

    fn hash_in_slices(data: &[u8], slice: usize) -> (ContentId, Outboard) {
        let mut hasher = ContentHasher::new(data.len() as u64).unwrap();
        for part in data.chunks(slice.max(1)) {
            hasher.update(part).unwrap();
        }
        hasher.finish().unwrap()
    }

    #[test]
    fn matches_blake3_and_bao_tree_for_every_shape_of_tree() {
        let lens = [
            0,
            1,
            1024,
            16 * 1024,
            16 * 1024 + 1,
            100_000,
            256 * 1024,
            1 << 20,
        ];
        for len in lens {
            let data = content(len);
            let (id, outboard) = hash_in_slices(&data, 7777);
            assert_eq!(id.hash(), blake3::hash(&data), "len {len}");
            assert_eq!(id.len(), len as u64);
            let reference = PreOrderMemOutboard::create(&data, CHUNK_GROUP);
            assert_eq!(outboard, reference, "len {len}");
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let mut hasher = ContentHasher::new(10).unwrap();
        assert_eq!(hasher.update(&[0; 11]), Err(HashError::TooLong(10)));
        let mut hasher = ContentHasher::new(10).unwrap();
        hasher.update(&[0; 4]).unwrap();
        assert_eq!(
            hasher.finish().unwrap_err(),
            HashError::TooShort { fed: 4, len: 10 }
        );
        assert!(matches!(
            ContentHasher::new(u64::MAX),
            Err(HashError::Id(ContentIdError::Len))
        ));
    }

    proptest! {
        #[test]
        fn slicing_never_changes_the_hash(len in 0usize..200_000, slice in 1usize..70_000) {
            let data = content(len);
            let (id, _) = hash_in_slices(&data, slice);
            prop_assert_eq!(id.hash(), blake3::hash(&data));
        }
    }
}
