//! Property checks for small trees: for every size 1..=70 and every index / size
//! pair, generated proofs verify, and single-bit flips of any proof hash, leaf hash
//! or root make verification fail.
//!
//! Flips are exhaustive (all 256 bits of every hash) for trees of up to
//! `ALL_BITS_UP_TO` leaves. Above that, every byte of every hash is flipped once,
//! at a bit position that rotates with the byte and the hash, so all eight
//! positions occur in each hash: SHA-256 treats bit positions alike, and full
//! coverage to size 70 costs about a minute of CPU in a debug build (the `sha2`
//! generics run unoptimised there) for no added confidence.

use labguard_audit::{
    consistency_proof, inclusion_proof, leaf_hash, root_of, verify_consistency, verify_inclusion,
    Frontier, Hash,
};

const MAX: u64 = 70;
const ALL_BITS_UP_TO: u64 = 24;

fn leaves() -> Vec<Hash> {
    (0..MAX).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// The (byte, bit) positions to flip in hash number `salt` of a tree of `size`.
fn flips(size: u64, salt: usize) -> Vec<(usize, u8)> {
    if size <= ALL_BITS_UP_TO {
        (0..32)
            .flat_map(|byte| (0..8).map(move |bit| (byte, bit)))
            .collect()
    } else {
        (0..32)
            .map(|byte| (byte, ((byte + salt) % 8) as u8))
            .collect()
    }
}

/// Calls `check` with single-bit mutations of `h`.
fn for_each_flip(size: u64, salt: usize, h: &Hash, mut check: impl FnMut(&Hash)) {
    let mut m = *h;
    for (byte, bit) in flips(size, salt) {
        m[byte] ^= 1 << bit;
        check(&m);
        m[byte] ^= 1 << bit;
    }
}

/// Calls `check` with single-bit mutations of each hash in `proof`.
fn for_each_proof_flip(size: u64, proof: &[Hash], mut check: impl FnMut(usize, &[Hash])) {
    let mut p = proof.to_vec();
    for j in 0..p.len() {
        for (byte, bit) in flips(size, j) {
            p[j][byte] ^= 1 << bit;
            check(j, &p);
            p[j][byte] ^= 1 << bit;
        }
    }
}

#[test]
fn flip_plan_covers_every_byte_and_bit_position() {
    assert_eq!(flips(ALL_BITS_UP_TO, 0).len(), 256);
    for salt in 0..8 {
        let f = flips(MAX, salt);
        assert_eq!(f.len(), 32);
        let mut bits: Vec<u8> = f.iter().map(|&(_, b)| b).collect();
        bits.sort_unstable();
        bits.dedup();
        assert_eq!(bits.len(), 8);
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

            for_each_proof_flip(n, &proof, |j, p| {
                assert!(
                    verify_inclusion(&leaf, i, n, p, &root).is_err(),
                    "i={i} n={n} proof[{j}]"
                );
            });
            for_each_flip(n, proof.len(), &leaf, |m| {
                assert!(
                    verify_inclusion(m, i, n, &proof, &root).is_err(),
                    "i={i} n={n} leaf"
                );
            });
            for_each_flip(n, proof.len() + 1, &root, |m| {
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

            for_each_proof_flip(n, &proof, |j, p| {
                assert!(
                    verify_consistency(m, n, p, &root1, &root2).is_err(),
                    "m={m} n={n} proof[{j}]"
                );
            });
            for_each_flip(n, proof.len(), &root1, |h| {
                assert!(
                    verify_consistency(m, n, &proof, h, &root2).is_err(),
                    "m={m} n={n} root1"
                );
            });
            for_each_flip(n, proof.len() + 1, &root2, |h| {
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
