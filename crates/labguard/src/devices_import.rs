//! `devices import-sbom` and `devices import-advisories`: read files a lab downloaded,
//! parse them with labguard-devices, store each file in one transaction. Hostile input
//! (oversized files, zip bombs, deep nesting) fails with the file and entry named and
//! leaves nothing of that file behind.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use labguard_devices::advisory::{
    parse_kev_json, parse_nvd_cve_json, parse_osv_json, parse_vex, Advisory, MergeStats,
};
use labguard_devices::sbom::parse_sbom;
use labguard_store::{Actor, Store};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::opts::{emit, Global};

/// Largest SBOM or advisory JSON file read.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut buf = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if buf.len() as u64 > cap {
        bail!(
            "{}: larger than the {cap}-byte limit; nothing imported",
            path.display()
        );
    }
    Ok(buf)
}

pub fn import_sbom(
    g: &Global,
    store: &Store,
    actor: &Actor,
    device: &str,
    firmware: Option<&str>,
    file: &Path,
) -> Result<()> {
    let bytes = read_capped(file, MAX_FILE_BYTES)?;
    let sbom =
        parse_sbom(&bytes).map_err(|e| anyhow!("{}: {e}; nothing imported", file.display()))?;
    let sha = hex::encode(labguard_crypto::sha256(&bytes));
    let done = store
        .import_sbom(actor, device, firmware, &sbom, &sha)
        .with_context(|| format!("{}: storing the SBOM for {device}", file.display()))?;
    store.checkpoint()?;
    emit(g, &done, || {
        println!(
            "imported {} components for {} firmware {}{} ({} warnings)",
            done.components,
            done.device,
            if done.firmware_version.is_empty() {
                "(unknown)"
            } else {
                &done.firmware_version
            },
            if done.replaced {
                ", replacing the previous SBOM"
            } else {
                ""
            },
            sbom.warnings.len()
        );
        for w in sbom.warnings.iter().take(5) {
            println!("  warning: {w}");
        }
    })
}

/// What kind of advisory document a JSON file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Osv,
    Kev,
    Nvd,
    Vex,
    /// A CycloneDX document without vulnerabilities: an SBOM given to the wrong command.
    Sbom,
}

fn sniff(bytes: &[u8]) -> Result<Kind, serde_json::Error> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Ok(Kind::Osv);
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "catalogVersion")]
        catalog: Option<IgnoredAny>,
        #[serde(rename = "bomFormat")]
        bom: Option<IgnoredAny>,
        document: Option<IgnoredAny>,
        vulnerabilities: Option<IgnoredAny>,
        cve: Option<IgnoredAny>,
    }
    let p: Probe = serde_json::from_slice(body)?;
    Ok(if p.catalog.is_some() {
        Kind::Kev
    } else if p.bom.is_some() && p.vulnerabilities.is_none() {
        Kind::Sbom
    } else if p.bom.is_some() || p.document.is_some() {
        Kind::Vex
    } else if p.vulnerabilities.is_some() || p.cve.is_some() {
        Kind::Nvd
    } else {
        Kind::Osv
    })
}

/// Totals over every file.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub vex_documents_new: usize,
    pub warnings: usize,
    pub failed: Vec<String>,
}

impl Summary {
    fn add(&mut self, s: MergeStats) {
        self.new += s.inserted;
        self.updated += s.updated;
        self.unchanged += s.unchanged;
    }
}

/// Files under `p` (recursively, sorted) that look like advisory data.
fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("{}: cannot list", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let ext = e.extension().and_then(|x| x.to_str()).unwrap_or("");
            if e.is_dir() || ext.eq_ignore_ascii_case("json") || ext.eq_ignore_ascii_case("zip") {
                collect(&e, out)?;
            }
        }
    } else if p.exists() {
        out.push(p.to_path_buf());
    } else {
        bail!("{}: no such file or directory", p.display());
    }
    Ok(())
}

pub fn import_advisories(
    g: &Global,
    store: &Store,
    actor: &Actor,
    paths: &[PathBuf],
) -> Result<()> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    let pb = crate::progress::bar("advisories");
    pb.set_length(files.len() as u64);
    let mut sum = Summary::default();
    for f in &files {
        pb.set_message(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        match import_file(store, actor, f, &mut sum, &pb) {
            Ok(()) => sum.files += 1,
            Err(e) => {
                pb.suspend(|| eprintln!("error: {e:#}"));
                sum.failed.push(format!("{e:#}"));
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    store.checkpoint()?;
    emit(g, &sum, || {
        println!(
            "{} file(s): {} new, {} updated, {} unchanged advisories/KEV entries; {} new VEX document(s); {} warning(s)",
            sum.files, sum.new, sum.updated, sum.unchanged, sum.vex_documents_new, sum.warnings
        );
    })?;
    if !sum.failed.is_empty() {
        bail!(
            "{} file(s) could not be imported (nothing of them was stored)",
            sum.failed.len()
        );
    }
    Ok(())
}

fn import_file(
    store: &Store,
    actor: &Actor,
    path: &Path,
    sum: &mut Summary,
    pb: &indicatif::ProgressBar,
) -> Result<()> {
    let name = path.display().to_string();
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| format!("{name}: cannot open"))?;
    if n == 4 && (head == *b"PK\x03\x04" || head == *b"PK\x05\x06") {
        let base = pb.message();
        let advisories = read_osv_zip(path, &mut |i, n| {
            if i % 1000 == 0 || i == n {
                pb.set_message(format!("{base} {i}/{n} entries"));
            }
        })?;
        pb.set_message(format!("{base}: storing"));
        let s = store
            .import_advisories(actor, &name, "osv", &advisories)
            .with_context(|| format!("{name}: storing"))?;
        sum.add(s);
        return Ok(());
    }
    let bytes = read_capped(path, MAX_FILE_BYTES)?;
    let kind = sniff(&bytes).map_err(|e| anyhow!("{name}: invalid JSON: {e}; nothing imported"))?;
    match kind {
        Kind::Sbom => bail!(
            "{name}: a CycloneDX document without vulnerabilities (an SBOM? use `devices import-sbom`); nothing imported"
        ),
        Kind::Kev => {
            let kev =
                parse_kev_json(&bytes).map_err(|e| anyhow!("{name}: {e}; nothing imported"))?;
            sum.warnings += kev.warnings.len();
            sum.add(
                store
                    .import_kev(actor, &name, &kev)
                    .with_context(|| format!("{name}: storing"))?,
            );
        }
        Kind::Vex => {
            let doc = parse_vex(&bytes).map_err(|e| anyhow!("{name}: {e}; nothing imported"))?;
            sum.warnings += doc.warnings.len();
            let body = String::from_utf8(bytes).map_err(|_| anyhow!("{name}: not UTF-8"))?;
            let format = if body.contains("\"bomFormat\"") {
                "cyclonedx"
            } else {
                "csaf"
            };
            if store
                .import_vex_document(actor, &name, format, doc.statements.len(), &body)
                .with_context(|| format!("{name}: storing"))?
            {
                sum.vex_documents_new += 1;
            }
        }
        Kind::Nvd | Kind::Osv => {
            let (parsed, source) = if kind == Kind::Nvd {
                (parse_nvd_cve_json(&bytes), "nvd")
            } else {
                (parse_osv_json(&bytes), "osv")
            };
            let parsed = parsed.map_err(|e| anyhow!("{name}: {e}; nothing imported"))?;
            sum.warnings += parsed.warnings.len();
            sum.add(
                store
                    .import_advisories(actor, &name, source, &parsed.advisories)
                    .with_context(|| format!("{name}: storing"))?,
            );
        }
    }
    Ok(())
}

/// Reads an OSV archive under labguard-devices' one zip policy (all or nothing, limits on
/// entries, sizes and ratio).
pub fn read_osv_zip(path: &Path, progress: &mut dyn FnMut(usize, usize)) -> Result<Vec<Advisory>> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
    let imp = labguard_devices::advisory::read_osv_archive(std::io::BufReader::new(f), progress)
        .map_err(|e| anyhow!("{name}: {e}"))?;
    Ok(imp.advisories)
}
