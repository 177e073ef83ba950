//! `labguard bench`: throughput measured against this machine's own limits in the same run
//! (OpenSSL's AES-256-GCM and SHA-256 speed), reported as ratios.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;
use labguard_crypto::{FieldRef, KeyRing};
use labguard_store::{DataDir, StoreOptions};

use crate::opts::Global;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Field encryption/decryption at 64 B, 1 KiB, 16 KiB vs `openssl speed -evp aes-256-gcm`.
    Crypto,
    /// Audit log appends (batched) and full verify vs `openssl speed sha256`.
    Audit {
        /// Entries to append and verify.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// Entries per transaction.
        #[arg(long, default_value_t = 10_000)]
        batch: u64,
    },
    /// Device vulnerability matching: a generated fleet and OSV feed plus the real KEV.
    Devices(crate::devices_bench::DevicesBenchArgs),
    /// Privacy scan over synthetic record accesses: full, then incremental.
    Privacy(crate::privacy_bench::PrivacyBenchArgs),
}

/// Bytes/s OpenSSL reaches for `args` at `size` (parses the `-mr` machine-readable output).
fn openssl_speed(args: &[&str], size: usize) -> Result<f64> {
    let out = Command::new("openssl")
        .arg("speed")
        .args([
            "-mr",
            "-elapsed",
            "-seconds",
            "2",
            "-bytes",
            &size.to_string(),
        ])
        .args(args)
        .output()
        .context("running openssl speed (is openssl installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "+F:<n>:<name>:<bytes/s for each size…>"
    let line = text
        .lines()
        .find(|l| l.starts_with("+F:"))
        .context("unexpected openssl speed output")?;
    let v: f64 = line
        .rsplit(':')
        .next()
        .and_then(|s| s.trim().parse().ok())
        .context("unexpected openssl speed figure")?;
    Ok(v)
}

fn rate(bytes: usize, iters: u64, secs: f64) -> f64 {
    bytes as f64 * iters as f64 / secs
}

pub fn run(g: &Global, cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Crypto => crypto(),
        BenchCmd::Audit { entries, batch } => audit(g, entries, batch.max(1)),
        BenchCmd::Devices(a) => crate::devices_bench::run(g, &a),
        BenchCmd::Privacy(a) => crate::privacy_bench::run(g, &a),
    }
}

fn crypto() -> Result<()> {
    let mut ring = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
    ring.add_data_key(1, &[9; 32])?;
    let f = FieldRef::new("results", "0b7c6f7e-0000-4000-8000-000000000000", "value");
    println!(
        "{:>7} {:>14} {:>14} {:>14} {:>9} {:>9}",
        "size", "seal MB/s", "open MB/s", "openssl MB/s", "seal %", "open %"
    );
    for size in [64usize, 1024, 16384] {
        let pt = vec![0x5au8; size];
        let iters = (256 << 20) / size as u64;
        let t = Instant::now();
        let mut ct = Vec::new();
        for _ in 0..iters {
            ct = ring.seal(&f, &pt)?;
        }
        let seal = rate(size, iters, t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(ring.open(&f, &ct)?);
        }
        let open = rate(size, iters, t.elapsed().as_secs_f64());
        let ossl = openssl_speed(&["-evp", "aes-256-gcm"], size)?;
        println!(
            "{size:>7} {:>14.0} {:>14.0} {:>14.0} {:>8.0}% {:>8.0}%",
            seal / 1e6,
            open / 1e6,
            ossl / 1e6,
            100.0 * seal / ossl,
            100.0 * open / ossl
        );
    }
    Ok(())
}

fn audit(g: &Global, entries: u64, batch: u64) -> Result<()> {
    let dir = tempfile_dir()?;
    let data = match &g.database {
        Some(url) => DataDir::postgres(&dir, url, Some(&format!("bench_{}", std::process::id()))),
        None => DataDir::sqlite(&dir),
    };
    let store = data.init(StoreOptions {
        checkpoint_every: 100_000,
        ..StoreOptions::default()
    })?;
    let pb = crate::progress::bar("appending");
    pb.set_length(entries);
    let t = Instant::now();
    let bytes = store.bench_append_audit(entries, batch, &mut |i| pb.set_position(i))?;
    store.checkpoint()?;
    let append_secs = t.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let t = Instant::now();
    let report = store
        .verify(&mut |_, _| {})
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let verify_secs = t.elapsed().as_secs_f64();
    // Verify hashes each entry once as a leaf and once per internal node (64 bytes + prefix).
    let hashed = bytes as f64 + report.entries as f64 * 65.0;
    let avg = (bytes / entries.max(1)) as usize;
    let ossl = openssl_speed(&["sha256"], avg.max(16))?;
    println!("backend: {:?}", store.backend_kind());
    println!(
        "append: {entries} entries in {append_secs:.2} s = {:.0} entries/s (batches of {batch})",
        entries as f64 / append_secs
    );
    println!(
        "verify: {} entries in {verify_secs:.2} s = {:.0} MB/s hashed; openssl sha256 at {avg} B: {:.0} MB/s; ratio {:.0}%",
        report.entries,
        hashed / verify_secs / 1e6,
        ossl / 1e6,
        100.0 * hashed / verify_secs / ossl
    );
    data.discard()?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("labguard-bench-{}", std::process::id()));
    if d.exists() {
        std::fs::remove_dir_all(&d)?;
    }
    Ok(d)
}
