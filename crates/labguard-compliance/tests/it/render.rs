//! Renders a sample report in all three forms and checks them with outside tools:
//! compliance-trestle validates the OSCAL, pdftoppm rasterises the PDF's first page.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use labguard_compliance::collect::{self, DeviceFacts, ExternalFacts, Facts, Run, TrainingFacts};
use labguard_compliance::incident::{Incident, IncidentStatus};
use labguard_compliance::render::{html, oscal, pdf};
use labguard_compliance::report::{self, TrendPoint};
use labguard_compliance::risk::starter_register;

struct Ext;
impl ExternalFacts for Ext {
    fn training(&self) -> Option<TrainingFacts> {
        Some(TrainingFacts {
            as_of: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            assigned: 20,
            completed: 17,
            overdue_by_role: vec![("phlebotomist".into(), 3)],
            phishing_sent: 20,
            phishing_clicked: 2,
            phishing_reported: 9,
            last_reminder: None,
        })
    }
    fn devices(&self) -> Option<DeviceFacts> {
        None
    }
}

fn sample() -> report::Report {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let facts = Facts {
        last_verify: Some(Run {
            at: now - Duration::days(2),
            ok: true,
            duration_ms: Some(900),
        }),
        last_good_backup: Some(Run {
            at: now - Duration::days(4),
            ok: true,
            duration_ms: None,
        }),
        ..Facts::default()
    };
    let mut ev = collect::collect_all(&facts, &Ext, now);
    ev.extend(labguard_compliance::attest::attestation_evidence(
        &[],
        &[],
        now,
    ));
    let trend = (0..6)
        .map(|i| TrendPoint {
            at: now - Duration::days(30 * (6 - i)),
            score: 20.0 + 5.0 * i as f64,
        })
        .collect();
    let inc = Incident {
        id: "inc-1".into(),
        title: "Laptop left on a bus".into(),
        kind: "lost-laptop".into(),
        discovered_on: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
        status: IncidentStatus::Open,
        affected: 12,
        by_state: BTreeMap::new(),
        assessment: None,
        notified: vec![],
    };
    report::build(
        "Example Lab (fictional)",
        ev,
        trend,
        starter_register("security officer", None),
        &[inc],
        now,
    )
}

#[test]
fn html_is_self_contained_with_charts() {
    let h = html::render(&sample());
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert_eq!(h.matches("<svg").count(), 3);
    assert!(!h.contains("<script"));
    assert!(!h.contains("src=\"http"));
    assert!(h.contains("164.312(a)(2)(iv)"));
    assert!(h.contains("Laptop left on a bus"));
    // Discovered 2026-10-20: individuals are due 2026-12-19, 24 days after the report.
    assert!(h.contains("id=\"reminders\""));
    assert!(
        h.contains("due 2026-12-19 (24 days left)"),
        "reminder missing"
    );
}

#[test]
fn oscal_validates_with_trestle() {
    let doc = oscal::render(&sample());
    let result = &doc["assessment-results"]["results"][0];
    assert_eq!(result["risks"].as_array().unwrap().len(), 8);
    assert!(result["risks"][0]["related-observations"].is_array());
    // The files to import must live outside the trestle workspace.
    let dir = tempfile::tempdir().unwrap();
    let ws = &dir.path().join("ws");
    std::fs::create_dir(ws).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("trestle")
            .args(args)
            .current_dir(ws)
            .output()
            .expect("compliance-trestle (pip install compliance-trestle) must be installed");
        assert!(
            out.status.success(),
            "trestle {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["init"]);
    let file = dir.path().join("ar.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    // import parses the document with trestle's OSCAL models (and fails on any schema error)…
    run(&["import", "-f", file.to_str().unwrap(), "-o", "labguard"]);
    // …and validate runs its validators over the imported model.
    run(&["validate", "-t", "assessment-results", "-n", "labguard"]);
    // A broken document must fail: prove the check can fail.
    let mut bad = doc.clone();
    bad["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] =
        "maybe".into();
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let out = Command::new("trestle")
        .args(["import", "-f", bad_file.to_str().unwrap(), "-o", "bad"])
        .current_dir(ws)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "trestle accepted an invalid finding state"
    );
}

#[test]
fn pdf_first_page_is_not_blank() {
    let bytes = pdf::render(&sample());
    assert!(bytes.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("report.pdf");
    std::fs::write(&p, &bytes).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&p)
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm (Debian poppler-utils) must be installed");
    assert!(status.success());
    let file = std::fs::File::open(dir.path().join("page.png")).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let non_white = px
        .chunks(channels)
        .filter(|c| c.iter().take(3).any(|v| *v < 200))
        .count();
    let total = px.len() / channels;
    // Text and three bar charts: well over 1% of the page is ink; a blank page has none.
    assert!(
        non_white * 100 > total,
        "page looks blank: {non_white} of {total} pixels inked"
    );
    // The page has colour (bars), not only black text.
    assert!(px
        .chunks(channels)
        .any(|c| c.len() >= 3 && c[2] > 150 && c[0] < 60));
}
