//! `labguard astm parse FILE...`: what labguard reads in ASTM E1394 record text, or in a
//! captured E1381 transfer (ENQ, frames with their numbers and checksums, EOT), as JSON
//! Lines like `hl7 parse`: one object per file. The output is the file's own content
//! (patient data included): it goes to stdout for the operator, never to a log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use labguard_astm::{parse, Event, Limits, MappingOptions, Receiver};
use labguard_core::{Id, LoincCode};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum AstmCmd {
    /// Parse ASTM record text or captured E1381 transfers and print the records and the
    /// results (and QC) they carry.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The analyzer's own test code to LOINC, e.g. `--map GLU=2345-7` (repeatable);
        /// added to the common chemistry and haematology mnemonics labguard knows.
        #[arg(long = "map", value_name = "CODE=LOINC")]
        maps: Vec<String>,
    },
}

/// Common analyzer mnemonics, so a capture can be checked before its enrolment has a map.
const COMMON_CODES: &[(&str, &str)] = &[
    ("GLU", "2345-7"),
    ("NA", "2951-2"),
    ("K", "2823-3"),
    ("CL", "2075-0"),
    ("CREA", "2160-0"),
    ("BUN", "3094-0"),
    ("CA", "17861-6"),
    ("ALT", "1742-6"),
    ("AST", "1920-8"),
    ("HGB", "718-7"),
    ("WBC", "6690-2"),
    ("PLT", "777-3"),
];

fn options(maps: &[String]) -> Result<MappingOptions> {
    let mut opts = MappingOptions::default();
    for (code, loinc) in COMMON_CODES {
        opts.test_codes
            .insert((*code).to_string(), LoincCode::parse(loinc)?);
    }
    for m in maps {
        let Some((code, loinc)) = m.split_once('=') else {
            bail!("--map {m:?}: expected CODE=LOINC");
        };
        let loinc = LoincCode::parse(loinc.trim())
            .with_context(|| format!("--map {m:?}: not a LOINC code"))?;
        opts.test_codes.insert(code.trim().to_string(), loinc);
    }
    Ok(opts)
}

/// Files larger than this are refused rather than read into memory.
const MAX_FILE: u64 = 64 * 1024 * 1024;
const STX: u8 = 0x02;
const ENQ: u8 = 0x05;
const EOT: u8 = 0x04;

pub fn run(cmd: AstmCmd) -> Result<()> {
    match cmd {
        AstmCmd::Parse { files, maps } => {
            use std::io::Write;
            let opts = options(&maps)?;
            let mut out = std::io::stdout().lock();
            for f in &files {
                serde_json::to_writer(&mut out, &parse_file(f, &opts)?)?;
                writeln!(out)?;
            }
            Ok(())
        }
    }
}

/// The record text of a captured transfer: its messages as the E1381 receiver delivers
/// them (checksums and frame numbers checked), joined.
fn unframe(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut rx = Receiver::new(Limits {
        max_message: MAX_FILE as usize,
        ..Limits::default()
    });
    let mut text = Vec::new();
    let mut pieces: Vec<&[u8]> = Vec::new();
    if bytes.first() != Some(&ENQ) {
        pieces.push(&[ENQ]);
    }
    // One frame at a time, as an instrument sends them (each waits for its ACK): a frame
    // ends with LF; ENQ and EOT stand alone.
    pieces.extend(bytes.split_inclusive(|b| *b == b'\n' || *b == ENQ || *b == EOT));
    for piece in pieces {
        let mut events = rx.feed(piece, Duration::ZERO);
        while !events.is_empty() {
            let mut next = Vec::new();
            for e in events {
                match e {
                    Event::Message(m) => {
                        text.extend_from_slice(&m);
                        // Each message is one record; its CR may travel or not.
                        if m.last() != Some(&b'\r') {
                            text.push(b'\r');
                        }
                        next.extend(rx.accept(Duration::ZERO));
                    }
                    Event::Aborted(why) => {
                        bail!("{}: the E1381 transfer broke off: {why}", path.display())
                    }
                    _ => {}
                }
            }
            events = next;
        }
    }
    Ok(text)
}

fn parse_file(path: &Path, opts: &MappingOptions) -> Result<Value> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    if len > MAX_FILE {
        bail!("{}: larger than {} MiB", path.display(), MAX_FILE >> 20);
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let framed = bytes.contains(&STX);
    let text = if framed {
        unframe(path, &bytes)?
    } else {
        bytes
    };
    if text.is_empty() {
        bail!("{}: no ASTM message found", path.display());
    }
    let t = parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let records: Vec<Value> = t
        .records()
        .iter()
        .map(|r| {
            let fields: Vec<String> = r.fields().map(|f| f.text().into_owned()).collect();
            json!({ "record": r.kind.letter().to_string(), "index": r.index, "fields": fields })
        })
        .collect();
    let mapped = t.to_records(opts, &mut |_| Some(Id::new_v4()));
    let lab = &mapped.value.lab;
    let qc: Vec<Value> = mapped
        .value
        .qc
        .iter()
        .map(|q| {
            json!({
                "control": q.control, "lot": q.lot, "level": q.level, "test_code": q.test_code,
                "analyte": q.analyte.as_ref().map(|a| a.as_str()), "value": q.value,
                "units": q.units, "abnormal_flag": q.abnormal_flag, "observed_at": q.observed_at,
            })
        })
        .collect();
    let mut problems: Vec<String> = t.problems.iter().map(ToString::to_string).collect();
    problems.extend(mapped.problems.iter().map(ToString::to_string));
    Ok(json!({
        "file": path.display().to_string(),
        "framed": framed,
        "sender": t.header().sender_name(),
        "version": t.header().version(),
        "complete": t.is_complete(),
        "records": records,
        "lab": {
            "patients": lab.patients,
            "specimens": lab.specimens,
            "orders": lab.orders,
            "results": lab.results,
            "qc": qc,
            "problems": problems,
        },
    }))
}
