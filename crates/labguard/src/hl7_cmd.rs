//! `labguard hl7 parse FILE...`: what labguard reads in an HL7 v2 file, as JSON, one object
//! per message (JSON Lines), so an interface analyst can check a feed before enrolling it.
//! The output is the file's own content (patient data included): it goes to stdout for the
//! operator, never to a log.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use labguard_core::Id;
use labguard_hl7::{decode, Field, LabReport, MappingOptions, Message};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum Hl7Cmd {
    /// Parse HL7 v2 files (one or more messages each; CR, LF or CRLF segment ends; a BOM is
    /// fine) and print each message's structure and the lab results it carries.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Files larger than this are refused rather than read into memory.
const MAX_FILE: u64 = 256 * 1024 * 1024;

pub fn run(cmd: Hl7Cmd) -> Result<()> {
    match cmd {
        Hl7Cmd::Parse { files } => {
            let mut out = std::io::stdout().lock();
            for f in &files {
                for obj in parse_file(f)? {
                    use std::io::Write;
                    serde_json::to_writer(&mut out, &obj)?;
                    writeln!(out)?;
                }
            }
            Ok(())
        }
    }
}

fn parse_file(path: &Path) -> Result<Vec<Value>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    if len > MAX_FILE {
        bail!("{}: larger than {} MiB", path.display(), MAX_FILE >> 20);
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let text = decode(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let chunks = split_messages(&text);
    if chunks.is_empty() {
        bail!("{}: no HL7 message (no MSH segment) found", path.display());
    }
    let mut objs = Vec::with_capacity(chunks.len());
    for (i, (offset, chunk)) in chunks.into_iter().enumerate() {
        let msg = Message::parse(chunk).map_err(|e| {
            anyhow::anyhow!(
                "{}: message {} at byte {offset}: {e}",
                path.display(),
                i + 1
            )
        })?;
        objs.push(describe(path, i + 1, offset, &msg));
    }
    Ok(objs)
}

/// Splits a file into messages at each segment that starts with `MSH`, dropping batch
/// envelope segments (FHS/BHS/BTS/FTS) and MLLP framing bytes. Returns byte offsets too.
fn split_messages(text: &str) -> Vec<(usize, &str)> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let base = text.len() - body.len();
    let mut starts = Vec::new();
    let mut at_segment_start = true;
    for (i, c) in body.char_indices() {
        if at_segment_start && body[i..].starts_with("MSH") {
            starts.push(i);
        }
        at_segment_start = matches!(c, '\r' | '\n' | '\u{0b}' | '\u{1c}');
    }
    let mut out = Vec::with_capacity(starts.len());
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(body.len());
        let chunk = &body[s..end];
        // Batch trailers and MLLP end bytes after the last segment are not part of it.
        let cut = chunk
            .split_inclusive(['\r', '\n'])
            .take_while(|seg| {
                !["FHS", "BHS", "BTS", "FTS", "\u{1c}"]
                    .iter()
                    .any(|p| seg.starts_with(p))
            })
            .map(str::len)
            .sum::<usize>();
        out.push((
            base + s,
            chunk[..cut].trim_end_matches(['\u{0b}', '\u{1c}']),
        ));
    }
    out
}

fn describe(path: &Path, index: usize, offset: usize, msg: &Message<'_>) -> Value {
    let segments: Vec<Value> = msg
        .segments()
        .map(|s| {
            let fields: Vec<Value> = s.fields().map(|(_, f)| field_value(&f)).collect();
            json!({ "segment": s.name(), "fields": fields })
        })
        .collect();
    let problems: Vec<String> = msg.problems().iter().map(ToString::to_string).collect();
    let mut obj = json!({
        "file": path.display().to_string(),
        "message": index,
        "offset": offset,
        "segments": segments,
        "parse_problems": problems,
    });
    match LabReport::read(msg) {
        Ok(report) => {
            let h = &report.value.header;
            obj["type"] = json!(format!("{}^{}", h.message_code, h.trigger_event));
            obj["control_id"] = json!(h.control_id);
            obj["version"] = json!(h.version);
            obj["sending_application"] = json!(h.sending_application.namespace);
            obj["sending_facility"] = json!(h.sending_facility.namespace);
            let mapped = report
                .value
                .to_records(&MappingOptions::default(), &mut |_| Id::new_v4());
            let mut problems: Vec<String> =
                report.problems.iter().map(ToString::to_string).collect();
            problems.extend(mapped.problems.iter().map(ToString::to_string));
            obj["lab"] = json!({
                "patients": mapped.value.patients,
                "specimens": mapped.value.specimens,
                "orders": mapped.value.orders,
                "results": mapped.value.results,
                "problems": problems,
            });
        }
        Err(_) => {
            // Not a lab report (ADT, SIU, ...): the structure is still shown.
            let msh = msg.msh();
            obj["type"] = json!(format!("{}^{}", msh.text(9, 1), msh.text(9, 2)));
            obj["control_id"] = json!(msh.text(10, 1));
            obj["version"] = json!(msh.text(12, 1));
            obj["lab"] = Value::Null;
        }
    }
    obj
}

/// A field as JSON: a string when it is simple, else repetitions → components →
/// sub-components, each level collapsed to a string when it holds one value.
fn field_value(f: &Field<'_>) -> Value {
    let reps: Vec<Value> = f
        .repetitions()
        .map(|r| {
            let comps: Vec<Value> = r
                .components()
                .map(|c| {
                    let n = c.subcomponents().count();
                    if n <= 1 {
                        json!(c.text())
                    } else {
                        Value::Array((1..=n).map(|i| json!(c.sub(i))).collect())
                    }
                })
                .collect();
            collapse(comps)
        })
        .collect();
    collapse(reps)
}

fn collapse(mut v: Vec<Value>) -> Value {
    match v.len() {
        0 => json!(""),
        1 => v.remove(0),
        _ => Value::Array(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_batches_and_keeps_offsets() {
        let t = "\u{feff}FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rPID|1\nMSH|^~\\&|B\r\nOBX|1\r\nBTS|2\rFTS|1\r";
        let m = split_messages(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1, "MSH|^~\\&|A\rPID|1\n");
        assert_eq!(m[1].1, "MSH|^~\\&|B\r\nOBX|1\r\n");
        assert_eq!(&t[m[1].0..m[1].0 + 3], "MSH");
    }

    #[test]
    fn no_msh_inside_a_field_starts_a_message() {
        let m = split_messages("MSH|^~\\&|A\rNTE|1||MSH is mentioned\r");
        assert_eq!(m.len(), 1);
    }
}
