//! Exhaustive property checks for small trees: for every size 1..=70 and every
//! index / size pair, generated proofs verify, and flipping any single bit of any
//! proof hash, leaf hash or root makes verification fail.

use labguard_audit::{
    consistency_proof, inclusion_proof, leaf_hash, root_of, verify_consistency, verify_inclusion,
    Frontier, Hash,
};

const MAX: u64 = 70;

fn leaves() -> Vec<Hash> {
    (0..MAX).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Calls `check` with every single-bit mutation of `h`.
fn for_each_flip(h: &Hash, mut check: impl FnMut(&Hash)) {
    let mut m = *h;
    for byte in 0..32 {
        for bit in 0..8 {
            m[byte] ^= 1 << bit;
            check(&m);
            m[byte] ^= 1 << bit;
        }
    }
}

/// Calls `check` with every single-bit mutation of every hash in `proof`.
fn for_each_proof_flip(proof: &[Hash], mut check: impl FnMut(usize, &[Hash])) {
    let mut p = proof.to_vec();
    for j in 0..p.len() {
        for byte in 0..32 {
            for bit in 0..8 {
                p[j][byte] ^= 1 << bit;
                check(j, &p);
                p[j][byte] ^= 1 << bit;
            }
        }
    }
}

#[test]
fn frontier_root_equals_root_of_for_every_size() {
    let l = leaves();
    let mut f = Frontier::new();
    for n in 0..MAX as usize {
        assert_eq!(f.root(), root_of(&l[..n]));
        f.append(l[n]).unwrap();
    }
}

#[test]
fn inclusion_proofs_verify_and_every_bit_flip_fails() {
    let l = leaves();
    for n in 1..=MAX {
        let root = root_of(&l[..n as usize]);
        for i in 0..n {
            let leaf = l[i as usize];
            let proof = inclusion_proof(&l, i, n).unwrap();
            assert_eq!(
                verify_inclusion(&leaf, i, n, &proof, &root),
                Ok(()),
                "i={i} n={n}"
            );

            for_each_proof_flip(&proof, |j, p| {
                assert!(
                    verify_inclusion(&leaf, i, n, p, &root).is_err(),
                    "i={i} n={n} proof[{j}]"
                );
            });
            for_each_flip(&leaf, |m| {
                assert!(
                    verify_inclusion(m, i, n, &proof, &root).is_err(),
                    "i={i} n={n} leaf"
                );
            });
            for_each_flip(&root, |m| {
                assert!(
                    verify_inclusion(&leaf, i, n, &proof, m).is_err(),
                    "i={i} n={n} root"
                );
            });
            // The same proof must not pass for another index. (Another tree size can
            // pass with the same root: e.g. size 3 vs 4 when l2 stands in for
            // H(l2, l3). Sizes are bound by the signed checkpoint, not the proof.)
            for other in (0..n).filter(|&o| o != i) {
                assert!(
                    verify_inclusion(&leaf, other, n, &proof, &root).is_err(),
                    "i={i}->{other} n={n}"
                );
            }
            if !proof.is_empty() {
                assert!(verify_inclusion(&leaf, i, n, &proof[1..], &root).is_err());
            }
        }
    }
}

#[test]
fn consistency_proofs_verify_and_every_bit_flip_fails() {
    let l = leaves();
    for n in 1..=MAX {
        let root2 = root_of(&l[..n as usize]);
        for m in 1..=n {
            let root1 = root_of(&l[..m as usize]);
            let proof = consistency_proof(&l, m, n).unwrap();
            assert_eq!(
                verify_consistency(m, n, &proof, &root1, &root2),
                Ok(()),
                "m={m} n={n}"
            );

            for_each_proof_flip(&proof, |j, p| {
                assert!(
                    verify_consistency(m, n, p, &root1, &root2).is_err(),
                    "m={m} n={n} proof[{j}]"
                );
            });
            for_each_flip(&root1, |h| {
                assert!(
                    verify_consistency(m, n, &proof, h, &root2).is_err(),
                    "m={m} n={n} root1"
                );
            });
            for_each_flip(&root2, |h| {
                assert!(
                    verify_consistency(m, n, &proof, &root1, h).is_err(),
                    "m={m} n={n} root2"
                );
            });
            // A proof for m does not pass for a neighbouring old size.
            if m > 1 {
                assert!(
                    verify_consistency(m - 1, n, &proof, &root1, &root2).is_err(),
                    "m={m} n={n} m-1"
                );
            }
            if m < n {
                assert!(
                    verify_consistency(m + 1, n, &proof, &root1, &root2).is_err(),
                    "m={m} n={n} m+1"
                );
            }
        }
    }
}
