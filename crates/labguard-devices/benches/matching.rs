//! Matching a 1,000-component SBOM against 10,000 OSV records.
//!
//! The data is synthetic but shaped like real feeds: npm, PyPI and Maven packages, SEMVER
//! and ECOSYSTEM ranges with one or two intervals, GHSA records aliasing CVE records, and
//! an SBOM in which about a third of the components have advisories.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use labguard_devices::advisory::{parse_osv, Advisory};
use labguard_devices::matching::MatchIndex;
use labguard_devices::sbom::{parse_sbom, Sbom};

const ECOSYSTEMS: [(&str, &str); 3] = [("npm", "npm"), ("PyPI", "pypi"), ("Maven", "maven")];

fn package(i: usize) -> (usize, String) {
    let eco = i % 3;
    let name = match eco {
        2 => format!("org.example.g{}:artifact-{i}", i % 40),
        _ => format!("package-{i}"),
    };
    (eco, name)
}

fn osv_feed(records: usize, packages: usize) -> Vec<u8> {
    let mut out = String::from("[");
    for r in 0..records {
        let (eco, name) = package((r * 7919) % packages);
        let (eco_name, _) = ECOSYSTEMS[eco];
        let (kind, events) = match r % 4 {
            0 => ("SEMVER", r#"[{"introduced":"0"},{"fixed":"2.4.1"}]"#.to_string()),
            1 => ("ECOSYSTEM", r#"[{"introduced":"1.0.0"},{"fixed":"1.2.3"},{"introduced":"3.0.0"},{"fixed":"3.5.0"}]"#.to_string()),
            2 => ("ECOSYSTEM", format!(r#"[{{"introduced":"0"}},{{"last_affected":"{}.9.9"}}]"#, r % 5)),
            _ => ("ECOSYSTEM", r#"[{"introduced":"2.0.0"},{"fixed":"2.0.7"}]"#.to_string()),
        };
        let kind = if eco != 0 && kind == "SEMVER" {
            "ECOSYSTEM"
        } else {
            kind
        };
        if r > 0 {
            out.push(',');
        }
        // Every other record is a GHSA aliasing the CVE of the record before it.
        let (id, aliases) = if r % 2 == 1 {
            (
                format!("GHSA-{r:04x}-bench"),
                format!(r#"["CVE-2024-{:05}"]"#, r - 1),
            )
        } else {
            (format!("CVE-2024-{r:05}"), "[]".to_string())
        };
        out.push_str(&format!(
            r#"{{"id":"{id}","modified":"2024-06-01T00:00:00Z","aliases":{aliases},
            "severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],
            "affected":[{{"package":{{"ecosystem":"{eco_name}","name":"{name}"}},
            "ranges":[{{"type":"{kind}","events":{events}}}],"versions":["9.9.9"]}}]}}"#
        ));
    }
    out.push(']');
    out.into_bytes()
}

fn sbom(components: usize, packages: usize) -> Vec<u8> {
    let mut out = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#);
    for c in 0..components {
        // Spread over three times as many packages as advisories cover densely.
        let (eco, name) = package((c * 31) % (packages * 3));
        let (_, ty) = ECOSYSTEMS[eco];
        let version = ["1.1.0", "2.0.3", "3.4.9", "0.9.0", "2.4.1", "5.0.0"][c % 6];
        let purl = match name.split_once(':') {
            Some((g, a)) => format!("pkg:{ty}/{g}/{a}@{version}"),
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
    out.into_bytes()
}

fn data() -> (Vec<u8>, Vec<Advisory>, Sbom) {
    let feed = osv_feed(10_000, 2_000);
    let advisories = parse_osv(&feed).expect("feed parses").advisories;
    let sbom = parse_sbom(&sbom(1_000, 2_000)).expect("sbom parses");
    (feed, advisories, sbom)
}

fn bench(c: &mut Criterion) {
    let (feed, advisories, sbom) = data();
    assert_eq!(advisories.len(), 10_000);
    assert_eq!(sbom.components.len(), 1_000);
    let index = MatchIndex::new(&advisories);
    let report = index.match_sbom(&sbom, &[]);
    eprintln!(
        "fixture: {} advisories, {} components, {} findings, {} warnings",
        advisories.len(),
        sbom.components.len(),
        report.findings.len(),
        report.warnings.len()
    );

    let mut g = c.benchmark_group("devices");
    g.sample_size(20);
    g.bench_function("match_1k_components_vs_10k_osv", |b| {
        b.iter(|| black_box(index.match_sbom(black_box(&sbom), &[])))
    });
    g.bench_function("build_index_10k_osv", |b| {
        b.iter(|| black_box(MatchIndex::new(black_box(&advisories)).len()))
    });
    g.bench_function("parse_osv_array_10k", |b| {
        b.iter(|| black_box(parse_osv(black_box(&feed)).map(|i| i.advisories.len())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
