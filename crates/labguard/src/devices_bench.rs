//! `labguard bench devices`: a fleet of generated devices and SBOMs matched against a
//! generated OSV feed plus the real CISA KEV catalog. Reports parse and store import
//! rates (advisories/s), matching and planning time, and peak memory (VmHWM).

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;
use labguard_devices::advisory::{parse_kev_json, parse_osv_json};
use labguard_devices::device::{Asset, Connectivity, DeviceKind};
use labguard_devices::matching::MatchIndex;
use labguard_devices::risk::{plan_fleet, RemediationPolicy, RiskWeights};
use labguard_devices::sbom::{parse_sbom, Sbom};
use labguard_store::{Actor, DataDir, StoreOptions};

use crate::opts::Global;

#[derive(clap::Args, Debug, Clone)]
pub struct DevicesBenchArgs {
    #[arg(long, default_value_t = 1_000)]
    pub devices: usize,
    #[arg(long, default_value_t = 300)]
    pub components: usize,
    #[arg(long, default_value_t = 200_000)]
    pub advisories: usize,
    /// The CISA KEV catalog JSON; its CVE ids are given to the first generated advisories.
    #[arg(
        long,
        default_value = "crates/labguard-devices/testdata/kev/known_exploited_vulnerabilities.json"
    )]
    pub kev: std::path::PathBuf,
    /// Also time importing the advisories into a fresh store (SQLite, or --database).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub import: bool,
}

const ECOSYSTEMS: [(&str, &str); 4] = [
    ("npm", "npm"),
    ("PyPI", "pypi"),
    ("Maven", "maven"),
    ("Debian", "deb"),
];

fn package(i: usize) -> (usize, String) {
    let eco = i % ECOSYSTEMS.len();
    let name = match eco {
        2 => format!("org.example.g{}:artifact-{i}", i % 97),
        _ => format!("package-{i}"),
    };
    (eco, name)
}

/// An OSV array of `n` records over `packages` packages; record `r < kev.len()` takes the
/// KEV CVE id `kev[r]`, so KEV raises real findings.
fn osv_feed(n: usize, packages: usize, kev: &[String]) -> String {
    let mut out = String::with_capacity(n * 420);
    out.push('[');
    for r in 0..n {
        let (eco, name) = package((r * 7919) % packages);
        let (eco_name, _) = ECOSYSTEMS[eco];
        let (kind, events) = match r % 4 {
            0 if eco == 0 => ("SEMVER", r#"[{"introduced":"0"},{"fixed":"2.4.1"}]"#.to_string()),
            1 => ("ECOSYSTEM", r#"[{"introduced":"1.0.0"},{"fixed":"1.2.3"},{"introduced":"3.0.0"},{"fixed":"3.5.0"}]"#.to_string()),
            2 => ("ECOSYSTEM", format!(r#"[{{"introduced":"0"}},{{"last_affected":"{}.9.9"}}]"#, r % 5)),
            _ => ("ECOSYSTEM", r#"[{"introduced":"2.0.0"},{"fixed":"2.0.7"}]"#.to_string()),
        };
        let (id, aliases) = match kev.get(r) {
            Some(cve) => (cve.clone(), "[]".to_string()),
            None if r % 2 == 1 => (
                format!("GHSA-{r:06x}-bnch"),
                format!(r#"["CVE-2030-{r:06}"]"#),
            ),
            None => (format!("CVE-2031-{r:06}"), "[]".to_string()),
        };
        if r > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"id":"{id}","modified":"2025-06-01T00:00:00Z","aliases":{aliases},"severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],"affected":[{{"package":{{"ecosystem":"{eco_name}","name":"{name}"}},"ranges":[{{"type":"{kind}","events":{events}}}]}}]}}"#
        ));
    }
    out.push(']');
    out
}

fn sbom(device: usize, components: usize, packages: usize) -> Result<Sbom> {
    let mut out = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#);
    for c in 0..components {
        // Each device draws its own spread of packages; about a third have advisories.
        let (eco, name) = package((device * 131 + c * 31) % (packages * 3));
        let (_, ty) = ECOSYSTEMS[eco];
        let version = ["1.1.0", "2.0.3", "3.4.9", "0.9.0", "2.4.1", "5.0.0"][(device + c) % 6];
        let purl = match name.split_once(':') {
            Some((g, a)) => format!("pkg:{ty}/{g}/{a}@{version}"),
            None if ty == "deb" => format!("pkg:deb/debian/{name}@{version}"),
            None => format!("pkg:{ty}/{name}@{version}"),
        };
        if c > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"type":"library","name":"{name}","version":"{version}","purl":"{purl}"}}"#
        ));
    }
    out.push_str("]}");
    Ok(parse_sbom(out.as_bytes())?)
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`): on a busy
/// machine wall-clock time includes waiting for a core; this does not.
fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Peak resident set size of this process so far, in KiB.
fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn run(g: &Global, a: &DevicesBenchArgs) -> Result<()> {
    let packages = (a.advisories / 4).max(1);
    let kev_bytes =
        std::fs::read(&a.kev).with_context(|| format!("reading {}", a.kev.display()))?;
    let kev = parse_kev_json(&kev_bytes)?;
    let kev_ids: Vec<String> = kev.entries.keys().cloned().collect();

    let feed = osv_feed(a.advisories, packages, &kev_ids);
    let t = Instant::now();
    let parsed = parse_osv_json(feed.as_bytes())?;
    let parse_secs = t.elapsed().as_secs_f64();
    drop(feed);
    let advisories = parsed.advisories;
    println!(
        "parse: {} OSV advisories ({} warnings) in {parse_secs:.2} s = {:.0} advisories/s",
        advisories.len(),
        parsed.warnings.len(),
        advisories.len() as f64 / parse_secs
    );

    if a.import {
        let dir = std::env::temp_dir().join(format!("labguard-bench-dev-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let data = match &g.database {
            Some(url) => DataDir::postgres(
                &dir,
                url,
                Some(&format!("bench_dev_{}", std::process::id())),
            ),
            None => DataDir::sqlite(&dir),
        };
        let store = data.init(StoreOptions::default())?;
        let actor = Actor::operator();
        let t = Instant::now();
        let s = store.import_advisories(&actor, "bench.json", "osv", &advisories)?;
        let import_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let again = store.import_advisories(&actor, "bench.json", "osv", &advisories)?;
        let reimport_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let db = store.advisory_db(&actor)?;
        let load_secs = t.elapsed().as_secs_f64();
        println!("store ({:?}):", store.backend_kind());
        println!(
            "  import: {} new in {import_secs:.2} s = {:.0} advisories/s (one transaction)",
            s.inserted,
            s.inserted as f64 / import_secs
        );
        println!(
            "  re-import: {} unchanged in {reimport_secs:.2} s = {:.0} advisories/s",
            again.unchanged,
            again.unchanged as f64 / reimport_secs
        );
        println!("  load for matching: {} in {load_secs:.2} s", db.len());
        drop(db);
        drop(store);
        data.discard()?;
        std::fs::remove_dir_all(&dir).ok();
    }

    let mut fleet = Vec::with_capacity(a.devices);
    for d in 0..a.devices {
        let mut asset = Asset::new(
            format!("dev-{d:04}"),
            DeviceKind::Analyzer,
            "Example",
            "Bench 1",
        );
        asset.connectivity = if d % 10 == 0 {
            Connectivity::Hl7MllpPlain
        } else {
            Connectivity::Hl7MllpTls
        };
        asset.stores_phi = d % 2 == 0;
        fleet.push((asset, sbom(d, a.components, packages)?));
    }
    let hwm_before = vm_hwm_kib().unwrap_or(0);

    let cpu0 = thread_cpu_secs();
    let t = Instant::now();
    let index = MatchIndex::new(&advisories);
    let index_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let reports: Vec<_> = fleet
        .iter()
        .map(|(asset, s)| (asset.clone(), index.match_device(asset, Some(s), &[])))
        .collect();
    let match_secs = t.elapsed().as_secs_f64();
    // Planning needs the findings, not the SBOMs or the index.
    drop(fleet);
    drop(index);
    let t = Instant::now();
    let plan = plan_fleet(
        &reports,
        Some(&kev),
        &RemediationPolicy::default(),
        &RiskWeights::default(),
        &HashMap::new(),
        Utc::now(),
    );
    let plan_secs = t.elapsed().as_secs_f64();
    let cpu1 = thread_cpu_secs();
    let findings: usize = reports.iter().map(|(_, r)| r.findings.len()).sum();
    let kev_items = plan.items.iter().filter(|i| i.risk.known_exploited).count();
    println!(
        "fleet: {} devices x {} components = {} components vs {} advisories + KEV ({} entries)",
        a.devices,
        a.components,
        a.devices * a.components,
        advisories.len(),
        kev.len()
    );
    println!("  index build: {index_secs:.3} s");
    println!("  match: {match_secs:.3} s ({findings} findings)");
    println!(
        "  risk + plan: {plan_secs:.3} s ({} items, {kev_items} KEV)",
        plan.items.len()
    );
    println!(
        "  total: {:.3} s wall, {:.3} s CPU (single thread)",
        index_secs + match_secs + plan_secs,
        cpu1 - cpu0
    );
    let hwm = vm_hwm_kib().unwrap_or(0);
    println!(
        "peak memory (VmHWM): {:.0} MiB (before matching: {:.0} MiB)",
        hwm as f64 / 1024.0,
        hwm_before as f64 / 1024.0
    );
    Ok(())
}
