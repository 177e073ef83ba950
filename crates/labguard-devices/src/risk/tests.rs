use std::collections::HashMap;

use chrono::{Duration, NaiveDate, TimeZone, Utc};

use super::*;
use crate::advisory::{parse_kev_json, SeverityScore};
use crate::device::{CompensatingControl, Connectivity, DeviceKind};
use crate::matching::{MatchBasis, MatchReport};
use crate::sbom::{Component, ComponentKind};

fn finding(id: &str, vectors: &[(&str, &str)]) -> Finding {
    let mut c = Component::new(ComponentKind::Library, "lodash");
    c.version = Some("4.17.15".into());
    Finding {
        component: c,
        id: id.into(),
        aliases: vec![format!("GHSA-{id}")],
        advisory_ids: vec![id.into()],
        basis: MatchBasis::Purl,
        fixed_versions: vec!["4.17.19".into()],
        severity: vectors
            .iter()
            .map(|(k, s)| SeverityScore {
                kind: k.to_string(),
                score: s.to_string(),
            })
            .collect(),
        database_severity: None,
        summary: None,
    }
}

fn kev() -> KevCatalog {
    parse_kev_json(
        br#"{"vulnerabilities":[
        {"cveID":"CVE-2021-44228","dateAdded":"2021-12-10","requiredAction":"Apply updates.","knownRansomwareCampaignUse":"Known"},
        {"cveID":"CVE-2019-0001","dateAdded":"2022-01-01","requiredAction":"Patch.","knownRansomwareCampaignUse":"Unknown"}]}"#,
    )
    .unwrap()
}

fn isolated_device() -> Asset {
    Asset::new("LAB-CF-02", DeviceKind::Centrifuge, "Example", "Spin 3")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 9, 1).unwrap()
}

const V31_CRIT: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const V31_MED_LOCAL: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N";

#[test]
fn base_prefers_cvss_v4_then_database_then_medium() {
    let f = finding(
        "CVE-1",
        &[
            ("CVSS_V3", V31_CRIT),
            (
                "CVSS_V4",
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            ),
        ],
    );
    let r = assess(
        &f,
        &isolated_device(),
        None,
        &RiskWeights::default(),
        today(),
    );
    assert_eq!(r.base_score, 8.5);
    assert!(matches!(&r.base_source, BaseSource::Cvss(c) if c.version == CvssVersion::V4_0));
    let mut f = finding("CVE-1", &[("CVSS_V3", "garbage")]);
    f.database_severity = Some("MODERATE".into());
    let r = assess(
        &f,
        &isolated_device(),
        None,
        &RiskWeights::default(),
        today(),
    );
    assert_eq!((r.base_score, r.base_severity), (5.5, Severity::Medium));
    f.database_severity = None;
    let r = assess(
        &f,
        &isolated_device(),
        None,
        &RiskWeights::default(),
        today(),
    );
    assert_eq!(r.base_source, BaseSource::Unknown);
    assert_eq!(r.base_score, 5.0);
}

#[test]
fn exposure_phi_weak_auth_and_kev_raise_controls_lower() {
    let mut a = Asset::new("LAB-AN-01", DeviceKind::Analyzer, "Example", "HemaLyzer 5");
    a.connectivity = Connectivity::Hl7MllpPlain;
    a.network_address = Some("10.20.0.15".into());
    a.stores_phi = true;
    let f = finding(
        "CVE-2019-0001",
        &[("CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N")],
    );
    let k = kev();
    let r = assess(&f, &a, Some(&k), &RiskWeights::default(), today());
    let factors: Vec<RiskFactor> = r.adjustments.iter().map(|x| x.factor).collect();
    assert_eq!(
        factors,
        [
            RiskFactor::KnownExploited,
            RiskFactor::NetworkExposure,
            RiskFactor::WeakDeviceAuthentication,
            RiskFactor::PatientData
        ]
    );
    assert_eq!(r.base_score, 6.8);
    assert_eq!(r.score, 10.0, "6.8 + 2 + 1 + 1 + 1, capped");
    assert_eq!(r.priority, Priority::Critical);
    assert!(r.known_exploited);
    assert!(r.adjustments[1].reason.contains("10.20.0.15"));
    assert!(r.adjustments[2].reason.contains("plain-TCP"));

    a.compensating_controls = vec![
        CompensatingControl::new("VLAN 40, instrument-only"),
        CompensatingControl::new("firewall allow-list to LIS"),
        CompensatingControl::new("MLLP via TLS proxy"),
        CompensatingControl::new("USB ports disabled"),
    ];
    let f = finding(
        "CVE-2020-1",
        &[("CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N")],
    );
    let r = assess(&f, &a, Some(&k), &RiskWeights::default(), today());
    let controls = r
        .adjustments
        .iter()
        .find(|x| x.factor == RiskFactor::CompensatingControls)
        .unwrap();
    assert_eq!(
        controls.delta, -1.5,
        "four controls at -0.5 each, floored at -1.5"
    );
    assert!(controls.reason.contains("VLAN 40"));
    assert_eq!(r.score, 8.3);
    assert_eq!(r.priority, Priority::High);
    assert_eq!(r.explain().len(), r.adjustments.len() + 2);
}

#[test]
fn isolated_devices_and_local_flaws() {
    let f = finding("CVE-2", &[("CVSS_V3", V31_CRIT)]);
    let r = assess(
        &f,
        &isolated_device(),
        None,
        &RiskWeights::default(),
        today(),
    );
    assert_eq!(r.adjustments.len(), 1);
    assert_eq!(r.adjustments[0].factor, RiskFactor::NotNetworked);
    assert_eq!((r.score, r.priority), (8.3, Priority::High));
    // A local-vector flaw is not moved by network facts.
    let mut a = isolated_device();
    a.connectivity = Connectivity::Hl7MllpPlain;
    let f = finding("CVE-3", &[("CVSS_V3", V31_MED_LOCAL)]);
    let r = assess(&f, &a, None, &RiskWeights::default(), today());
    assert!(r.adjustments.is_empty());
    assert_eq!((r.score, r.priority), (5.5, Priority::Medium));
}

#[test]
fn kev_lifts_a_low_score_to_high_and_end_of_support_counts() {
    let f = finding(
        "CVE-2021-44228",
        &[("CVSS_V3", "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N")],
    );
    let mut a = isolated_device();
    a.vendor_support_end = NaiveDate::from_ymd_opt(2024, 1, 1);
    let k = kev();
    let r = assess(&f, &a, Some(&k), &RiskWeights::default(), today());
    let factors: Vec<RiskFactor> = r.adjustments.iter().map(|x| x.factor).collect();
    assert_eq!(
        factors,
        [
            RiskFactor::KnownExploited,
            RiskFactor::RansomwareUse,
            RiskFactor::OutOfVendorSupport
        ]
    );
    assert_eq!(r.score, 4.6);
    assert_eq!(r.priority, Priority::High);
    assert_eq!(r.kev_required_action.as_deref(), Some("Apply updates."));
}

#[test]
fn deadlines_follow_the_policy_and_flag_overdue() {
    let now = Utc.with_ymd_and_hms(2025, 9, 1, 12, 0, 0).unwrap();
    let mut a = Asset::new("LAB-GM-07", DeviceKind::GlucoseMeter, "Example", "Gluco 2");
    a.connectivity = Connectivity::Hl7MllpTls;
    let report = MatchReport {
        findings: vec![
            finding(
                "CVE-2021-44228",
                &[("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")],
            ),
            finding(
                "CVE-LOW",
                &[("CVSS_V3", "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N")],
            ),
            finding("CVE-MED", &[("CVSS_V3", V31_MED_LOCAL)]),
            finding(
                "CVE-HIGH",
                &[("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N")],
            ),
        ],
        ..MatchReport::default()
    };
    let mut seen = HashMap::new();
    // First recorded 100 days ago under its GHSA alias.
    seen.insert(
        finding_key("LAB-GM-07", &report.findings[2], "GHSA-CVE-MED"),
        now - Duration::days(100),
    );
    let k = kev();
    let plan = plan_device(
        &a,
        &report,
        Some(&k),
        &RemediationPolicy::default(),
        &RiskWeights::default(),
        &seen,
        now,
    );
    let order: Vec<(&str, i64, bool)> = plan
        .items
        .iter()
        .map(|i| {
            (
                i.vulnerability.as_str(),
                (i.due - i.first_seen).num_days(),
                i.overdue,
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("CVE-MED", 90, true),
            ("CVE-2021-44228", 15, false),
            ("CVE-HIGH", 30, false),
            ("CVE-LOW", 180, false)
        ]
    );
    assert_eq!(plan.items[0].days_left, -10);
    assert!(plan.items[1]
        .action
        .starts_with("Upgrade lodash from 4.17.15 to 4.17.19"));
    assert!(plan.items[1].action.contains("CISA: Apply updates."));
    assert_eq!(plan.items[1].key, "LAB-GM-07|lodash@4.17.15|CVE-2021-44228");

    let fleet = plan_fleet(
        &[(a.clone(), report.clone()), (isolated_device(), report)],
        Some(&k),
        &RemediationPolicy::default(),
        &RiskWeights::default(),
        &seen,
        now,
    );
    assert_eq!(fleet.devices.len(), 2);
    assert_eq!(fleet.items.len(), 8);
    assert_eq!(fleet.overdue, 1);
    assert_eq!(fleet.items[0].asset_id, "LAB-GM-07");
    assert!(fleet.items.windows(2).all(|w| w[0].overdue >= w[1].overdue));
}
