use super::*;
use crate::advisory::{parse_nvd_cve_json, parse_osv, parse_vex};
use crate::cpe::Cpe;
use crate::device::{Asset, DeviceKind};
use crate::purl::Purl;
use crate::sbom::ComponentKind;

fn advisories(json: &str) -> Vec<Advisory> {
    let imp = parse_osv(json.as_bytes()).unwrap();
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
    imp.advisories
}

fn pkg(purl: &str) -> Component {
    let p = Purl::parse(purl).unwrap();
    let mut c = Component::new(ComponentKind::Library, p.name.clone());
    c.version = p.version.clone();
    c.purl = Some(p);
    c
}

fn ids(index: &MatchIndex, c: &Component) -> Vec<String> {
    let mut w = Vec::new();
    let found = index.match_component(c, &mut w);
    assert!(w.is_empty(), "{w:?}");
    found.into_iter().map(|f| f.id).collect()
}

const FEED: &str = r#"[
 {"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-0001"],
  "affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.0.2"},{"introduced":"3.0.0"},{"fixed":"3.2.5"}]}]}]},
 {"id":"CVE-2024-0001","modified":"2024-01-02T00:00:00Z",
  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0.0"},{"fixed":"1.0.2"}]}]}]},
 {"id":"PYSEC-2024-1","modified":"2024-01-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"PyPI","name":"django-rest"},"versions":["1.0","1.1"],
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0"},{"last_affected":"2.4.post1"}]}]}]},
 {"id":"GHSA-mvn0-0000-0000","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2020-25649"],
  "affected":[{"package":{"ecosystem":"Maven","name":"com.fasterxml.jackson.core:jackson-databind"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.10.0"},{"fixed":"2.10.5.1"}]}]}]},
 {"id":"DEBIAN-CVE-2024-9999","modified":"2024-01-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]},
 {"id":"GHSA-gone-gone-gone","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}
]"#;

#[test]
fn purl_matches_with_ranges_aliases_and_no_false_positives() {
    let advs = advisories(FEED);
    let index = MatchIndex::new(&advs);
    assert_eq!(index.len(), 5, "withdrawn advisories are not indexed");
    // Both advisories hit 1.0.1; the alias makes them one finding shown by its CVE.
    let mut w = Vec::new();
    let f = index.match_component(&pkg("pkg:npm/left-pad@1.0.1?foo=bar"), &mut w);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "CVE-2024-0001");
    assert_eq!(f[0].aliases, ["GHSA-aaaa-bbbb-cccc"]);
    assert_eq!(f[0].advisory_ids, ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"]);
    assert_eq!(f[0].fixed_versions, ["1.0.2"]);
    assert_eq!(f[0].basis, MatchBasis::Purl);
    assert_eq!(f[0].severity.len(), 1);
    // Second range of the GHSA only.
    assert_eq!(
        ids(&index, &pkg("pkg:npm/left-pad@3.2.4")),
        ["CVE-2024-0001"]
    );
    for clean in [
        "1.0.2",
        "3.2.5",
        "2.0.0",
        "0.9.0",
        "1.0.0-rc.1",
        "3.0.0-beta",
    ] {
        assert!(
            ids(&index, &pkg(&format!("pkg:npm/left-pad@{clean}"))).is_empty(),
            "{clean}"
        );
    }
    // Same name, other ecosystem.
    assert!(ids(&index, &pkg("pkg:pypi/left-pad@1.0.1")).is_empty());
}

#[test]
fn pypi_versions_list_last_affected_and_name_normalization() {
    let advs = advisories(FEED);
    let index = MatchIndex::new(&advs);
    for hit in ["1.0", "1.0.0", "1.1", "2.0", "2.4", "2.4.post1"] {
        assert_eq!(
            ids(&index, &pkg(&format!("pkg:pypi/Django_Rest@{hit}"))),
            ["PYSEC-2024-1"],
            "{hit}"
        );
    }
    for miss in ["1.2", "2.0rc1", "2.4.post2", "2.5"] {
        assert!(
            ids(&index, &pkg(&format!("pkg:pypi/django.rest@{miss}"))).is_empty(),
            "{miss}"
        );
    }
}

#[test]
fn maven_and_debian_orderings() {
    let advs = advisories(FEED);
    let index = MatchIndex::new(&advs);
    let dw = pkg("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.1?type=jar");
    assert_eq!(ids(&index, &dw), ["CVE-2020-25649"]);
    assert!(ids(
        &index,
        &pkg("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.5.1")
    )
    .is_empty());
    assert!(ids(
        &index,
        &pkg("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0-rc1")
    )
    .is_empty());
    assert_eq!(
        ids(&index, &pkg("pkg:deb/debian/openssl@3.0.11-1~deb12u2")),
        ["DEBIAN-CVE-2024-9999"]
    );
    assert!(ids(&index, &pkg("pkg:deb/debian/openssl@3.0.13-1~deb12u1")).is_empty());
    // Ubuntu is another ecosystem.
    assert!(ids(&index, &pkg("pkg:deb/ubuntu/openssl@3.0.11-1")).is_empty());
}

#[test]
fn name_match_without_purl_and_unevaluable_versions() {
    let advs = advisories(FEED);
    let index = MatchIndex::new(&advs);
    let mut c = Component::new(ComponentKind::Library, "left-pad");
    c.version = Some("1.0.1".into());
    let mut w = Vec::new();
    let f = index.match_component(&c, &mut w);
    assert_eq!((f.len(), f[0].basis), (1, MatchBasis::Name));
    c.version = None;
    assert!(index.match_component(&c, &mut w).is_empty());
    assert!(w.iter().any(|m| m.contains("no version")), "{w:?}");
    w.clear();
    let junk = pkg("pkg:npm/left-pad@banana");
    assert!(index.match_component(&junk, &mut w).is_empty());
    assert!(w.iter().any(|m| m.contains("not evaluated")), "{w:?}");
}

#[test]
fn vex_not_affected_suppresses_and_keeps_the_justification() {
    let advs = advisories(FEED);
    let index = MatchIndex::new(&advs);
    let sbom =
        crate::sbom::parse_sbom(include_bytes!("../../testdata/cyclonedx/VEX/bom.json")).unwrap();
    let open = index.match_sbom(&sbom, &[]);
    assert_eq!(
        open.findings
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>(),
        ["CVE-2020-25649"]
    );
    // The corpus VEX names this component by BOM-Link to another serial: no effect here.
    let vex = parse_vex(include_bytes!("../../testdata/cyclonedx/VEX/vex.json")).unwrap();
    assert_eq!(index.match_sbom(&sbom, &vex.statements).findings.len(), 1);
    // The same statement for this SBOM's serial suppresses it.
    let mut stmts = vex.statements.clone();
    stmts[0].product.bom_serial = sbom.serial_number.clone();
    let r = index.match_sbom(&sbom, &stmts);
    assert!(r.findings.is_empty());
    assert_eq!(r.suppressed.len(), 1);
    assert_eq!(
        r.suppressed[0].justification.as_deref(),
        Some("code_not_reachable")
    );
    assert_eq!(r.suppressed[0].status, VexStatus::NotAffected);
    assert!(r.suppressed[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("not reachable"));
    // A contradicting "affected" statement keeps it open, with a warning.
    let mut affirm = stmts[0].clone();
    affirm.status = VexStatus::Affected;
    stmts.push(affirm);
    let r = index.match_sbom(&sbom, &stmts);
    assert_eq!((r.findings.len(), r.suppressed.len()), (1, 0));
    assert!(r.warnings[0].contains("disagree"));
}

#[test]
fn firmware_matches_by_cpe_and_csaf_vex_clears_it() {
    let nvd = r#"{"vulnerabilities":[{"cve":{"id":"CVE-2021-44228","lastModified":"2024-01-01T00:00:00.000",
      "configurations":[{"nodes":[{"cpeMatch":[{"vulnerable":true,
        "criteria":"cpe:2.3:o:example_diagnostics:hemalyzer_firmware:*:*:*:*:*:*:*:*",
        "versionStartIncluding":"4.0","versionEndExcluding":"4.3.0"}]}]}]}}]}"#;
    let advs = parse_nvd_cve_json(nvd.as_bytes()).unwrap().advisories;
    let index = MatchIndex::new(&advs);
    let mut asset = Asset::new(
        "LAB-AN-01",
        DeviceKind::Analyzer,
        "Example Diagnostics",
        "hemalyzer-firmware",
    );
    asset.firmware_version = Some("4.1.0".into());
    asset.cpe = Some(
        Cpe::parse("cpe:2.3:o:example_diagnostics:hemalyzer_firmware:4.1.0:*:*:*:*:*:*:*").unwrap(),
    );
    let r = index.match_device(&asset, None, &[]);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].basis, MatchBasis::Cpe);
    let vex = parse_vex(include_bytes!("../../testdata/csaf/hemalyzer-vex-2.0.json")).unwrap();
    // 4.1.0 is known_affected in the CSAF document: stays open.
    assert_eq!(
        index
            .match_device(&asset, None, &vex.statements)
            .findings
            .len(),
        1
    );
    // 4.2.0 is known_not_affected: suppressed, justification kept.
    asset.firmware_version = Some("4.2.0".into());
    asset.cpe = Some(
        Cpe::parse("cpe:2.3:o:example_diagnostics:hemalyzer_firmware:4.2.0:*:*:*:*:*:*:*").unwrap(),
    );
    let r = index.match_device(&asset, None, &vex.statements);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(
        r.suppressed[0].justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    // 4.3.0 is outside the NVD range.
    asset.firmware_version = Some("4.3.0".into());
    asset.cpe = None;
    assert!(index.match_device(&asset, None, &[]).findings.is_empty());
}
