//! LogVerifier against clean and tampered logs: each kind of damage must be
//! reported as the first problem, with the right index or range.

use labguard_audit::{
    leaf_hash, root_of, sign_checkpoint, AuditEntry, Checkpoint, CheckpointError, Hash,
    LogVerifier, Outcome, VerifierKey, VerifyError, EMPTY_ROOT,
};

const ORIGIN: &str = "lab.example/audit";
const SEED: [u8; 32] = [0x5a; 32];

fn entry(i: u64) -> Vec<u8> {
    AuditEntry {
        time: format!("2025-04-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60),
        actor: format!("u-{}", i % 37),
        role: ["phlebotomist", "technologist", "admin"][(i % 3) as usize].into(),
        action: ["patient.read", "result.write", "specimen.collect"][(i % 3) as usize].into(),
        resource: "patient".into(),
        resource_id: format!("r-{i:08}"),
        patient_ref: (i % 2 == 0).then(|| format!("p-{:x}", i * 7919)),
        reason: (i % 5 == 0).then(|| "routine".to_owned()),
        outcome: if i % 11 == 0 {
            Outcome::Denied
        } else {
            Outcome::Success
        },
        content_hash: (i % 3 == 0).then(|| hex::encode(leaf_hash(&i.to_le_bytes()))),
        node: Some("node-1".into()),
    }
    .encode()
}

struct Log {
    entries: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
}

impl Log {
    fn new(n: u64) -> Self {
        let entries: Vec<_> = (0..n).map(entry).collect();
        let hashes = entries.iter().map(|e| leaf_hash(e)).collect();
        Self { entries, hashes }
    }

    fn checkpoint(&self, size: usize) -> String {
        let cp = Checkpoint::new(ORIGIN, size as u64, root_of(&self.hashes[..size]));
        sign_checkpoint(&cp, ORIGIN, &SEED).unwrap()
    }

    /// Feeds every entry in order; returns the first error or the summary.
    fn verify(&self, notes: &[String]) -> Result<labguard_audit::VerifySummary, VerifyError> {
        let mut v = LogVerifier::new(&vkey(), ORIGIN, notes)?;
        for (i, (e, h)) in self.entries.iter().zip(&self.hashes).enumerate() {
            v.push(i as u64, e, h)?;
        }
        v.finish()
    }
}

fn vkey() -> VerifierKey {
    VerifierKey::from_seed(ORIGIN, &SEED).unwrap()
}

#[test]
fn clean_log_verifies() {
    let log = Log::new(1000);
    // Given out of order on purpose: the verifier sorts by size.
    let notes: Vec<String> = [512, 0, 1000, 1, 100]
        .iter()
        .map(|&s| log.checkpoint(s))
        .collect();
    let s = log.verify(&notes).unwrap();
    assert_eq!(s.entries, 1000);
    assert_eq!(s.checkpoints_checked, 5);
    assert_eq!(s.last_checkpoint_size, 1000);
    assert_eq!(s.root, root_of(&log.hashes));
}

#[test]
fn unsigned_tail_and_no_checkpoints() {
    let log = Log::new(300);
    let s = log.verify(&[log.checkpoint(200)]).unwrap();
    assert_eq!((s.entries, s.last_checkpoint_size), (300, 200));
    let s = log.verify(&Vec::<String>::new()).unwrap();
    assert_eq!((s.checkpoints_checked, s.root), (0, root_of(&log.hashes)));
    let empty = Log::new(0);
    let s = empty.verify(&[empty.checkpoint(0)]).unwrap();
    assert_eq!(
        (s.entries, s.checkpoints_checked, s.root),
        (0, 1, EMPTY_ROOT)
    );
}

#[test]
fn index_gap_and_repeat() {
    let log = Log::new(10);
    let mut v = LogVerifier::new(&vkey(), ORIGIN, &[log.checkpoint(10)]).unwrap();
    for i in 0..5 {
        v.push(i, &log.entries[i as usize], &log.hashes[i as usize])
            .unwrap();
    }
    assert_eq!(v.entries(), 5);
    assert_eq!(
        v.push(6, &log.entries[6], &log.hashes[6]),
        Err(VerifyError::IndexGap {
            expected: 5,
            found: 6
        })
    );

    let mut v = LogVerifier::new(&vkey(), ORIGIN, &[log.checkpoint(10)]).unwrap();
    for i in 0..5 {
        v.push(i, &log.entries[i as usize], &log.hashes[i as usize])
            .unwrap();
    }
    assert_eq!(
        v.push(4, &log.entries[4], &log.hashes[4]),
        Err(VerifyError::IndexOutOfOrder {
            expected: 5,
            found: 4
        })
    );
}

#[test]
fn undecodable_entry_is_named() {
    let mut log = Log::new(400);
    log.entries[321].truncate(20);
    log.hashes[321] = leaf_hash(&log.entries[321]);
    let err = log.verify(&[log.checkpoint(400)]).unwrap_err();
    assert!(
        matches!(err, VerifyError::EntryDecode { index: 321, .. }),
        "{err:?}"
    );
}

#[test]
fn changed_entry_with_stale_hash_is_named() {
    let log0 = Log::new(1000);
    let notes = vec![log0.checkpoint(512), log0.checkpoint(1000)];
    let mut log = log0;
    let mut e = AuditEntry::decode(&log.entries[700]).unwrap();
    e.actor = "u-someone-else".into();
    log.entries[700] = e.encode();
    assert_eq!(
        log.verify(&notes),
        Err(VerifyError::LeafHashMismatch { index: 700 })
    );
}

#[test]
fn rewritten_entry_and_hash_caught_by_checkpoint_with_range() {
    let log0 = Log::new(1000);
    let notes = vec![
        log0.checkpoint(100),
        log0.checkpoint(512),
        log0.checkpoint(1000),
    ];
    let mut log = log0;
    let mut e = AuditEntry::decode(&log.entries[700]).unwrap();
    e.outcome = Outcome::Success;
    e.reason = Some("edited".into());
    log.entries[700] = e.encode();
    log.hashes[700] = leaf_hash(&log.entries[700]);
    assert_eq!(
        log.verify(&notes),
        Err(VerifyError::CheckpointRootMismatch {
            position: 2,
            checkpoint_size: 1000,
            range_start: 512,
            range_end: 1000,
        })
    );
}

#[test]
fn deleted_and_renumbered_entry_caught_by_next_checkpoint() {
    let log0 = Log::new(600);
    let notes = vec![
        log0.checkpoint(200),
        log0.checkpoint(300),
        log0.checkpoint(400),
    ];
    let mut log = log0;
    log.entries.remove(250);
    log.hashes.remove(250);
    assert_eq!(
        log.verify(&notes),
        Err(VerifyError::CheckpointRootMismatch {
            position: 1,
            checkpoint_size: 300,
            range_start: 200,
            range_end: 300,
        })
    );
}

#[test]
fn truncated_log() {
    let log0 = Log::new(1000);
    let notes = vec![log0.checkpoint(500), log0.checkpoint(1000)];
    let mut log = log0;
    log.entries.truncate(900);
    log.hashes.truncate(900);
    assert_eq!(
        log.verify(&notes),
        Err(VerifyError::Truncated {
            position: 1,
            checkpoint_size: 1000,
            log_size: 900,
        })
    );
}

#[test]
fn checkpoint_problems_are_reported_first() {
    let log = Log::new(50);
    let good = log.checkpoint(50);
    let forged = good.replacen("\n50\n", "\n49\n", 1);
    assert_eq!(
        log.verify(&[log.checkpoint(10), good.clone(), forged])
            .unwrap_err(),
        VerifyError::CheckpointSignature {
            position: 2,
            source: CheckpointError::BadSignature
        }
    );

    let stranger = sign_checkpoint(
        &Checkpoint::new(ORIGIN, 50, root_of(&log.hashes)),
        ORIGIN,
        &[0x01; 32],
    )
    .unwrap();
    assert!(matches!(
        log.verify(&[stranger]).unwrap_err(),
        VerifyError::CheckpointSignature {
            position: 0,
            source: CheckpointError::NoSignatureFromKey { .. }
        }
    ));

    let other_log = sign_checkpoint(
        &Checkpoint::new("lab.example/other", 50, root_of(&log.hashes)),
        ORIGIN,
        &SEED,
    )
    .unwrap();
    assert_eq!(
        log.verify(&[good, other_log]).unwrap_err(),
        VerifyError::CheckpointOrigin {
            position: 1,
            size: 50
        }
    );

    let bad_empty = sign_checkpoint(&Checkpoint::new(ORIGIN, 0, [9; 32]), ORIGIN, &SEED).unwrap();
    assert!(matches!(
        LogVerifier::new(&vkey(), ORIGIN, &[bad_empty]),
        Err(VerifyError::CheckpointRootMismatch {
            checkpoint_size: 0,
            ..
        })
    ));
}

#[test]
fn forked_checkpoints_at_same_size() {
    let log = Log::new(20);
    let fork = sign_checkpoint(&Checkpoint::new(ORIGIN, 20, [3; 32]), ORIGIN, &SEED).unwrap();
    assert_eq!(
        log.verify(&[log.checkpoint(20), fork.clone()]),
        Err(VerifyError::CheckpointConflict {
            position: 1,
            checkpoint_size: 20,
        })
    );
    // Listed before the genuine one, the fork is met first: with no matching
    // checkpoint of that size yet, it reads as changed entries in 10..20.
    assert_eq!(
        log.verify(&[log.checkpoint(10), fork, log.checkpoint(20)]),
        Err(VerifyError::CheckpointRootMismatch {
            position: 1,
            checkpoint_size: 20,
            range_start: 10,
            range_end: 20,
        })
    );
}

#[test]
fn errors_are_sticky() {
    let log = Log::new(10);
    let mut v = LogVerifier::new(&vkey(), ORIGIN, &[log.checkpoint(10)]).unwrap();
    let wrong = [0u8; 32];
    let err = v.push(0, &log.entries[0], &wrong).unwrap_err();
    assert_eq!(err, VerifyError::LeafHashMismatch { index: 0 });
    assert_eq!(v.push(0, &log.entries[0], &log.hashes[0]), Err(err.clone()));
    assert_eq!(v.finish(), Err(err));
}

#[test]
fn error_messages_name_the_place() {
    let e = VerifyError::CheckpointRootMismatch {
        position: 3,
        checkpoint_size: 1000,
        range_start: 512,
        range_end: 1000,
    };
    let msg = e.to_string();
    assert!(
        msg.contains("size 1000") && msg.contains("512..1000"),
        "{msg}"
    );
    assert!(VerifyError::LeafHashMismatch { index: 42 }
        .to_string()
        .contains("42"));
}
