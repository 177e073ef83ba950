//! Proof generation from a slice of leaf hashes (RFC 9162 §2.1.3.1 PATH and
//! §2.1.4.1 SUBPROOF), and the error type shared with verification.

use crate::frontier::Frontier;
use crate::hash::{Hash, EMPTY_ROOT};

/// Why a proof could not be built or did not verify.
///
/// Messages contain only sizes, indices and field names, never entry content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size (or the tree is empty).
    #[error("leaf index {index} is out of range for tree size {tree_size}")]
    IndexOutOfRange {
        /// Leaf index given.
        index: u64,
        /// Tree size given.
        tree_size: u64,
    },
    /// A consistency proof was asked for from a larger tree to a smaller one.
    #[error("size1 {size1} is larger than size2 {size2}")]
    SizeOrder {
        /// Older tree size.
        size1: u64,
        /// Newer tree size.
        size2: u64,
    },
    /// A consistency proof between different non-zero sizes has no hashes.
    #[error("proof is empty but size1 < size2 requires hashes")]
    EmptyProof,
    /// The proof has the wrong number of hashes for the sizes and index given.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// Length the RFC 9162 algorithm requires.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// The inclusion proof leads to a different root than the one given.
    #[error("inclusion proof does not lead to the given root")]
    RootMismatch,
    /// The consistency proof does not reproduce the older root (`root1`).
    #[error("consistency proof does not reproduce root1")]
    Root1Mismatch,
    /// The consistency proof does not reproduce the newer root (`root2`).
    #[error("consistency proof does not reproduce root2")]
    Root2Mismatch,
    /// Proof generation was given fewer leaves than the tree size asked for.
    #[error("tree size {needed} needs {needed} leaves, only {available} given")]
    NotEnoughLeaves {
        /// Tree size asked for.
        needed: u64,
        /// Number of leaf hashes supplied.
        available: usize,
    },
    /// A JSON hash field is not valid standard base64.
    #[error("{field}: not valid base64")]
    BadBase64 {
        /// JSON field, e.g. `root1` or `proof[2]`.
        field: String,
    },
    /// A JSON hash field decodes to something other than 32 bytes.
    #[error("{field}: hash is {len} bytes, expected 32")]
    BadHashLength {
        /// JSON field, e.g. `leafHash`.
        field: String,
        /// Decoded length.
        len: usize,
    },
    /// The proof document is not valid JSON of either proof form.
    #[error("proof JSON: {0}")]
    Json(String),
    /// The JSON object is neither an inclusion nor a consistency proof.
    #[error("proof JSON: neither an inclusion proof (leafIdx, treeSize, …) nor a consistency proof (size1, size2, …)")]
    UnknownProofKind,
}

/// RFC 9162 Merkle tree hash of `leaves` (`SHA-256("")` when empty).
///
/// O(n) hashing, O(log n) memory.
pub fn root_of(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return EMPTY_ROOT;
    }
    let mut f = Frontier::new();
    for leaf in leaves {
        // A slice cannot approach MAX_TREE_SIZE elements, so append never fails here.
        if f.append(*leaf).is_err() {
            break;
        }
    }
    f.root()
}

/// Largest power of two strictly below `n` (the RFC's split point `k`); `n >= 2`.
fn split_point(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn prefix(leaves: &[Hash], tree_size: u64) -> Result<&[Hash], ProofError> {
    usize::try_from(tree_size)
        .ok()
        .and_then(|n| leaves.get(..n))
        .ok_or(ProofError::NotEnoughLeaves {
            needed: tree_size,
            available: leaves.len(),
        })
}

/// Audit path for leaf `index` in the tree made of the first `tree_size` `leaves`
/// (RFC 9162 §2.1.3.1), ordered from the leaf's sibling up to the root's child.
///
/// `leaves` may be longer than `tree_size`; extra leaves are ignored. O(tree_size)
/// hashing: the store should pass only the leaves it has to.
pub fn inclusion_proof(
    leaves: &[Hash],
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    let mut d = prefix(leaves, tree_size)?;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    // index < tree_size <= leaves.len(), so it fits in usize.
    let mut m =
        usize::try_from(index).map_err(|_| ProofError::IndexOutOfRange { index, tree_size })?;
    let mut path = Vec::with_capacity(64);
    // Walk from the root down; each level contributes the sibling subtree's root.
    while d.len() > 1 {
        let k = split_point(d.len());
        let (left, right) = d.split_at(k);
        if m < k {
            path.push(root_of(right));
            d = left;
        } else {
            path.push(root_of(left));
            m -= k;
            d = right;
        }
    }
    // Collected root-first; the RFC orders it leaf-first.
    path.reverse();
    Ok(path)
}

/// Consistency proof between the trees of the first `size1` and first `size2`
/// `leaves` (RFC 9162 §2.1.4.1 `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`).
///
/// Empty when `size1 == 0` or `size1 == size2`.
pub fn consistency_proof(leaves: &[Hash], size1: u64, size2: u64) -> Result<Vec<Hash>, ProofError> {
    let mut d = prefix(leaves, size2)?;
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(Vec::new());
    }
    let mut m = usize::try_from(size1).map_err(|_| ProofError::SizeOrder { size1, size2 })?;
    // `complete` is the RFC's flag b: true while the old tree is a left-edge subtree
    // whose root the verifier already knows (it is root1), so it need not be sent.
    let mut complete = true;
    let mut proof = Vec::with_capacity(64);
    loop {
        if m == d.len() {
            if !complete {
                proof.push(root_of(d));
            }
            break;
        }
        let k = split_point(d.len());
        let (left, right) = d.split_at(k);
        if m <= k {
            proof.push(root_of(right));
            d = left;
        } else {
            proof.push(root_of(left));
            m -= k;
            d = right;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, node_hash};

    /// The RFC 9162 definition, written recursively, as an independent reference.
    fn mth_ref(d: &[Hash]) -> Hash {
        match d.len() {
            0 => EMPTY_ROOT,
            1 => d[0],
            n => {
                let k = split_point(n);
                node_hash(&mth_ref(&d[..k]), &mth_ref(&d[k..]))
            }
        }
    }

    fn path_ref(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = split_point(d.len());
        if m < k {
            let mut p = path_ref(m, &d[..k]);
            p.push(mth_ref(&d[k..]));
            p
        } else {
            let mut p = path_ref(m - k, &d[k..]);
            p.push(mth_ref(&d[..k]));
            p
        }
    }

    fn subproof_ref(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth_ref(d)] };
        }
        let k = split_point(n);
        if m <= k {
            let mut p = subproof_ref(m, &d[..k], b);
            p.push(mth_ref(&d[k..]));
            p
        } else {
            let mut p = subproof_ref(m - k, &d[k..], false);
            p.push(mth_ref(&d[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
    }

    #[test]
    fn generation_matches_recursive_definition() {
        let all = leaves(40);
        for n in 1..=40usize {
            let d = &all[..n];
            assert_eq!(root_of(d), mth_ref(d));
            for m in 0..n {
                assert_eq!(
                    inclusion_proof(&all, m as u64, n as u64).unwrap(),
                    path_ref(m, d)
                );
            }
            for m in 1..n {
                assert_eq!(
                    consistency_proof(&all, m as u64, n as u64).unwrap(),
                    subproof_ref(m, d, true)
                );
            }
        }
    }

    #[test]
    fn generation_rejects_bad_arguments() {
        let all = leaves(4);
        assert_eq!(
            inclusion_proof(&all, 0, 5),
            Err(ProofError::NotEnoughLeaves {
                needed: 5,
                available: 4
            })
        );
        assert_eq!(
            inclusion_proof(&all, 4, 4),
            Err(ProofError::IndexOutOfRange {
                index: 4,
                tree_size: 4
            })
        );
        assert_eq!(
            inclusion_proof(&all, 0, 0),
            Err(ProofError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            })
        );
        assert_eq!(
            consistency_proof(&all, 3, 2),
            Err(ProofError::SizeOrder { size1: 3, size2: 2 })
        );
        assert!(consistency_proof(&all, 0, 4).unwrap().is_empty());
        assert!(consistency_proof(&all, 4, 4).unwrap().is_empty());
        assert_eq!(
            consistency_proof(&all, 1, u64::MAX),
            Err(ProofError::NotEnoughLeaves {
                needed: u64::MAX,
                available: 4
            })
        );
    }
}
