//! The compact range `[0, size)` of an append-only tree: the roots of its perfect
//! subtrees, enough to append in O(log n) and compute the root at any size.

use crate::hash::{node_hash, Hash, EMPTY_ROOT, HASH_LEN};

/// Version byte of the [`Frontier::to_bytes`] encoding.
const FRONTIER_FORMAT_V1: u8 = 1;

/// Largest tree a [`Frontier`] accepts (2^63 − 1 leaves); keeps `size + 1` and the
/// bit arithmetic in proofs free of overflow.
pub const MAX_TREE_SIZE: u64 = (1 << 63) - 1;

/// Errors from [`Frontier`] operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontierError {
    /// The tree already holds [`MAX_TREE_SIZE`] leaves.
    #[error("tree is full ({MAX_TREE_SIZE} leaves)")]
    Full,
    /// `from_bytes` input is empty or has an unknown version byte.
    #[error("frontier encoding: unknown version")]
    UnknownVersion,
    /// `from_bytes` input length does not match the encoded tree size.
    #[error("frontier encoding: expected {expected} bytes for the encoded size, got {got}")]
    BadLength {
        /// Length implied by the encoded tree size.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// `from_bytes` input encodes a size above [`MAX_TREE_SIZE`].
    #[error("frontier encoding: tree size {0} exceeds the maximum")]
    TooLarge(u64),
}

/// The right edge of a Merkle tree that grows from size 0.
///
/// Holds one hash per set bit of `size`: the roots of the perfect subtrees that make
/// up the tree, largest (leftmost) first. Appending is amortised one node hash per
/// leaf; [`root`](Self::root) costs at most 63 node hashes.
///
/// The store keeps `to_bytes()` in its head row so each append reads and writes a
/// few hundred bytes, not the whole tree.
///
/// ```
/// use labguard_audit::{leaf_hash, root_of, Frontier};
/// let leaves: Vec<_> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
/// let mut f = Frontier::new();
/// for l in &leaves {
///     f.append(*l).unwrap();
/// }
/// assert_eq!(f.size(), 5);
/// assert_eq!(f.root(), root_of(&leaves));
/// let restored = Frontier::from_bytes(&f.to_bytes()).unwrap();
/// assert_eq!(restored, f);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// Perfect-subtree roots, largest first; `nodes.len() == size.count_ones()`.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// An empty tree (size 0, root `SHA-256("")`).
    pub fn new() -> Self {
        Self {
            size: 0,
            nodes: Vec::with_capacity(64),
        }
    }

    /// Number of leaves appended so far.
    #[inline]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash (see [`leaf_hash`](crate::leaf_hash)) and returns its
    /// index, i.e. the tree size before the append.
    ///
    /// Fails only when the tree already holds [`MAX_TREE_SIZE`] leaves.
    #[inline]
    pub fn append(&mut self, leaf: Hash) -> Result<u64, FrontierError> {
        let index = self.size;
        if index >= MAX_TREE_SIZE {
            return Err(FrontierError::Full);
        }
        // Each trailing 1-bit of the old size is a perfect subtree of the same height as
        // the one being built, so they merge, smallest first (binary carry).
        let mut acc = leaf;
        let mut carries = index.trailing_ones();
        while carries > 0 {
            match self.nodes.pop() {
                Some(left) => acc = node_hash(&left, &acc),
                // Unreachable while the nodes/size invariant holds; stopping keeps it panic-free.
                None => break,
            }
            carries -= 1;
        }
        self.nodes.push(acc);
        self.size = index + 1;
        Ok(index)
    }

    /// The RFC 9162 Merkle tree hash `MTH(D[0:size])`; `SHA-256("")` when empty.
    pub fn root(&self) -> Hash {
        // Fold right to left: the smallest subtree is the right-most child at each level.
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => EMPTY_ROOT,
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn subtree_roots(&self) -> &[Hash] {
        &self.nodes
    }

    /// Serialises the frontier: version byte `1`, the size as 8 bytes big-endian,
    /// then `size.count_ones()` hashes, largest subtree first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + self.nodes.len() * HASH_LEN);
        out.push(FRONTIER_FORMAT_V1);
        out.extend_from_slice(&self.size.to_be_bytes());
        for n in &self.nodes {
            out.extend_from_slice(n);
        }
        out
    }

    /// Parses the output of [`to_bytes`](Self::to_bytes), rejecting an unknown version,
    /// a size above [`MAX_TREE_SIZE`] and any length that does not match the size.
    ///
    /// The hashes themselves cannot be checked here: compare [`root`](Self::root)
    /// with a signed checkpoint to trust them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrontierError> {
        let (&version, rest) = bytes.split_first().ok_or(FrontierError::UnknownVersion)?;
        if version != FRONTIER_FORMAT_V1 {
            return Err(FrontierError::UnknownVersion);
        }
        let (size_bytes, hashes) = match rest.split_first_chunk::<8>() {
            Some(parts) => parts,
            None => {
                return Err(FrontierError::BadLength {
                    expected: 9,
                    got: bytes.len(),
                })
            }
        };
        let size = u64::from_be_bytes(*size_bytes);
        if size > MAX_TREE_SIZE {
            return Err(FrontierError::TooLarge(size));
        }
        let count = size.count_ones() as usize;
        if hashes.len() != count * HASH_LEN {
            return Err(FrontierError::BadLength {
                expected: 9 + count * HASH_LEN,
                got: bytes.len(),
            });
        }
        let mut nodes = Vec::with_capacity(64);
        for chunk in hashes.chunks_exact(HASH_LEN) {
            let mut h = [0u8; HASH_LEN];
            h.copy_from_slice(chunk);
            nodes.push(h);
        }
        Ok(Self { size, nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn empty_frontier() {
        let f = Frontier::new();
        assert_eq!(f.size(), 0);
        assert_eq!(f.root(), EMPTY_ROOT);
        assert_eq!(Frontier::from_bytes(&f.to_bytes()), Ok(f));
    }

    #[test]
    fn append_returns_index_and_keeps_invariant() {
        let mut f = Frontier::new();
        for i in 0..300u64 {
            assert_eq!(f.append(leaf_hash(&i.to_be_bytes())), Ok(i));
            assert_eq!(f.subtree_roots().len(), f.size().count_ones() as usize);
        }
    }

    #[test]
    fn from_bytes_rejects_malformed() {
        let mut f = Frontier::new();
        for i in 0..7u8 {
            f.append(leaf_hash(&[i])).unwrap();
        }
        let good = f.to_bytes();
        assert_eq!(Frontier::from_bytes(&good).as_ref(), Ok(&f));
        assert_eq!(
            Frontier::from_bytes(&[]),
            Err(FrontierError::UnknownVersion)
        );
        let mut bad_version = good.clone();
        bad_version[0] = 2;
        assert_eq!(
            Frontier::from_bytes(&bad_version),
            Err(FrontierError::UnknownVersion)
        );
        assert!(matches!(
            Frontier::from_bytes(&good[..5]),
            Err(FrontierError::BadLength { .. })
        ));
        assert!(matches!(
            Frontier::from_bytes(&good[..good.len() - 1]),
            Err(FrontierError::BadLength { .. })
        ));
        let mut extra = good.clone();
        extra.push(0);
        assert!(matches!(
            Frontier::from_bytes(&extra),
            Err(FrontierError::BadLength { .. })
        ));
        let mut huge = vec![1u8];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(
            Frontier::from_bytes(&huge),
            Err(FrontierError::TooLarge(u64::MAX))
        );
    }

    #[test]
    fn full_tree_refuses_append() {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&MAX_TREE_SIZE.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, 63 * HASH_LEN));
        let mut f = Frontier::from_bytes(&bytes).unwrap();
        assert_eq!(f.append([0; 32]), Err(FrontierError::Full));
        assert_eq!(f.size(), MAX_TREE_SIZE);
    }
}
