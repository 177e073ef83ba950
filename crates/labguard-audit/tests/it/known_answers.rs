//! Known-answer tests: the RFC 6962 reference tree of eight leaves used by CT test
//! suites (and by the transparency-dev vectors in `testdata/`).

use labguard_audit::{
    consistency_proof, inclusion_proof, leaf_hash, root_of, verify_proof_json,
    ConsistencyProofJson, Frontier, Hash, InclusionProofJson, EMPTY_ROOT,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn leaves() -> Vec<Hash> {
    LEAVES
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap()))
        .collect()
}

#[test]
fn empty_tree_root() {
    assert_eq!(
        hex::encode(EMPTY_ROOT),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(root_of(&[]), EMPTY_ROOT);
    assert_eq!(Frontier::new().root(), EMPTY_ROOT);
}

#[test]
fn roots_of_every_prefix() {
    let l = leaves();
    let mut f = Frontier::new();
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(hex::encode(root_of(&l[..=n])), *want, "size {}", n + 1);
        f.append(l[n]).unwrap();
        assert_eq!(hex::encode(f.root()), *want, "frontier size {}", n + 1);
    }
}

/// Proofs we generate for the vector tree serialise to documents equal (in their
/// hash fields) to the happy-path vectors in testdata/.
#[test]
fn generated_proofs_match_corpus_happy_paths() {
    let l = leaves();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/merkle");
    for sub in ["inclusion/0", "inclusion/1", "inclusion/2"] {
        let text = std::fs::read_to_string(format!("{dir}/{sub}/happy-path.json")).unwrap();
        let v: InclusionProofJson = serde_json::from_str(&text).unwrap();
        let proof = inclusion_proof(&l, v.leaf_idx, v.tree_size).unwrap();
        let ours = InclusionProofJson::new(
            v.leaf_idx,
            v.tree_size,
            &l[v.leaf_idx as usize],
            &proof,
            &root_of(&l[..v.tree_size as usize]),
        );
        assert_eq!(
            (&ours.root, &ours.leaf_hash, &ours.proof),
            (&v.root, &v.leaf_hash, &v.proof),
            "{sub}"
        );
        assert!(verify_proof_json(&ours.to_json_string()).is_ok());
    }
    for sub in ["consistency/0", "consistency/1", "consistency/2"] {
        let text = std::fs::read_to_string(format!("{dir}/{sub}/happy-path.json")).unwrap();
        let v: ConsistencyProofJson = serde_json::from_str(&text).unwrap();
        let proof = consistency_proof(&l, v.size1, v.size2).unwrap();
        let ours = ConsistencyProofJson::new(
            v.size1,
            v.size2,
            &proof,
            &root_of(&l[..v.size1 as usize]),
            &root_of(&l[..v.size2 as usize]),
        );
        assert_eq!(
            (&ours.root1, &ours.root2, &ours.proof),
            (&v.root1, &v.root2, &v.proof),
            "{sub}"
        );
    }
}
