//! `labguard bench privacy`: synthetic record accesses appended to a fresh store, then a
//! full `privacy scan` and an incremental one over more entries; throughput and the
//! process's peak resident memory (VmHWM from /proc/self/status).

use std::time::Instant;

use anyhow::Result;
use chrono::{Duration, Utc};
use labguard_store::{Actor, DataDir, StoreOptions};

use crate::opts::Global;

#[derive(clap::Args)]
pub struct PrivacyBenchArgs {
    /// Entries to append before the first scan.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Entries appended after it, for the incremental scan.
    #[arg(long, default_value_t = 10_000)]
    incremental: u64,
}

/// Peak resident set size in KiB, if the kernel reports it.
fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn run(g: &Global, a: &PrivacyBenchArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("labguard-privacy-bench-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let data = match &g.database {
        Some(url) => DataDir::postgres(&dir, url, Some(&format!("pbench_{}", std::process::id()))),
        None => DataDir::sqlite(&dir),
    };
    let store = data.init(StoreOptions {
        checkpoint_every: 1_000_000,
        ..StoreOptions::default()
    })?;
    let op = Actor::operator();
    let pb = crate::progress::bar("appending");
    pb.set_length(a.entries);
    let t = Instant::now();
    store.bench_append_accesses(0, a.entries, 20_000, &mut |i| pb.set_position(i))?;
    pb.finish_and_clear();
    println!(
        "append: {} entries in {:.1} s",
        a.entries,
        t.elapsed().as_secs_f64()
    );
    let rss_before = vm_hwm_kib();
    // Far enough ahead that every synthetic access has settled.
    let later = Utc::now() + Duration::days(3650);
    let t = Instant::now();
    let s = store.privacy_scan(&op, later)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "scan: {} accesses in {secs:.1} s = {:.0} entries/s, {} alerts; peak RSS {} MiB (after appending: {} MiB)",
        s.examined,
        s.examined as f64 / secs,
        s.alerts,
        vm_hwm_kib().unwrap_or(0) / 1024,
        rss_before.unwrap_or(0) / 1024
    );
    store.bench_append_accesses(a.entries, a.incremental, 10_000, &mut |_| {})?;
    let t = Instant::now();
    let s = store.privacy_scan(&op, later)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "incremental scan: {} accesses in {secs:.2} s = {:.0} entries/s, {} alerts; peak RSS {} MiB",
        s.examined,
        s.examined as f64 / secs,
        s.alerts,
        vm_hwm_kib().unwrap_or(0) / 1024
    );
    println!("backend: {:?}", store.backend_kind());
    data.discard()?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
