//! End to end: a small lab fleet, OSV records imported from a zip archive, NVD firmware
//! criteria, the real KEV catalog and a vendor CSAF VEX document.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use labguard_devices::advisory::{
    parse_csaf_vex, parse_kev_json, parse_nvd_cve_json, parse_osv, AdvisoryDb, MergeStats,
};
use labguard_devices::cpe::Cpe;
use labguard_devices::device::{Asset, CompensatingControl, Connectivity, DeviceKind};
use labguard_devices::matching::{MatchIndex, MatchReport};
use labguard_devices::risk::{
    finding_key, plan_fleet, Priority, RemediationPolicy, RiskFactor, RiskWeights,
};
use labguard_devices::sbom::parse_sbom;

fn read(path: &str) -> Vec<u8> {
    let p = format!("{}/testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn osv_archive() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for name in [
        "GHSA-35jh-r3h4-6jhm.json",
        "GHSA-p6mc-m468-83gw.json",
        "GHSA-c7hr-j4mj-j2w6.json",
        "DEBIAN-CVE-2023-5678.json",
    ] {
        w.start_file(name, opts).unwrap();
        w.write_all(&read(&format!("osv/{name}"))).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn analyzer(id: &str, fw: &str) -> Asset {
    let mut a = Asset::new(
        id,
        DeviceKind::Analyzer,
        "Example Diagnostics",
        "HemaLyzer 5",
    );
    a.firmware_version = Some(fw.into());
    a.cpe = Some(
        Cpe::parse(&format!(
            "cpe:2.3:o:example_diagnostics:hemalyzer_firmware:{fw}:*:*:*:*:*:*:*"
        ))
        .unwrap(),
    );
    a.network_address = Some("10.20.0.15".into());
    a.stores_phi = true;
    a
}

fn ids(r: &MatchReport) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| {
            let ver = f.component.effective_version().unwrap_or("");
            (f.id.clone(), format!("{}@{ver}", f.component.name))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn lab_fleet_plan() {
    // Advisories: OSV archive + NVD firmware record; importing twice changes nothing.
    let mut db = AdvisoryDb::new();
    let osv = parse_osv(&osv_archive()).unwrap();
    assert!(osv.warnings.is_empty(), "{:?}", osv.warnings);
    let nvd = parse_nvd_cve_json(&read("lab/nvd-hemalyzer-log4shell.json")).unwrap();
    let first = db.merge(
        osv.advisories
            .iter()
            .cloned()
            .chain(nvd.advisories.iter().cloned()),
    );
    assert_eq!(
        first,
        MergeStats {
            inserted: 5,
            updated: 0,
            unchanged: 0
        }
    );
    let again = db.merge(osv.advisories.into_iter().chain(nvd.advisories));
    assert_eq!(
        again,
        MergeStats {
            inserted: 0,
            updated: 0,
            unchanged: 5
        }
    );

    let kev = parse_kev_json(&read("kev/known_exploited_vulnerabilities.json")).unwrap();
    let vex = parse_csaf_vex(&read("csaf/hemalyzer-vex-2.0.json"))
        .unwrap()
        .statements;
    let index = MatchIndex::new(db.iter());

    // 1. Analyzer on firmware 4.2.0 with its SBOM, plain-TCP MLLP.
    let mut an1 = analyzer("LAB-AN-01", "4.2.0");
    an1.connectivity = Connectivity::Hl7MllpPlain;
    let an1_sbom = parse_sbom(&read("lab/analyzer-firmware.cdx-1.6.json")).unwrap();
    let r1 = index.match_device(&an1, Some(&an1_sbom), &vex);
    assert_eq!(
        ids(&r1),
        [("CVE-2021-23337".to_string(), "lodash@4.17.15".to_string())]
    );
    // Log4Shell (device firmware and the SBOM's firmware component) and the lodash
    // prototype pollution are cleared by the vendor's CSAF VEX, justification kept.
    let mut cleared: Vec<(&str, &str, Option<&str>)> = r1
        .suppressed
        .iter()
        .map(|s| {
            (
                s.finding.id.as_str(),
                s.finding.component.name.as_str(),
                s.justification.as_deref(),
            )
        })
        .collect();
    cleared.sort();
    assert_eq!(
        cleared,
        [
            (
                "CVE-2020-8203",
                "lodash",
                Some("vulnerable_code_not_in_execute_path")
            ),
            (
                "CVE-2021-44228",
                "HemaLyzer 5",
                Some("vulnerable_code_not_present")
            ),
            (
                "CVE-2021-44228",
                "hemalyzer-firmware",
                Some("vulnerable_code_not_present")
            ),
        ]
    );

    // 2. Older firmware, no SBOM: Log4Shell is open (and in KEV); TLS link, two controls.
    let mut an2 = analyzer("LAB-AN-02", "4.1.0");
    an2.connectivity = Connectivity::Hl7MllpTls;
    an2.compensating_controls = vec![
        CompensatingControl::new("instrument VLAN 40"),
        CompensatingControl::new("egress blocked at the firewall"),
    ];
    let r2 = index.match_device(&an2, None, &vex);
    assert_eq!(
        ids(&r2),
        [(
            "CVE-2021-44228".to_string(),
            "HemaLyzer 5@4.1.0".to_string()
        )]
    );

    // 3. Glucose meter dock, SPDX SBOM, not networked.
    let mut dock = Asset::new(
        "LAB-GM-DOCK",
        DeviceKind::GlucoseMeter,
        "Example Diagnostics",
        "GM dock",
    );
    dock.vendor_support_end = NaiveDate::from_ymd_opt(2025, 6, 30);
    let dock_sbom = parse_sbom(&read("spdx/glucose-dock-2.3.spdx.json")).unwrap();
    let r3 = index.match_device(&dock, Some(&dock_sbom), &vex);
    assert_eq!(
        ids(&r3),
        [(
            "DEBIAN-CVE-2023-5678".to_string(),
            "openssl@3.0.11-1~deb12u2".to_string()
        )]
    );

    // 4. A workstation running a web portal (the juice-shop SBOM).
    let mut ws = Asset::new("LAB-WS-01", DeviceKind::Workstation, "Generic", "Desktop");
    ws.connectivity = Connectivity::Other;
    let ws_sbom = parse_sbom(&read("cyclonedx/SBOM/juice-shop/v11.1.2/bom.json")).unwrap();
    let r4 = index.match_device(&ws, Some(&ws_sbom), &vex);
    assert_eq!(
        ids(&r4),
        [
            (
                "CVE-2015-9235".to_string(),
                "jsonwebtoken@0.1.0".to_string()
            ),
            (
                "CVE-2015-9235".to_string(),
                "jsonwebtoken@0.4.0".to_string()
            ),
            ("CVE-2021-23337".to_string(), "lodash@2.4.2".to_string()),
            ("CVE-2021-23337".to_string(), "lodash@4.17.19".to_string()),
        ]
    );
    assert!(r4.warnings.is_empty(), "{:?}", r4.warnings);

    // Plan, with Log4Shell on LAB-AN-02 first seen 20 days ago.
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2025, 9, 1, 8, 0, 0).unwrap();
    let mut seen = HashMap::new();
    seen.insert(
        finding_key("LAB-AN-02", &r2.findings[0], "CVE-2021-44228"),
        now - Duration::days(20),
    );
    let fleet = plan_fleet(
        &[(an1, r1), (an2, r2), (dock, r3), (ws, r4)],
        Some(&kev),
        &RemediationPolicy::default(),
        &RiskWeights::default(),
        &seen,
        now,
    );
    assert_eq!(fleet.items.len(), 7);
    assert_eq!(fleet.overdue, 1);
    let top = &fleet.items[0];
    assert_eq!(
        (top.asset_id.as_str(), top.vulnerability.as_str()),
        ("LAB-AN-02", "CVE-2021-44228")
    );
    assert!(top.overdue && top.risk.known_exploited);
    assert_eq!(top.days_left, -5);
    assert_eq!(top.risk.priority, Priority::Critical);
    let factors: Vec<RiskFactor> = top.risk.adjustments.iter().map(|a| a.factor).collect();
    assert_eq!(
        factors,
        [
            RiskFactor::KnownExploited,
            RiskFactor::RansomwareUse,
            RiskFactor::NetworkExposure,
            RiskFactor::PatientData,
            RiskFactor::CompensatingControls
        ]
    );
    assert!(top
        .action
        .contains("ask Example Diagnostics for a firmware update"));
    assert!(top
        .action
        .contains("CISA: For all affected software assets"));

    let summary: Vec<(&str, &str, Priority, i64)> = fleet
        .items
        .iter()
        .map(|i| {
            (
                i.asset_id.as_str(),
                i.vulnerability.as_str(),
                i.risk.priority,
                (i.due - i.first_seen).num_days(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("LAB-AN-02", "CVE-2021-44228", Priority::Critical, 15),
            // Both 10.0 after adjustments; ties break on the key.
            ("LAB-AN-01", "CVE-2021-23337", Priority::Critical, 15),
            ("LAB-WS-01", "CVE-2015-9235", Priority::Critical, 15),
            ("LAB-WS-01", "CVE-2015-9235", Priority::Critical, 15),
            ("LAB-WS-01", "CVE-2021-23337", Priority::High, 30),
            ("LAB-WS-01", "CVE-2021-23337", Priority::High, 30),
            // 5.3 - 1.5 isolated + 0.5 out of support = 4.3.
            ("LAB-GM-DOCK", "DEBIAN-CVE-2023-5678", Priority::Medium, 90),
        ]
    );
    let dock_item = fleet.items.last().unwrap();
    let dock_factors: Vec<RiskFactor> = dock_item
        .risk
        .adjustments
        .iter()
        .map(|a| a.factor)
        .collect();
    assert_eq!(
        dock_factors,
        [RiskFactor::NotNetworked, RiskFactor::OutOfVendorSupport]
    );
    assert_eq!(fleet.devices[0].suppressed.len(), 3);
}
