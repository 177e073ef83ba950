//! Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency) describe it, plus an up-front length check for precise errors.

use crate::hash::{node_hash, Hash, EMPTY_ROOT};
use crate::proof::ProofError;

/// Number of hashes in a valid inclusion proof for `index` in a tree of
/// `tree_size` leaves, or `None` if `index >= tree_size`.
///
/// Derived by running the RFC 9162 §2.1.3.2 index walk without hashing, so it
/// agrees with [`verify_inclusion`] by construction.
pub fn inclusion_proof_len(index: u64, tree_size: u64) -> Option<usize> {
    if index >= tree_size {
        return None;
    }
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut count = 0;
    while snode != 0 {
        count += 1;
        if fnode & 1 == 1 || fnode == snode {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
    }
    Some(count)
}

/// Number of hashes in a valid consistency proof from `size1` to `size2`, or
/// `None` if `size1 > size2`. Zero when `size1 == 0` or `size1 == size2`.
pub fn consistency_proof_len(size1: u64, size2: u64) -> Option<usize> {
    if size1 > size2 {
        return None;
    }
    if size1 == 0 || size1 == size2 {
        return Some(0);
    }
    // When size1 is a power of two the verifier seeds with root1 instead of proof[0].
    let seed = usize::from(!size1.is_power_of_two());
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut count = 0;
    while snode != 0 {
        count += 1;
        if fnode & 1 == 1 || fnode == snode {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
    }
    Some(seed + count)
}

/// Recomputes the root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4).
///
/// Useful when the caller wants the root itself; [`verify_inclusion`] compares it.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let expected = inclusion_proof_len(index, tree_size)
        .ok_or(ProofError::IndexOutOfRange { index, tree_size })?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies that `leaf_hash` is leaf number `index` of the tree of `tree_size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// ```
/// use labguard_audit::{inclusion_proof, leaf_hash, root_of, verify_inclusion};
/// let leaves: Vec<_> = (0..7u8).map(|i| leaf_hash(&[i])).collect();
/// let proof = inclusion_proof(&leaves, 3, 7).unwrap();
/// assert!(verify_inclusion(&leaves[3], 3, 7, &proof, &root_of(&leaves)).is_ok());
/// assert!(verify_inclusion(&leaves[2], 3, 7, &proof, &root_of(&leaves)).is_err());
/// ```
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)?;
    if computed == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of
/// `size1` leaves with root `root1` (RFC 9162 §2.1.4.2).
///
/// Edge cases: `size1 == size2` needs an empty proof and equal roots; `size1 == 0`
/// needs an empty proof and `root1 == SHA-256("")` (every tree extends the empty one).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    let expected =
        consistency_proof_len(size1, size2).ok_or(ProofError::SizeOrder { size1, size2 })?;
    if size1 == 0 || size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if size1 == 0 {
            return if *root1 == EMPTY_ROOT {
                Ok(())
            } else {
                Err(ProofError::Root1Mismatch)
            };
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::Root2Mismatch)
        };
    }
    // Step 1.
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // Step 2: a power-of-two old tree is a complete left subtree, so root1 seeds the walk.
    let (seed, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        match proof.split_first() {
            Some(parts) => parts,
            None => return Err(ProofError::EmptyProof),
        }
    };
    // Steps 3–4.
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // Step 6.
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if fr != *root1 {
        return Err(ProofError::Root1Mismatch);
    }
    if sr != *root2 {
        return Err(ProofError::Root2Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::proof::{consistency_proof, inclusion_proof, root_of};

    #[test]
    fn lengths_match_generated_proofs() {
        let leaves: Vec<Hash> = (0..33u8).map(|i| leaf_hash(&[i])).collect();
        for n in 1..=33u64 {
            for i in 0..n {
                let p = inclusion_proof(&leaves, i, n).unwrap();
                assert_eq!(inclusion_proof_len(i, n), Some(p.len()), "i={i} n={n}");
            }
            for m in 0..=n {
                let p = consistency_proof(&leaves, m, n).unwrap();
                assert_eq!(consistency_proof_len(m, n), Some(p.len()), "m={m} n={n}");
            }
        }
        assert_eq!(inclusion_proof_len(0, 0), None);
        assert_eq!(consistency_proof_len(2, 1), None);
    }

    #[test]
    fn edge_cases() {
        let leaves: Vec<Hash> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
        let r4 = root_of(&leaves);
        assert_eq!(verify_consistency(0, 4, &[], &EMPTY_ROOT, &r4), Ok(()));
        assert_eq!(
            verify_consistency(0, 4, &[], &r4, &r4),
            Err(ProofError::Root1Mismatch)
        );
        assert_eq!(verify_consistency(4, 4, &[], &r4, &r4), Ok(()));
        assert_eq!(
            verify_consistency(4, 4, &[r4], &r4, &r4),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(2, 4, &[], &r4, &r4),
            Err(ProofError::EmptyProof)
        );
        assert_eq!(
            verify_inclusion(&leaves[0], u64::MAX, 4, &[], &r4),
            Err(ProofError::IndexOutOfRange {
                index: u64::MAX,
                tree_size: 4
            })
        );
        // Huge sizes must not overflow or loop long.
        assert!(verify_inclusion(&leaves[0], 0, u64::MAX, &[r4; 64], &r4).is_err());
        assert!(verify_consistency(1, u64::MAX, &[r4; 64], &r4, &r4).is_err());
    }
}
