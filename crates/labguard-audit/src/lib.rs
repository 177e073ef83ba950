//! labguard's tamper-evident audit log, as pure functions over bytes and hashes.
//!
//! - **Tree** — RFC 9162 (Certificate Transparency v2) Merkle tree:
//!   [`leaf_hash`], [`node_hash`], [`root_of`], and [`Frontier`], the O(log n)
//!   right edge the store keeps in its head row to append and compute roots.
//! - **Proofs** — [`inclusion_proof`] / [`consistency_proof`] from leaf hashes,
//!   [`verify_inclusion`] / [`verify_consistency`] per RFC 9162 §2.1.3.2 / §2.1.4.2,
//!   and the JSON form of the transparency-dev test vectors
//!   ([`InclusionProofJson`], [`ConsistencyProofJson`], [`verify_proof_json`]).
//! - **Checkpoints** — signed tree heads in the C2SP `tlog-checkpoint` /
//!   `signed-note` format with Ed25519 ([`sign_checkpoint`], [`open_checkpoint`],
//!   [`VerifierKey`]).
//! - **Entries** — [`AuditEntry`], the record hashed as a leaf, with a canonical
//!   binary encoding. Entries carry pseudonymous references only, never PHI.
//! - **Verification** — [`LogVerifier`] streams a stored log, recomputes every leaf
//!   and checkpoint root, and names the first problem.
//!
//! No I/O: no files, network, clock or randomness. Time strings and key seeds are
//! passed in.
//!
//! Typical store flow:
//!
//! ```
//! use labguard_audit::*;
//! let seed = [1u8; 32]; // from the key ring, never generated here
//! let origin = "lab.example/audit";
//! let mut head = Frontier::new(); // persisted with head.to_bytes()
//! let entry = AuditEntry {
//!     time: "2025-06-01T12:00:00Z".into(),
//!     actor: "u-17".into(),
//!     role: "technologist".into(),
//!     action: "result.read".into(),
//!     resource: "result".into(),
//!     resource_id: "r-99".into(),
//!     patient_ref: Some("p-3c1e".into()),
//!     reason: None,
//!     outcome: Outcome::Success,
//!     content_hash: None,
//!     node: Some("node-1".into()),
//! };
//! entry.validate().unwrap();
//! let bytes = entry.encode();
//! let leaf = leaf_hash(&bytes);
//! let index = head.append(leaf).unwrap(); // store (index, bytes, leaf)
//! let note = sign_checkpoint(&Checkpoint::new(origin, head.size(), head.root()), origin, &seed).unwrap();
//!
//! let vkey = VerifierKey::from_seed(origin, &seed).unwrap();
//! let mut v = LogVerifier::new(&vkey, origin, &[note]).unwrap();
//! v.push(index, &bytes, &leaf).unwrap();
//! assert_eq!(v.finish().unwrap().root, head.root());
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checkpoint;
mod entry;
mod frontier;
mod hash;
mod log_verifier;
mod note;
mod proof;
mod proof_json;
mod verify;

pub use checkpoint::{open_checkpoint, sign_checkpoint, Checkpoint, CheckpointError};
pub use entry::{AuditEntry, EntryError, Outcome, MAX_FIELD_LEN};
pub use frontier::{Frontier, FrontierError, MAX_TREE_SIZE};
pub use hash::{empty_root, leaf_hash, node_hash, Hash, EMPTY_ROOT, HASH_LEN};
pub use log_verifier::{LogVerifier, VerifyError, VerifySummary};
pub use note::{key_id, VerifierKey};
pub use proof::{consistency_proof, inclusion_proof, root_of, ProofError};
pub use proof_json::{verify_proof_json, ConsistencyProofJson, InclusionProofJson, ProofKind};
pub use verify::{
    consistency_proof_len, inclusion_proof_len, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
};
