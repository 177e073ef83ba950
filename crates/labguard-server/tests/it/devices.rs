//! Device security API on SQLite and PostgreSQL: the inventory with findings, one device,
//! its findings and the fleet report, as the security officer and the auditor; lab roles
//! are refused.

use axum::http::StatusCode;
use labguard_core::Role;
use labguard_devices::advisory::parse_osv;
use labguard_devices::device::{Asset, Connectivity, DeviceKind};
use labguard_devices::sbom::parse_sbom;
use labguard_store::Actor;
use labguard_testkit::server::*;

fn testdata(p: &str) -> Vec<u8> {
    let path = format!(
        "{}/../labguard-devices/testdata/{p}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Two devices on the network map; the analyzer's SBOM has a component with an advisory.
fn seed(env: &Env) {
    let op = Actor::operator();
    let mut a = Asset::new(
        "an-1",
        DeviceKind::Analyzer,
        "Example Diagnostics",
        "HemaLyzer 5",
    );
    a.firmware_version = Some("4.2.0".into());
    a.network_address = Some("10.20.0.15".into());
    a.connectivity = Connectivity::Hl7MllpTls;
    a.stores_phi = true;
    env.store.add_asset(&op, &a, None).unwrap();
    let lis = Asset::new("lis-1", DeviceKind::Server, "Example", "LIS");
    env.store.add_asset(&op, &lis, None).unwrap();
    env.store
        .add_network_link(
            &op,
            &labguard_store::NetworkLink {
                from: "an-1".into(),
                to: "lis-1".into(),
                protocol: "HL7/MLLP".into(),
                carries_phi: true,
            },
        )
        .unwrap();
    let sbom = parse_sbom(&testdata("lab/analyzer-firmware.cdx-1.6.json")).unwrap();
    env.store
        .import_sbom(&op, "an-1", None, &sbom, "00")
        .unwrap();
    let osv = parse_osv(&testdata("osv/GHSA-35jh-r3h4-6jhm.json")).unwrap();
    env.store
        .import_advisories(&op, "GHSA-35jh-r3h4-6jhm.json", "osv", &osv.advisories)
        .unwrap();
}

#[test]
fn devices_api_lists_findings_and_report() {
    for kind in backends() {
        let env = env(kind, "devices");
        seed(&env);
        for role in [Role::SecurityOfficer, Role::Auditor] {
            let name = format!("u-{}", role.code());
            let pw = env.add_user(&name, role);
            let s = enroll(&env, &name, &pw);
            let (st, v, _) = env.call(get_req("/api/v1/devices", Some(&s)));
            assert_eq!(st, StatusCode::OK, "{kind} {role}: {v}");
            assert_eq!(v[0]["name"], "an-1");
            assert_eq!(v[1]["name"], "lis-1");
            assert_eq!(v[0]["findings"][0]["id"], "CVE-2021-23337");
            assert_eq!(v[0]["findings"][0]["aliases"][0], "GHSA-35jh-r3h4-6jhm");
            let (st, v, _) = env.call(get_req("/api/v1/devices/an-1", Some(&s)));
            assert_eq!(st, StatusCode::OK);
            assert_eq!(v["stores_phi"], true);
            let (st, v, _) = env.call(get_req("/api/v1/devices/an-1/findings", Some(&s)));
            assert_eq!(st, StatusCode::OK);
            assert_eq!(v[0]["component"], "lodash");
            assert_eq!(v[0]["severity"], "critical");
            let (st, v, _) = env.call(get_req("/api/v1/devices/report", Some(&s)));
            assert_eq!(st, StatusCode::OK);
            assert_eq!(v["remediation"][0]["vulnerability"], "CVE-2021-23337");
            assert_eq!(v["policy"]["kev_days"], 15);
            assert_eq!(v["network"][0]["to"], "lis-1");
            assert_eq!(v["trend"][0]["critical"], 1);
            assert_eq!(v["network"][0]["carries_phi"], true);
            let (st, _, _) = env.call(get_req("/api/v1/devices/nope", Some(&s)));
            assert_eq!(st, StatusCode::NOT_FOUND);
            // The fleet dashboard and the device page, charts inline.
            let (st, html) = env.call_text(get_req("/devices", Some(&s)));
            assert_eq!(st, StatusCode::OK);
            for want in [
                "id=\"severity-chart\"",
                "id=\"overdue-chart\"",
                "id=\"trend-chart\"",
                "href=\"/devices/an-1\"",
                "CVE-2021-23337",
                "<title>critical: 1</title>",
            ] {
                assert!(html.contains(want), "{want} missing");
            }
            let (st, html) = env.call_text(get_req("/devices/an-1", Some(&s)));
            assert_eq!(st, StatusCode::OK);
            assert!(
                html.contains("GHSA-35jh-r3h4-6jhm")
                    && html.contains("id=\"device-severity-chart\"")
            );
        }
        let pw = env.add_user("tess", Role::LabTechnologist);
        let s = enroll(&env, "tess", &pw);
        let (st, v, _) = env.call(get_req("/api/v1/devices", Some(&s)));
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        let (st, html) = env.call_text(get_req("/devices", Some(&s)));
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(!html.contains("CVE-2021-23337"));
    }
}

/// A GET computes and answers: it leaves the audit log, the recorded findings, the
/// severity history and the alert queue as they were. The explicit report records them.
#[test]
fn reading_findings_writes_nothing() {
    for kind in backends() {
        let env = env(kind, "devreads");
        seed(&env);
        let pw = env.add_user("sofia", Role::SecurityOfficer);
        let s = enroll(&env, "sofia", &pw);
        let so = env
            .store
            .account_by_username("sofia")
            .unwrap()
            .unwrap()
            .actor();
        let op = Actor::operator();
        // Reading the alert queue is itself audited, so the log size is taken after it.
        let state = || {
            let alerts = env.store.list_alerts(&so, 100).unwrap().len();
            (
                env.store.finding_first_seen(&op).unwrap().len(),
                env.store.severity_history(&op, 8).unwrap().len(),
                alerts,
                env.store.audit_head().unwrap().0,
            )
        };
        let before = state();
        for path in [
            "/api/v1/devices/an-1/findings",
            "/api/v1/devices/an-1",
            "/api/v1/devices",
            "/api/v1/devices/report",
        ] {
            let (st, v, _) = env.call(get_req(path, Some(&s)));
            assert_eq!(st, StatusCode::OK, "{kind} {path}: {v}");
        }
        let (st, v, _) = env.call(get_req("/api/v1/devices/an-1/findings", Some(&s)));
        assert_eq!(
            (st, v[0]["id"].as_str()),
            (StatusCode::OK, Some("CVE-2021-23337"))
        );
        let (st, _) = env.call_text(get_req("/devices", Some(&s)));
        assert_eq!(st, StatusCode::OK);
        let log = env.store.audit_head().unwrap().0;
        assert_eq!(log, before.3, "{kind}: a GET wrote to the audit log");
        let (seen, days, alerts, _) = state();
        assert_eq!(
            (seen, days, alerts),
            (before.0, before.1, before.2),
            "{kind}: a GET recorded"
        );
        assert_eq!(before.0, 0, "{kind}");
        // `devices report` (and the daily collection) records the sightings, audited.
        labguard_app::devices::fleet_report(
            &env.store,
            &op,
            None,
            &labguard_devices::risk::RemediationPolicy::default(),
            chrono::Utc::now(),
            labguard_app::devices::Recording::Record,
        )
        .unwrap();
        let after = state();
        assert!(
            after.3 > log && after.0 == 1 && after.1 == 1,
            "{kind}: {after:?}"
        );
    }
}
