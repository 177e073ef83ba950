//! Throughput of the audit log's hot paths over 1M entries of ~200 bytes:
//! leaf hashing + frontier append (what the store does per write) and the full
//! LogVerifier pass (what `labguard audit verify` does).
//!
//! Before criterion runs, prints MB/s (10^6 bytes/s of entry bytes, best of 3) so
//! the figures compare directly with `openssl speed -bytes 256 sha256`, which
//! reports 1000s of bytes per second of CPU user time. On a shared machine wall
//! time swings with other load, so MB/s is given per on-CPU second (Linux
//! `/proc/thread-self/schedstat`) as well as per wall second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use labguard_audit::{
    leaf_hash, sign_checkpoint, AuditEntry, Checkpoint, Frontier, Hash, LogVerifier, Outcome,
    VerifierKey,
};
use ring::digest::{digest, SHA256};

const N: u64 = 1_000_000;
const ORIGIN: &str = "lab.example/audit";
const SEED: [u8; 32] = [0x42; 32];
/// The store signs a checkpoint every so many entries in this scenario.
const CHECKPOINT_EVERY: u64 = 100_000;

struct Fixture {
    entries: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
    notes: Vec<String>,
    bytes: u64,
}

fn entry(i: u64) -> Vec<u8> {
    AuditEntry {
        time: format!(
            "2025-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            1 + i % 12,
            1 + i % 28,
            i % 24,
            i % 60,
            (i / 60) % 60,
            i % 1000
        ),
        actor: format!("u-{:06}", i % 5000),
        role: ["phlebotomist", "technologist", "physician", "admin"][(i % 4) as usize].into(),
        action: [
            "patient.read",
            "result.write",
            "specimen.collect",
            "order.create",
        ][(i % 4) as usize]
            .into(),
        resource: "specimen".into(),
        resource_id: format!("01HQ{:022}", i),
        patient_ref: Some(format!("p-{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
        reason: (i % 10 == 0).then(|| "break-glass: emergency".to_owned()),
        outcome: if i % 50 == 0 {
            Outcome::Denied
        } else {
            Outcome::Success
        },
        content_hash: Some(hex::encode(digest(&SHA256, &i.to_le_bytes()))),
        node: Some("node-a".into()),
    }
    .encode()
}

fn fixture() -> Fixture {
    let entries: Vec<Vec<u8>> = (0..N).map(entry).collect();
    let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut f = Frontier::new();
    let mut notes = Vec::new();
    for (i, h) in hashes.iter().enumerate() {
        let _ = f.append(*h);
        if (i as u64 + 1) % CHECKPOINT_EVERY == 0 {
            let cp = Checkpoint::new(ORIGIN, f.size(), f.root());
            notes.push(sign_checkpoint(&cp, ORIGIN, &SEED).expect("sign"));
        }
    }
    let bytes = entries.iter().map(|e| e.len() as u64).sum();
    Fixture {
        entries,
        hashes,
        notes,
        bytes,
    }
}

fn append_all(fx: &Fixture) -> Hash {
    let mut f = Frontier::new();
    for e in &fx.entries {
        let _ = f.append(leaf_hash(e));
    }
    f.root()
}

fn verify_all(fx: &Fixture, vkey: &VerifierKey) -> Hash {
    let mut v = LogVerifier::new(vkey, ORIGIN, &fx.notes).expect("checkpoints open");
    for (i, (e, h)) in fx.entries.iter().zip(&fx.hashes).enumerate() {
        v.push(i as u64, e, h).expect("entry verifies");
    }
    v.finish().expect("log verifies").root
}

fn ring_sha256_all(fx: &Fixture) -> u8 {
    let mut x = 0u8;
    for e in &fx.entries {
        x ^= digest(&SHA256, e).as_ref()[0];
    }
    x
}

fn sha2_sha256_all(fx: &Fixture) -> u8 {
    use sha2::Digest as _;
    let mut x = 0u8;
    for e in &fx.entries {
        x ^= sha2::Sha256::digest(e)[0];
    }
    x
}

/// Nanoseconds this thread has spent on a CPU, or `None` off Linux.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Best (wall, cpu) time of three runs.
fn best_of_3(mut f: impl FnMut()) -> (Duration, Option<Duration>) {
    let mut best: (Duration, Option<Duration>) = (Duration::MAX, None);
    for _ in 0..3 {
        let cpu0 = thread_cpu_ns();
        let t = Instant::now();
        f();
        let wall = t.elapsed();
        let cpu = cpu0
            .zip(thread_cpu_ns())
            .map(|(a, b)| Duration::from_nanos(b.saturating_sub(a)));
        best.0 = best.0.min(wall);
        best.1 = match (best.1, cpu) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    best
}

fn print_mb_s(fx: &Fixture, vkey: &VerifierKey) {
    let mb = fx.bytes as f64 / 1e6;
    println!(
        "fixture: {N} entries, {:.1} MB, {:.1} bytes/entry, {} checkpoints",
        mb,
        fx.bytes as f64 / N as f64,
        fx.notes.len()
    );
    let rows: [(&str, (Duration, Option<Duration>)); 4] = [
        (
            "baseline: SHA-256 of each entry, ring",
            best_of_3(|| {
                black_box(ring_sha256_all(fx));
            }),
        ),
        (
            "baseline: SHA-256 of each entry, sha2",
            best_of_3(|| {
                black_box(sha2_sha256_all(fx));
            }),
        ),
        (
            "leaf_hash + Frontier::append",
            best_of_3(|| {
                black_box(append_all(fx));
            }),
        ),
        (
            "LogVerifier (entry check, leaf, tree, checkpoints)",
            best_of_3(|| {
                black_box(verify_all(fx, vkey));
            }),
        ),
    ];
    println!(
        "{:<56} {:>14} {:>14} {:>10}",
        "", "MB/s (CPU)", "MB/s (wall)", "ns/entry"
    );
    for (name, (wall, cpu)) in rows {
        let cpu = cpu.unwrap_or(wall).as_secs_f64();
        println!(
            "{name:<56} {:>14.1} {:>14.1} {:>10.0}",
            mb / cpu,
            mb / wall.as_secs_f64(),
            cpu * 1e9 / N as f64
        );
    }
}

fn main() {
    let fx = fixture();
    let vkey = VerifierKey::from_seed(ORIGIN, &SEED).expect("vkey");
    print_mb_s(&fx, &vkey);

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let mut g = c.benchmark_group("audit_1M_entries");
    g.throughput(Throughput::Bytes(fx.bytes));
    g.bench_function("leaf_hash_and_frontier_append", |b| {
        b.iter(|| append_all(&fx))
    });
    g.bench_function("log_verifier", |b| b.iter(|| verify_all(&fx, &vkey)));
    g.finish();
    c.final_summary();
}
