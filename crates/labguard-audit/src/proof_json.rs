//! Proofs as JSON documents, in the form of the transparency-dev/merkle test vectors:
//! numbers for sizes and indices, standard base64 for hashes, `null` for an empty proof.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::hash::{hash_from_slice, Hash};
use crate::proof::ProofError;
use crate::verify::{verify_consistency, verify_inclusion};

/// An inclusion proof document.
///
/// ```json
/// {"leafIdx": 5, "treeSize": 8, "root": "<b64>", "leafHash": "<b64>", "proof": ["<b64>", …]}
/// ```
///
/// `desc` and `wantErr` exist in test vectors; they are accepted, kept, and ignored
/// by [`verify`](Self::verify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionProofJson {
    /// Zero-based index of the leaf in the log.
    pub leaf_idx: u64,
    /// Tree size the proof is for.
    pub tree_size: u64,
    /// Base64 root hash of the tree of `tree_size` leaves.
    pub root: String,
    /// Base64 leaf hash (`SHA-256(0x00 ‖ entry)`).
    pub leaf_hash: String,
    /// Base64 audit path, leaf sibling first; `null` when empty.
    pub proof: Option<Vec<String>>,
    /// Free-text description (test vectors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Expected failure flag (test vectors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_err: Option<bool>,
}

/// A consistency proof document.
///
/// ```json
/// {"size1": 6, "size2": 8, "root1": "<b64>", "root2": "<b64>", "proof": ["<b64>", …]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsistencyProofJson {
    /// Older tree size.
    pub size1: u64,
    /// Newer tree size.
    pub size2: u64,
    /// Base64 root of the older tree.
    pub root1: String,
    /// Base64 root of the newer tree.
    pub root2: String,
    /// Base64 consistency proof; `null` when empty.
    pub proof: Option<Vec<String>>,
    /// Free-text description (test vectors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Expected failure flag (test vectors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_err: Option<bool>,
}

/// Which kind of proof [`verify_proof_json`] found and verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// An inclusion proof of leaf `leaf_index` in a tree of `tree_size` leaves.
    Inclusion {
        /// Leaf index proved.
        leaf_index: u64,
        /// Tree size proved against.
        tree_size: u64,
    },
    /// A consistency proof from `size1` to `size2`.
    Consistency {
        /// Older tree size.
        size1: u64,
        /// Newer tree size.
        size2: u64,
    },
}

fn b64(h: &Hash) -> String {
    STANDARD.encode(h)
}

fn proof_field(proof: &[Hash]) -> Option<Vec<String>> {
    // The vectors (Go's encoding of a nil slice) write an empty proof as null.
    if proof.is_empty() {
        None
    } else {
        Some(proof.iter().map(b64).collect())
    }
}

fn decode_hash(field: &str, text: &str) -> Result<Hash, ProofError> {
    let bytes = STANDARD.decode(text).map_err(|_| ProofError::BadBase64 {
        field: field.to_owned(),
    })?;
    hash_from_slice(&bytes).ok_or(ProofError::BadHashLength {
        field: field.to_owned(),
        len: bytes.len(),
    })
}

fn decode_proof(proof: &Option<Vec<String>>) -> Result<Vec<Hash>, ProofError> {
    proof
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| decode_hash(&format!("proof[{i}]"), s))
        .collect()
}

impl InclusionProofJson {
    /// Builds the document the store hands out for leaf `leaf_index`.
    pub fn new(
        leaf_index: u64,
        tree_size: u64,
        leaf_hash: &Hash,
        proof: &[Hash],
        root: &Hash,
    ) -> Self {
        Self {
            leaf_idx: leaf_index,
            tree_size,
            root: b64(root),
            leaf_hash: b64(leaf_hash),
            proof: proof_field(proof),
            desc: None,
            want_err: None,
        }
    }

    /// Decodes the hashes and verifies the proof (RFC 9162 §2.1.3.2).
    pub fn verify(&self) -> Result<ProofKind, ProofError> {
        let root = decode_hash("root", &self.root)?;
        let leaf = decode_hash("leafHash", &self.leaf_hash)?;
        let proof = decode_proof(&self.proof)?;
        verify_inclusion(&leaf, self.leaf_idx, self.tree_size, &proof, &root)?;
        Ok(ProofKind::Inclusion {
            leaf_index: self.leaf_idx,
            tree_size: self.tree_size,
        })
    }

    /// Pretty-printed JSON, in the vectors' field order.
    pub fn to_json_string(&self) -> String {
        to_pretty(self)
    }
}

impl ConsistencyProofJson {
    /// Builds the document the store hands out between two tree sizes.
    pub fn new(size1: u64, size2: u64, proof: &[Hash], root1: &Hash, root2: &Hash) -> Self {
        Self {
            size1,
            size2,
            root1: b64(root1),
            root2: b64(root2),
            proof: proof_field(proof),
            desc: None,
            want_err: None,
        }
    }

    /// Decodes the hashes and verifies the proof (RFC 9162 §2.1.4.2).
    pub fn verify(&self) -> Result<ProofKind, ProofError> {
        let root1 = decode_hash("root1", &self.root1)?;
        let root2 = decode_hash("root2", &self.root2)?;
        let proof = decode_proof(&self.proof)?;
        verify_consistency(self.size1, self.size2, &proof, &root1, &root2)?;
        Ok(ProofKind::Consistency {
            size1: self.size1,
            size2: self.size2,
        })
    }

    /// Pretty-printed JSON, in the vectors' field order.
    pub fn to_json_string(&self) -> String {
        to_pretty(self)
    }
}

fn to_pretty<T: Serialize>(v: &T) -> String {
    // Serialising these plain structs cannot fail; an empty string is never reached.
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Parses a proof document, tells an inclusion proof (`leafIdx`) from a consistency
/// proof (`size1`), and verifies it. `desc` and `wantErr` are ignored.
///
/// This is what `labguard audit verify-proof FILE` runs. The caller still has to
/// check that the root(s) in the document match a checkpoint it trusts.
///
/// ```
/// use labguard_audit::{verify_proof_json, ProofKind};
/// let doc = r#"{"leafIdx":0,"treeSize":1,
///   "root":"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
///   "leafHash":"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=","proof":null}"#;
/// assert_eq!(
///     verify_proof_json(doc),
///     Ok(ProofKind::Inclusion { leaf_index: 0, tree_size: 1 })
/// );
/// ```
pub fn verify_proof_json(text: &str) -> Result<ProofKind, ProofError> {
    /// Only looks for the distinguishing keys; everything else is ignored here.
    /// (Named for serde's messages, e.g. "expected struct ProofDocument".)
    #[derive(Deserialize)]
    struct ProofDocument {
        #[serde(rename = "leafIdx")]
        leaf_idx: Option<serde::de::IgnoredAny>,
        size1: Option<serde::de::IgnoredAny>,
    }
    let json_err = |e: serde_json::Error| ProofError::Json(e.to_string());
    let probe: ProofDocument = serde_json::from_str(text).map_err(json_err)?;
    // Parse the text again straight into the typed struct rather than via a
    // `serde_json::Value`: that rejects duplicate keys, which a Value would resolve
    // silently (last one wins) while a human reader may see the first.
    match (probe.leaf_idx.is_some(), probe.size1.is_some()) {
        (true, false) => serde_json::from_str::<InclusionProofJson>(text)
            .map_err(json_err)?
            .verify(),
        (false, true) => serde_json::from_str::<ConsistencyProofJson>(text)
            .map_err(json_err)?
            .verify(),
        _ => Err(ProofError::UnknownProofKind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::proof::{consistency_proof, inclusion_proof, root_of};

    #[test]
    fn emitted_documents_round_trip_and_verify() {
        let leaves: Vec<Hash> = (0..11u8).map(|i| leaf_hash(&[i])).collect();
        let root = root_of(&leaves);
        let p = inclusion_proof(&leaves, 6, 11).unwrap();
        let doc = InclusionProofJson::new(6, 11, &leaves[6], &p, &root);
        let text = doc.to_json_string();
        assert!(text.find("leafIdx") < text.find("treeSize"));
        assert!(!text.contains("desc"));
        assert_eq!(
            verify_proof_json(&text),
            Ok(ProofKind::Inclusion {
                leaf_index: 6,
                tree_size: 11
            })
        );

        let root5 = root_of(&leaves[..5]);
        let c = consistency_proof(&leaves, 5, 11).unwrap();
        let text = ConsistencyProofJson::new(5, 11, &c, &root5, &root).to_json_string();
        assert_eq!(
            verify_proof_json(&text),
            Ok(ProofKind::Consistency {
                size1: 5,
                size2: 11
            })
        );

        let text = ConsistencyProofJson::new(11, 11, &[], &root, &root).to_json_string();
        assert!(text.contains("\"proof\": null"));
        assert!(verify_proof_json(&text).is_ok());
    }

    #[test]
    fn rejects_malformed_documents() {
        assert!(matches!(
            verify_proof_json("not json"),
            Err(ProofError::Json(_))
        ));
        assert!(
            matches!(verify_proof_json("[]"), Err(ProofError::Json(m)) if m.contains("ProofDocument"))
        );
        assert_eq!(verify_proof_json("{}"), Err(ProofError::UnknownProofKind));
        assert_eq!(
            verify_proof_json(r#"{"leafIdx":0,"size1":0}"#),
            Err(ProofError::UnknownProofKind)
        );
        assert!(matches!(
            verify_proof_json(
                r#"{"leafIdx":-1,"treeSize":1,"root":"","leafHash":"","proof":null}"#
            ),
            Err(ProofError::Json(_))
        ));
        assert!(matches!(
            verify_proof_json(r#"{"size1":1,"size2":1,"root1":"","root2":"","proof":null,"x":1}"#),
            Err(ProofError::Json(_))
        ));
        // Found by fuzzing: a duplicate key must not be resolved silently.
        let leaf = "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=";
        let dup = format!(
            r#"{{"leafIdx":0,"treeSize":1,"root":"{leaf}","leafHash":"AAAA","leafHash":"{leaf}","proof":null}}"#
        );
        assert!(
            matches!(verify_proof_json(&dup), Err(ProofError::Json(m)) if m.contains("duplicate"))
        );
        assert_eq!(
            verify_proof_json(r#"{"size1":1,"size2":1,"root1":"!!","root2":"","proof":null}"#),
            Err(ProofError::BadBase64 {
                field: "root1".into()
            })
        );
        assert_eq!(
            verify_proof_json(
                r#"{"size1":1,"size2":1,"root1":"V3JvbmdSb290","root2":"","proof":null}"#
            ),
            Err(ProofError::BadHashLength {
                field: "root1".into(),
                len: 9
            })
        );
    }
}
