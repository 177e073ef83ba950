//! OSV JSON: a single record, an array of records, or an OSV ecosystem zip archive.

use std::io::{Cursor, Read, Seek};

use serde::Deserialize;
use serde_json::Value;

use super::{
    timestamp, Advisory, Affected, AffectedPackage, AffectedRange, RangeEvent, RangeKind,
    SeverityScore,
};
use crate::ecosystem::Ecosystem;
use crate::error::{Error, Result};
use crate::purl::Purl;
use crate::sbom::strip_bom;

/// Largest single archive entry read (decompressed). OSV records are a few kilobytes; the
/// cap keeps a hostile archive from exhausting memory.
pub const MAX_ZIP_ENTRY_BYTES: u64 = 16 * 1024 * 1024;
/// Largest total decompressed size read from one archive (OSV's biggest ecosystem
/// archives are well under this).
pub const MAX_ZIP_TOTAL_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Most entries read from one archive (OSV's largest ecosystem has a few hundred thousand).
pub const MAX_ZIP_ENTRIES: usize = 2_000_000;
/// Highest inflation ratio accepted for an entry over 1 MiB (JSON compresses ~10:1).
pub const MAX_ZIP_RATIO: u64 = 200;

/// Advisories read from OSV input, plus problems that did not stop the import.
#[derive(Debug, Clone, Default)]
pub struct OsvImport {
    /// Records read, in input order.
    pub advisories: Vec<Advisory>,
    /// Records skipped or fields ignored, with the reason.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    modified: Option<String>,
    published: Option<String>,
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    severity: Vec<Severity>,
    #[serde(default)]
    affected: Vec<RecAffected>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct Severity {
    #[serde(rename = "type")]
    ty: String,
    score: String,
}

#[derive(Deserialize)]
struct Package {
    ecosystem: Option<String>,
    name: Option<String>,
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RecAffected {
    package: Option<Package>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<Severity>,
}

#[derive(Deserialize)]
struct Range {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

/// Reads OSV input of any shape: a zip archive (by its magic bytes), a JSON array of
/// records, or one record.
pub fn parse_osv(bytes: &[u8]) -> Result<OsvImport> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        parse_osv_zip(bytes)
    } else {
        parse_osv_json(bytes)
    }
}

/// Reads one OSV record or a JSON array of records. A malformed record inside an array
/// becomes a warning; a malformed lone record is an error.
pub fn parse_osv_json(bytes: &[u8]) -> Result<OsvImport> {
    let bytes = strip_bom(bytes);
    let mut out = OsvImport::default();
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            // Split into raw records first so one bad record costs only itself.
            let items: Vec<&serde_json::value::RawValue> =
                serde_json::from_slice(bytes).map_err(|e| Error::json("OSV", e))?;
            for (i, item) in items.into_iter().enumerate() {
                let parsed = serde_json::from_str::<Record>(item.get())
                    .map_err(|e| Error::json("OSV record", e))
                    .and_then(|rec| convert(rec, &format!("record {i}"), &mut out.warnings));
                match parsed {
                    Ok(a) => out.advisories.push(a),
                    Err(e) => out.warnings.push(format!("record {i} skipped: {e}")),
                }
            }
        }
        Some(b'{') => {
            let rec: Record =
                serde_json::from_slice(bytes).map_err(|e| Error::json("OSV record", e))?;
            let a = convert(rec, "record", &mut out.warnings)?;
            out.advisories.push(a);
        }
        _ => {
            return Err(Error::invalid(
                "OSV",
                "expected a record object or an array of records",
            ))
        }
    }
    Ok(out)
}

/// Reads an OSV ecosystem archive (`all.zip`) from bytes; see [`read_osv_archive`].
pub fn parse_osv_zip(bytes: &[u8]) -> Result<OsvImport> {
    read_osv_archive(Cursor::new(bytes), &mut |_, _| {})
}

/// The one zip policy for advisory archives, whoever reads them (CLI import, API upload):
/// every `*.json` entry is one OSV record, and the archive is all or nothing. More than
/// [`MAX_ZIP_ENTRIES`] entries, an entry over [`MAX_ZIP_ENTRY_BYTES`] (declared or actually
/// inflated), a compression ratio over [`MAX_ZIP_RATIO`], more than [`MAX_ZIP_TOTAL_BYTES`]
/// in all, or an entry that is not a valid record fails the whole archive, naming the
/// entry: a feed with holes would silently hide vulnerabilities. `progress` is called with
/// (entries read, entries) as reading goes.
pub fn read_osv_archive<R: Read + Seek>(
    reader: R,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<OsvImport> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| Error::Zip(e.to_string()))?;
    let n = archive.len();
    if n > MAX_ZIP_ENTRIES {
        return Err(Error::Zip(format!(
            "{n} entries, more than the {MAX_ZIP_ENTRIES} allowed; nothing imported"
        )));
    }
    let mut out = OsvImport::default();
    let mut total: u64 = 0;
    let mut buf = Vec::new();
    for i in 0..n {
        progress(i, n);
        let mut entry = archive
            .by_index(i)
            .map_err(|e| Error::Zip(format!("entry {i}: {e}; nothing imported")))?;
        let name = entry.name().to_string();
        if entry.is_dir() || !name.ends_with(".json") {
            continue;
        }
        let bad = |why: String| Error::Zip(format!("entry {name}: {why}; nothing imported"));
        if entry.size() > MAX_ZIP_ENTRY_BYTES {
            return Err(bad(format!(
                "declares {} bytes, over the {MAX_ZIP_ENTRY_BYTES}-byte limit",
                entry.size()
            )));
        }
        if entry.size() > 1024 * 1024
            && entry.size() / entry.compressed_size().max(1) > MAX_ZIP_RATIO
        {
            return Err(bad("compression ratio of a zip bomb".into()));
        }
        buf.clear();
        // The declared size may lie: `take` enforces the cap on what actually inflates.
        (&mut entry)
            .take(MAX_ZIP_ENTRY_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| bad(e.to_string()))?;
        if buf.len() as u64 > MAX_ZIP_ENTRY_BYTES {
            return Err(bad(format!(
                "inflates past the {MAX_ZIP_ENTRY_BYTES}-byte limit"
            )));
        }
        total += buf.len() as u64;
        if total > MAX_ZIP_TOTAL_BYTES {
            return Err(bad(format!(
                "archive inflates past the {MAX_ZIP_TOTAL_BYTES}-byte limit"
            )));
        }
        let a = serde_json::from_slice::<Record>(strip_bom(&buf))
            .map_err(|e| Error::json("OSV record", e))
            .and_then(|rec| convert(rec, &name, &mut out.warnings))
            .map_err(|e| bad(e.to_string()))?;
        out.advisories.push(a);
    }
    progress(n, n);
    Ok(out)
}

fn severities(list: Vec<Severity>) -> Vec<SeverityScore> {
    list.into_iter()
        .map(|s| SeverityScore {
            kind: s.ty,
            score: s.score,
        })
        .collect()
}

fn convert(rec: Record, who: &str, warnings: &mut Vec<String>) -> Result<Advisory> {
    let id = rec.id.trim().to_string();
    if id.is_empty() {
        return Err(Error::invalid("OSV record", "empty id"));
    }
    let who = format!("{who} ({id})");
    let mut affected = Vec::with_capacity(rec.affected.len());
    for (ai, a) in rec.affected.into_iter().enumerate() {
        let package = match a.package {
            Some(p) => package(p, &who, ai, warnings),
            None => {
                warnings.push(format!(
                    "{who}: affected[{ai}]: package needs an ecosystem and a name; entry cannot match"
                ));
                None
            }
        };
        let mut ranges = Vec::with_capacity(a.ranges.len());
        for (ri, r) in a.ranges.into_iter().enumerate() {
            ranges.push(range(r, &who, ai, ri, warnings));
        }
        affected.push(Affected {
            package,
            ranges,
            versions: a.versions,
            severity: severities(a.severity),
            cpes: Vec::new(),
        });
    }
    let database_severity = rec
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Advisory {
        modified: timestamp(rec.modified.as_deref(), "modified", &who, warnings),
        published: timestamp(rec.published.as_deref(), "published", &who, warnings),
        withdrawn: timestamp(rec.withdrawn.as_deref(), "withdrawn", &who, warnings),
        id,
        aliases: rec.aliases,
        summary: rec.summary.or_else(|| {
            rec.details
                .as_deref()
                .and_then(|d| d.lines().next())
                .map(|l| l.chars().take(200).collect())
        }),
        severity: severities(rec.severity),
        database_severity,
        affected,
    })
}

fn package(
    p: Package,
    who: &str,
    ai: usize,
    warnings: &mut Vec<String>,
) -> Option<AffectedPackage> {
    let purl = match p.purl.as_deref() {
        Some(raw) => match Purl::parse(raw) {
            Ok(u) => Some(u),
            Err(e) => {
                warnings.push(format!("{who}: affected[{ai}]: {e}; purl ignored"));
                None
            }
        },
        None => None,
    };
    let ecosystem = p
        .ecosystem
        .as_deref()
        .map(Ecosystem::from_osv)
        .or_else(|| purl.as_ref().map(Purl::ecosystem));
    let name = p
        .name
        .filter(|n| !n.trim().is_empty())
        .or_else(|| purl.as_ref().map(Purl::package_name));
    match (ecosystem, name) {
        (Some(ecosystem), Some(name)) => Some(AffectedPackage {
            ecosystem,
            name,
            purl,
        }),
        _ => {
            warnings.push(format!(
                "{who}: affected[{ai}]: package needs an ecosystem and a name; entry cannot match"
            ));
            None
        }
    }
}

fn range(r: Range, who: &str, ai: usize, ri: usize, warnings: &mut Vec<String>) -> AffectedRange {
    let kind = match r.ty.as_str() {
        "SEMVER" => RangeKind::SemVer,
        "ECOSYSTEM" => RangeKind::Ecosystem,
        "GIT" => RangeKind::Git,
        other => RangeKind::Other(other.to_string()),
    };
    let at = format!("{who}: affected[{ai}].ranges[{ri}]");
    let mut events = Vec::with_capacity(r.events.len());
    for (ei, e) in r.events.into_iter().enumerate() {
        let mut present: Vec<RangeEvent> = [
            e.introduced.map(RangeEvent::Introduced),
            e.fixed.map(RangeEvent::Fixed),
            e.last_affected.map(RangeEvent::LastAffected),
            e.limit.map(RangeEvent::Limit),
        ]
        .into_iter()
        .flatten()
        .collect();
        match present.len() {
            1 => events.append(&mut present),
            0 => warnings.push(format!("{at}.events[{ei}]: empty event ignored")),
            _ => {
                // The schema allows one key per event; keep them all rather than drop data.
                warnings.push(format!("{at}.events[{ei}]: several keys in one event"));
                events.append(&mut present);
            }
        }
    }
    if !events
        .iter()
        .any(|e| matches!(e, RangeEvent::Introduced(_)))
    {
        // The schema requires an introduced event. Reading "from the beginning" reports
        // a possible false positive rather than silently hiding a vulnerability.
        warnings.push(format!(
            "{at}: no introduced event; read as introduced \"0\""
        ));
        events.insert(0, RangeEvent::Introduced("0".into()));
    }
    AffectedRange { kind, events }
}
