//! Single-pass verification of a whole stored log against its signed checkpoints.

use crate::checkpoint::{open_checkpoint, Checkpoint, CheckpointError};
use crate::entry::{AuditEntry, EntryError};
use crate::frontier::Frontier;
use crate::hash::{leaf_hash, Hash, EMPTY_ROOT};
use crate::note::VerifierKey;

/// The first problem [`LogVerifier`] found. Each variant names where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Checkpoint note number `position` (in the order given) failed to open:
    /// bad or missing signature, or malformed note.
    #[error("checkpoint #{position}: {source}")]
    CheckpointSignature {
        /// Position of the note in the list given to [`LogVerifier::new`].
        position: usize,
        /// Why it was rejected.
        source: CheckpointError,
    },
    /// Checkpoint note number `position` is validly signed but for another log.
    #[error("checkpoint #{position} (size {size}) has a different origin")]
    CheckpointOrigin {
        /// Position of the note in the list given.
        position: usize,
        /// Tree size the checkpoint claims.
        size: u64,
    },
    /// Entries `expected..found` are missing from the stream.
    #[error("index gap: expected entry {expected}, got {found}")]
    IndexGap {
        /// Next index the verifier expected.
        expected: u64,
        /// Index it received.
        found: u64,
    },
    /// An index was repeated or went backwards.
    #[error("index out of order: expected entry {expected}, got {found}")]
    IndexOutOfOrder {
        /// Next index the verifier expected.
        expected: u64,
        /// Index it received.
        found: u64,
    },
    /// The stored bytes of entry `index` are not a valid encoded [`AuditEntry`].
    #[error("entry {index} does not decode: {source}")]
    EntryDecode {
        /// Entry index.
        index: u64,
        /// Decoding problem.
        source: EntryError,
    },
    /// The leaf hash recomputed from entry `index`'s bytes differs from the stored one:
    /// the entry or its stored hash was changed after it was written.
    #[error("entry {index}: stored leaf hash does not match the entry bytes")]
    LeafHashMismatch {
        /// Entry index.
        index: u64,
    },
    /// The tree recomputed from the entries disagrees with a signed checkpoint.
    ///
    /// Entries before `range_start` were confirmed by an earlier checkpoint, so the
    /// change lies in entries `range_start..range_end` (`range_end` = checkpoint size).
    #[error("checkpoint #{position} (size {checkpoint_size}): root does not match entries; changed entries lie in {range_start}..{range_end}")]
    CheckpointRootMismatch {
        /// Position of the note in the list given.
        position: usize,
        /// Tree size of the checkpoint.
        checkpoint_size: u64,
        /// First entry not covered by an earlier matching checkpoint.
        range_start: u64,
        /// One past the last entry the checkpoint covers.
        range_end: u64,
    },
    /// Two validly signed checkpoints have the same size but different roots, and the
    /// entries match the other one: the signing key signed a fork of the log.
    #[error("checkpoint #{position} (size {checkpoint_size}) conflicts with another signed checkpoint of the same size")]
    CheckpointConflict {
        /// Position of the conflicting note in the list given.
        position: usize,
        /// Tree size of both checkpoints.
        checkpoint_size: u64,
    },
    /// A signed checkpoint covers more entries than the log has: entries were removed
    /// from the end.
    #[error("log truncated: checkpoint #{position} has size {checkpoint_size} but the log has {log_size} entries")]
    Truncated {
        /// Position of the note in the list given.
        position: usize,
        /// Tree size of the checkpoint.
        checkpoint_size: u64,
        /// Entries seen.
        log_size: u64,
    },
    /// The log reached the maximum tree size.
    #[error("log exceeds the maximum tree size")]
    TooLarge,
}

/// Outcome of a successful [`LogVerifier::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    /// Number of entries verified.
    pub entries: u64,
    /// Number of checkpoints whose root matched.
    pub checkpoints_checked: usize,
    /// Size of the largest checkpoint; entries after it are hashed but not yet signed.
    pub last_checkpoint_size: u64,
    /// Root of the whole log as recomputed.
    pub root: Hash,
}

/// Streams a stored log through the Merkle tree and compares it with signed
/// checkpoints, stopping at the first problem.
///
/// Order of checks: every checkpoint note is opened at construction (signature and
/// origin, in the order given); then for each [`push`](Self::push)ed entry, in
/// index order: index continuity, entry decoding, leaf hash, and the root of every
/// checkpoint whose size the log just reached; finally [`finish`](Self::finish)
/// reports checkpoints larger than the log. Memory is O(log n + checkpoints).
///
/// After an error, every later call returns that same error.
///
/// ```
/// use labguard_audit::*;
/// let seed = [5u8; 32];
/// let vkey = VerifierKey::from_seed("lab.example/audit", &seed).unwrap();
/// let entry = AuditEntry {
///     time: "2025-01-01T00:00:00Z".into(), actor: "u-1".into(), role: "admin".into(),
///     action: "user.create".into(), resource: "user".into(), resource_id: "u-2".into(),
///     patient_ref: None, reason: None, outcome: Outcome::Success,
///     content_hash: None, node: None,
/// }
/// .encode();
/// let cp = Checkpoint::new("lab.example/audit", 1, root_of(&[leaf_hash(&entry)]));
/// let note = sign_checkpoint(&cp, "lab.example/audit", &seed).unwrap();
///
/// let mut v = LogVerifier::new(&vkey, "lab.example/audit", &[note]).unwrap();
/// v.push(0, &entry, &leaf_hash(&entry)).unwrap();
/// let summary = v.finish().unwrap();
/// assert_eq!((summary.entries, summary.checkpoints_checked), (1, 1));
/// ```
#[derive(Debug)]
pub struct LogVerifier {
    /// Opened checkpoints with their position in the input, sorted by size.
    checkpoints: Vec<(usize, Checkpoint)>,
    next_checkpoint: usize,
    frontier: Frontier,
    last_confirmed_size: u64,
    checked: usize,
    failed: Option<VerifyError>,
}

impl LogVerifier {
    /// Opens every checkpoint note with `vkey` and checks its origin is `origin`.
    ///
    /// Fails with [`VerifyError::CheckpointSignature`] or
    /// [`VerifyError::CheckpointOrigin`] for the first bad note, or
    /// [`VerifyError::CheckpointRootMismatch`] for a size-0 checkpoint whose root is
    /// not the empty-tree root.
    pub fn new<S: AsRef<str>>(
        vkey: &VerifierKey,
        origin: &str,
        checkpoint_notes: &[S],
    ) -> Result<Self, VerifyError> {
        let mut checkpoints = Vec::with_capacity(checkpoint_notes.len());
        for (position, note) in checkpoint_notes.iter().enumerate() {
            let cp = open_checkpoint(note.as_ref(), vkey)
                .map_err(|source| VerifyError::CheckpointSignature { position, source })?;
            if cp.origin != origin {
                return Err(VerifyError::CheckpointOrigin {
                    position,
                    size: cp.size,
                });
            }
            checkpoints.push((position, cp));
        }
        // Stable sort keeps input order among equal sizes, so errors are reproducible.
        checkpoints.sort_by_key(|(_, cp)| cp.size);
        let mut v = Self {
            checkpoints,
            next_checkpoint: 0,
            frontier: Frontier::new(),
            last_confirmed_size: 0,
            checked: 0,
            failed: None,
        };
        v.check_reached_checkpoints(EMPTY_ROOT)?;
        Ok(v)
    }

    /// Number of entries accepted so far (the next expected index).
    pub fn entries(&self) -> u64 {
        self.frontier.size()
    }

    /// Feeds entry `index` with its stored bytes and stored leaf hash.
    ///
    /// Entries must come in index order starting at 0.
    #[inline]
    pub fn push(
        &mut self,
        index: u64,
        entry_bytes: &[u8],
        stored_leaf_hash: &Hash,
    ) -> Result<(), VerifyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.push_inner(index, entry_bytes, stored_leaf_hash);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    #[inline]
    fn push_inner(
        &mut self,
        index: u64,
        entry_bytes: &[u8],
        stored: &Hash,
    ) -> Result<(), VerifyError> {
        let expected = self.frontier.size();
        if index != expected {
            return Err(if index > expected {
                VerifyError::IndexGap {
                    expected,
                    found: index,
                }
            } else {
                VerifyError::IndexOutOfOrder {
                    expected,
                    found: index,
                }
            });
        }
        AuditEntry::check_encoded(entry_bytes)
            .map_err(|source| VerifyError::EntryDecode { index, source })?;
        let leaf = leaf_hash(entry_bytes);
        if leaf != *stored {
            return Err(VerifyError::LeafHashMismatch { index });
        }
        self.frontier
            .append(leaf)
            .map_err(|_| VerifyError::TooLarge)?;
        // Only compute the root (O(log n) hashes) when a checkpoint is due.
        if self
            .checkpoints
            .get(self.next_checkpoint)
            .is_some_and(|(_, cp)| cp.size == index + 1)
        {
            let root = self.frontier.root();
            self.check_reached_checkpoints(root)?;
        }
        Ok(())
    }

    /// Compares every not-yet-checked checkpoint of the current size with `root`.
    fn check_reached_checkpoints(&mut self, root: Hash) -> Result<(), VerifyError> {
        let size = self.frontier.size();
        while let Some((position, cp)) = self.checkpoints.get(self.next_checkpoint) {
            if cp.size != size {
                break;
            }
            if cp.root != root {
                let already_confirmed = self.checked > 0 && self.last_confirmed_size == size;
                let err = if already_confirmed {
                    VerifyError::CheckpointConflict {
                        position: *position,
                        checkpoint_size: size,
                    }
                } else {
                    VerifyError::CheckpointRootMismatch {
                        position: *position,
                        checkpoint_size: size,
                        range_start: self.last_confirmed_size,
                        range_end: size,
                    }
                };
                self.failed = Some(err.clone());
                return Err(err);
            }
            self.last_confirmed_size = size;
            self.checked += 1;
            self.next_checkpoint += 1;
        }
        Ok(())
    }

    /// Ends the stream: fails with [`VerifyError::Truncated`] if a checkpoint is
    /// larger than the log, otherwise returns the summary.
    pub fn finish(self) -> Result<VerifySummary, VerifyError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let log_size = self.frontier.size();
        if let Some((position, cp)) = self.checkpoints.get(self.next_checkpoint) {
            return Err(VerifyError::Truncated {
                position: *position,
                checkpoint_size: cp.size,
                log_size,
            });
        }
        Ok(VerifySummary {
            entries: log_size,
            checkpoints_checked: self.checked,
            last_checkpoint_size: self.last_confirmed_size,
            root: self.frontier.root(),
        })
    }
}
