use super::*;
use std::io::Write;

/// The npm example record from the OSV schema document (trimmed).
pub(crate) const ELLIPTIC: &str = r#"{
  "schema_version": "1.2.0",
  "id": "GHSA-r9p9-mrjm-926w",
  "modified": "2021-03-08T16:02:43Z",
  "published": "2021-03-08T16:06:50Z",
  "aliases": ["CVE-2020-28498"],
  "summary": "Use of a Broken or Risky Cryptographic Algorithm",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N"}],
  "affected": [{
    "package": {"ecosystem": "npm", "name": "elliptic"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "6.5.4"}]}]
  }],
  "database_specific": {"cwe_ids": ["CWE-327"], "severity": "MODERATE", "github_reviewed": true}
}"#;

/// The crates.io example record from the OSV schema document (trimmed).
const HTTP: &str = r#"{
  "schema_version": "1.2.0",
  "id": "RUSTSEC-2019-0033",
  "published": "2019-11-16T00:00:00Z",
  "modified": "2021-01-04T19:02:00Z",
  "aliases": ["CVE-2020-25574", "CVE-2019-25008"],
  "details": "HeaderMap::reserve() used usize::next_power_of_two() to calculate\nthe increased capacity.",
  "affected": [{
    "package": {"ecosystem": "crates.io", "name": "http"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.1.20"}]}]
  }]
}"#;

#[test]
fn reads_single_osv_records_from_the_schema_examples() {
    let imp = parse_osv(ELLIPTIC.as_bytes()).unwrap();
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
    let a = &imp.advisories[0];
    assert_eq!(a.id, "GHSA-r9p9-mrjm-926w");
    assert_eq!(a.aliases, ["CVE-2020-28498"]);
    assert_eq!(a.database_severity.as_deref(), Some("MODERATE"));
    assert_eq!(
        a.modified.unwrap().to_rfc3339(),
        "2021-03-08T16:02:43+00:00"
    );
    let p = a.affected[0].package.as_ref().unwrap();
    assert_eq!(
        (p.ecosystem.clone(), p.name.as_str()),
        (crate::ecosystem::Ecosystem::Npm, "elliptic")
    );
    assert_eq!(
        a.affected[0].ranges[0].events,
        [
            RangeEvent::Introduced("0".into()),
            RangeEvent::Fixed("6.5.4".into())
        ]
    );
    let h = &parse_osv_json(HTTP.as_bytes()).unwrap().advisories[0];
    assert_eq!(h.affected[0].ranges[0].kind, RangeKind::SemVer);
    // No summary: the first line of details stands in.
    assert_eq!(
        h.summary.as_deref(),
        Some("HeaderMap::reserve() used usize::next_power_of_two() to calculate")
    );
}

#[test]
fn arrays_keep_good_records_and_warn_about_bad_ones() {
    let input = format!("[{ELLIPTIC}, {{\"id\": 5}}, {HTTP}, {{\"id\":\"X-1\",\"modified\":\"yesterday\",\"affected\":[{{\"ranges\":[{{\"type\":\"SEMVER\",\"events\":[{{\"fixed\":\"1.0.0\"}},{{}}]}}]}}]}}]");
    let imp = parse_osv(input.as_bytes()).unwrap();
    let ids: Vec<&str> = imp.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["GHSA-r9p9-mrjm-926w", "RUSTSEC-2019-0033", "X-1"]);
    let w = imp.warnings.join("\n");
    assert!(w.contains("record 1 skipped"), "{w}");
    assert!(w.contains("modified \"yesterday\""), "{w}");
    assert!(w.contains("no introduced event"), "{w}");
    assert!(w.contains("empty event"), "{w}");
    assert!(w.contains("needs an ecosystem and a name"), "{w}");
    // The missing introduced reads as "0" so the range still matches.
    assert_eq!(
        imp.advisories[2].affected[0].ranges[0].events[0],
        RangeEvent::Introduced("0".into())
    );
}

#[test]
fn malformed_osv_is_an_error() {
    for bad in [
        &b""[..],
        b"5",
        b"\"x\"",
        b"{\"id\":\"\"}",
        b"{\"summary\":\"no id\"}",
        b"{\"id\":\"A\",\"affected\":{}}",
        b"PK\x03\x04garbage",
    ] {
        assert!(parse_osv(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn reads_an_ecosystem_zip_archive_from_bytes() {
    let bytes = zip_of(&[
        ("GHSA-r9p9-mrjm-926w.json", ELLIPTIC.as_bytes()),
        ("RUSTSEC-2019-0033.json", HTTP.as_bytes()),
        ("README.txt", b"not json"),
        ("broken.json", b"{\"id\":"),
    ]);
    // One broken record fails the archive, named, so a feed with holes is never taken.
    let err = parse_osv(&bytes).unwrap_err().to_string();
    assert!(
        err.contains("entry broken.json") && err.contains("nothing imported"),
        "{err}"
    );
    let good = zip_of(&[
        ("GHSA-r9p9-mrjm-926w.json", ELLIPTIC.as_bytes()),
        ("RUSTSEC-2019-0033.json", HTTP.as_bytes()),
        ("README.txt", b"not json"),
    ]);
    let mut seen = Vec::new();
    let imp = read_osv_archive(std::io::Cursor::new(&good), &mut |i, n| seen.push((i, n))).unwrap();
    assert_eq!(imp.advisories.len(), 2);
    assert_eq!(
        seen.last(),
        Some(&(3, 3)),
        "progress ends at the entry count"
    );
}

#[test]
fn a_zip_bomb_entry_fails_the_archive() {
    let zeros = vec![b' '; 8 * 1024 * 1024];
    let bomb = zip_of(&[("big.json", &zeros)]);
    let err = parse_osv_zip(&bomb).unwrap_err().to_string();
    assert!(
        err.contains("entry big.json") && err.contains("zip bomb"),
        "{err}"
    );
}

#[test]
fn merge_is_idempotent_and_keeps_the_newest_revision() {
    let a = parse_osv(ELLIPTIC.as_bytes()).unwrap().advisories.remove(0);
    let mut db = AdvisoryDb::new();
    assert_eq!(db.upsert(a.clone()), MergeOutcome::Inserted);
    assert_eq!(db.upsert(a.clone()), MergeOutcome::Unchanged);
    assert!(db.contains_key(&a.merge_key()));
    let mut newer = a.clone();
    newer.modified = Some(a.modified.unwrap() + chrono::Duration::days(1));
    newer.summary = Some("updated".into());
    assert!(!db.contains_key(&newer.merge_key()));
    assert_eq!(db.upsert(newer.clone()), MergeOutcome::Updated);
    // An older revision arriving late does not roll back.
    assert_eq!(db.upsert(a), MergeOutcome::Unchanged);
    assert_eq!(
        db.get("GHSA-r9p9-mrjm-926w").unwrap().summary.as_deref(),
        Some("updated")
    );
    let again = db.merge(vec![newer.clone(), newer]);
    assert_eq!(
        again,
        MergeStats {
            inserted: 0,
            updated: 0,
            unchanged: 2
        }
    );
    assert_eq!(db.len(), 1);
}

#[test]
fn reads_nvd_cve_records_with_cpe_ranges() {
    let json = r#"{"resultsPerPage":1,"vulnerabilities":[{"cve":{
      "id":"CVE-2099-1234","published":"2099-01-02T03:04:05.678","lastModified":"2099-02-01T00:00:00.000",
      "vulnStatus":"Analyzed",
      "descriptions":[{"lang":"es","value":"x"},{"lang":"en","value":"Buffer overflow in analyzer firmware"}],
      "metrics":{"cvssMetricV31":[{"type":"Primary","cvssData":{"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]},
      "configurations":[{"nodes":[{"operator":"OR","negate":false,"cpeMatch":[
        {"vulnerable":true,"criteria":"cpe:2.3:o:example_diagnostics:hemalyzer_firmware:*:*:*:*:*:*:*:*","versionStartIncluding":"4.0","versionEndExcluding":"4.2.1"},
        {"vulnerable":false,"criteria":"cpe:2.3:h:example_diagnostics:hemalyzer_5:-:*:*:*:*:*:*:*"},
        {"vulnerable":true,"criteria":"not a cpe"}]}]}]}}]}"#;
    let imp = parse_nvd_cve_json(json.as_bytes()).unwrap();
    assert_eq!(imp.warnings.len(), 1);
    let a = &imp.advisories[0];
    assert_eq!(
        a.summary.as_deref(),
        Some("Buffer overflow in analyzer firmware")
    );
    assert_eq!(a.severity[0].kind, "CVSS_V3");
    assert_eq!(a.affected[0].cpes.len(), 1);
    assert_eq!(
        a.affected[0].cpes[0].version_end_excluding.as_deref(),
        Some("4.2.1")
    );
    assert!(a.modified.is_some() && a.withdrawn.is_none());
    assert!(parse_nvd_cve_json(b"{\"foo\":1}").is_err());
}
