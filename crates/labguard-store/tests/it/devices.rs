//! Device security storage on both backends: inventory with history, instruments in the
//! inventory, SBOMs, idempotent advisory/KEV/VEX re-import, first sightings, assessments
//! with sign-off and schedule, the network map, and all of it covered by `verify`.

use std::sync::{Arc, Mutex};

use crate::common::*;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use labguard_core::{Id, Role};
use labguard_devices::advisory::{parse_kev_json, parse_osv, Advisory};
use labguard_devices::device::{Asset, CompensatingControl, Connectivity, DeviceKind};
use labguard_devices::sbom::parse_sbom;
use labguard_store::{
    Actor, CheckResult, ChecklistItem, Enrollment, NetworkLink, NewAssessment, StoreError,
    StoreOptions, Transport,
};

fn testdata(p: &str) -> Vec<u8> {
    let path = format!(
        "{}/../labguard-devices/testdata/{p}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn analyzer(name: &str) -> Asset {
    let mut a = Asset::new(
        name,
        DeviceKind::Analyzer,
        "Example Diagnostics",
        "HemaLyzer 5",
    );
    a.firmware_version = Some("4.2.0".into());
    a.serial = Some("SN-1".into());
    a.network_address = Some("10.20.0.15".into());
    a.connectivity = Connectivity::Hl7MllpTls;
    a.stores_phi = true;
    a.vendor_support_end = NaiveDate::from_ymd_opt(2030, 1, 1);
    a
}

fn legacy(name: &str) -> Enrollment {
    Enrollment {
        id: Id::new_v4(),
        name: name.into(),
        sending_app: "HEME".into(),
        sending_facility: "LAB".into(),
        analytes: vec![],
        transport: Transport::LegacyTcp,
        cert_serial: None,
        cert_fingerprint: None,
        allow_from: vec!["10.0.0.9".parse().unwrap()],
        enrolled_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        revoked_at: None,
        protocol: labguard_store::Protocol::Hl7,
    }
}

fn clocked(env: &Env, now: Arc<Mutex<DateTime<Utc>>>) -> labguard_store::Store {
    let opts = StoreOptions {
        clock: Arc::new(move || *now.lock().unwrap()),
        ..opts()
    };
    env.data.init(opts).unwrap()
}

#[test]
fn inventory_history_instruments_and_links() {
    for env in envs("dev_inventory") {
        let store = init(&env);
        let a = analyzer("chem-1");
        let id = store.add_asset(&op(), &a, None).unwrap();
        assert!(matches!(
            store.add_asset(&op(), &a, None),
            Err(StoreError::Conflict)
        ));

        // An instrument enrolled for legacy plain TCP shows up without an inventory record,
        // and its weak authentication is visible.
        store.enroll_instrument(&op(), &legacy("heme-1")).unwrap();
        let inv = store.inventory(&op()).unwrap();
        let names: Vec<&str> = inv.iter().map(|d| d.asset.id.as_str()).collect();
        assert_eq!(names, ["chem-1", "heme-1"], "{}", env.name);
        let heme = &inv[1];
        assert!(heme.id.is_none());
        assert!(heme.weak_authentication());
        assert_eq!(heme.asset.connectivity, Connectivity::Hl7MllpPlain);
        assert!(!inv[0].weak_authentication());
        assert_eq!(inv[0].id, Some(id));
        assert_eq!(inv[0].asset, a);

        // Linking a device record to the legacy instrument by name: still one entry, and
        // the plain-TCP link overrides what was recorded.
        let mut h = analyzer("heme-1");
        h.network_address = Some("10.0.0.9".into());
        store.add_asset(&op(), &h, Some("heme-1")).unwrap();
        let inv = store.inventory(&op()).unwrap();
        assert_eq!(inv.len(), 2);
        assert!(inv[1].id.is_some());
        assert_eq!(inv[1].instrument.as_ref().unwrap().name, "heme-1");
        assert_eq!(inv[1].asset.connectivity, Connectivity::Hl7MllpPlain);

        // Every change is in the history with before and after.
        let mut b = a.clone();
        b.firmware_version = Some("4.3.0".into());
        store.update_asset(&op(), &b).unwrap();
        store
            .add_compensating_control(
                &op(),
                "chem-1",
                &CompensatingControl::new("VLAN 20, ACL to LIS only"),
            )
            .unwrap();
        let hist = store.device_history(&op(), "chem-1").unwrap();
        let actions: Vec<&str> = hist.iter().map(|c| c.action.as_str()).collect();
        assert_eq!(
            actions,
            ["device.create", "device.update", "device.control.add"]
        );
        assert!(hist[0].before.is_none());
        let before = hist[1].before.as_ref().unwrap();
        let after = hist[1].after.as_ref().unwrap();
        assert_eq!(before["asset"]["firmware_version"], "4.2.0");
        assert_eq!(after["asset"]["firmware_version"], "4.3.0");
        assert!(hist[1].actor.starts_with("operator:"));
        let got = store.asset(&op(), "chem-1").unwrap().unwrap();
        assert_eq!(got.asset.compensating_controls.len(), 1);

        store
            .add_network_link(
                &op(),
                &NetworkLink {
                    from: "chem-1".into(),
                    to: "heme-1".into(),
                    protocol: "HL7/MLLP".into(),
                    carries_phi: true,
                },
            )
            .unwrap();
        assert_eq!(store.network_links(&op()).unwrap().len(), 1);
        assert!(matches!(
            store.update_asset(&op(), &analyzer("nope")),
            Err(StoreError::NotFound(_))
        ));

        // A lab role may not change the inventory; the refusal is audited.
        let phleb = Actor::staff("pia", Role::Phlebotomist);
        assert!(matches!(
            store.add_asset(&phleb, &analyzer("x"), None),
            Err(StoreError::Denied(_))
        ));
        assert!(matches!(
            store.inventory(&phleb),
            Err(StoreError::Denied(_))
        ));
        let audit = raw(&env, "SELECT COUNT(*) FROM audit_log", &[]);
        assert!(audit[0][0].as_int().unwrap() >= 7);
        store.verify(&mut |_, _| {}).unwrap();
    }
}

#[test]
fn sboms_advisories_kev_vex_and_findings() {
    for env in envs("dev_vulns") {
        let store = init(&env);
        store.add_asset(&op(), &analyzer("an-1"), None).unwrap();
        let sbom = parse_sbom(&testdata("lab/analyzer-firmware.cdx-1.6.json")).unwrap();
        let first = store.import_sbom(&op(), "an-1", None, &sbom, "aa").unwrap();
        assert_eq!(first.firmware_version, "4.2.0");
        assert!(!first.replaced);
        let again = store.import_sbom(&op(), "an-1", None, &sbom, "aa").unwrap();
        assert!(again.replaced);
        let n = raw(&env, "SELECT COUNT(*) FROM sbom_components", &[]);
        assert_eq!(n[0][0].as_int().unwrap() as usize, first.components);
        let sboms = store.device_sboms(&op()).unwrap();
        assert_eq!(sboms["an-1"], sbom);
        // Unknown device: nothing stored.
        assert!(store
            .import_sbom(&op(), "ghost", None, &sbom, "bb")
            .is_err());
        assert_eq!(
            raw(&env, "SELECT COUNT(*) FROM device_sboms", &[])[0][0]
                .as_int()
                .unwrap(),
            1
        );

        // Advisories: a second import of the same records is a no-op, a newer revision
        // updates, and the audit log only grows when something changed.
        let mut advs: Vec<Advisory> = Vec::new();
        for f in [
            "GHSA-35jh-r3h4-6jhm.json",
            "GHSA-p6mc-m468-83gw.json",
            "GHSA-c7hr-j4mj-j2w6.json",
        ] {
            advs.extend(
                parse_osv(&testdata(&format!("osv/{f}")))
                    .unwrap()
                    .advisories,
            );
        }
        let s1 = store
            .import_advisories(&op(), "osv.zip", "osv", &advs)
            .unwrap();
        assert_eq!((s1.inserted, s1.updated, s1.unchanged), (3, 0, 0));
        let log = |env: &Env| {
            raw(env, "SELECT COUNT(*) FROM audit_log", &[])[0][0]
                .as_int()
                .unwrap()
        };
        let before = log(&env);
        let s2 = store
            .import_advisories(&op(), "osv.zip", "osv", &advs)
            .unwrap();
        assert_eq!((s2.inserted, s2.updated, s2.unchanged), (0, 0, 3));
        assert_eq!(log(&env), before);
        let mut newer = advs[0].clone();
        newer.modified = newer.modified.map(|m| m + Duration::days(1));
        newer.summary = Some("revised".into());
        let s3 = store
            .import_advisories(&op(), "one.json", "osv", &[newer.clone(), advs[1].clone()])
            .unwrap();
        assert_eq!((s3.inserted, s3.updated, s3.unchanged), (0, 1, 1));
        let db = store.advisory_db(&op()).unwrap();
        assert_eq!(db.len(), 3);
        assert_eq!(db.get(&newer.id).unwrap(), &newer);

        let kev = parse_kev_json(&testdata("kev/known_exploited_vulnerabilities.json")).unwrap();
        let k1 = store.import_kev(&op(), "kev.json", &kev).unwrap();
        assert_eq!(k1.inserted, kev.entries.len());
        let k2 = store.import_kev(&op(), "kev.json", &kev).unwrap();
        assert_eq!(
            (k2.inserted, k2.updated, k2.unchanged),
            (0, 0, kev.entries.len())
        );
        let stored = store.kev_catalog(&op()).unwrap();
        assert_eq!(stored.entries, kev.entries);

        let vex = String::from_utf8(testdata("csaf/hemalyzer-vex-2.0.json")).unwrap();
        assert!(store
            .import_vex_document(&op(), "vex.json", "csaf", 2, &vex)
            .unwrap());
        assert!(!store
            .import_vex_document(&op(), "vex.json", "csaf", 2, &vex)
            .unwrap());
        assert_eq!(
            store.vex_documents(&op()).unwrap(),
            vec![("csaf".to_string(), vex)]
        );

        // First sightings stay put across reports.
        let seen = vec![(
            "an-1|pkg:npm/x@1|CVE-1".to_string(),
            "an-1".to_string(),
            "CVE-1".to_string(),
        )];
        let m1 = store.record_findings(&op(), &seen).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let m2 = store.record_findings(&op(), &seen).unwrap();
        assert_eq!(m1, m2);
        assert_eq!(
            raw(&env, "SELECT COUNT(*) FROM device_findings", &[])[0][0]
                .as_int()
                .unwrap(),
            1
        );

        // The severity trend: one row set per day, rewritten only when counts change.
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let c = |h: u64| vec![("critical".to_string(), 1u64), ("high".to_string(), h)];
        store.record_severity_counts(&op(), day(20), &c(3)).unwrap();
        store.record_severity_counts(&op(), day(21), &c(2)).unwrap();
        let before = log(&env);
        store.record_severity_counts(&op(), day(21), &c(2)).unwrap();
        assert_eq!(log(&env), before);
        store.record_severity_counts(&op(), day(21), &c(1)).unwrap();
        let h = store.severity_history(&op(), 8).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1], ("2026-11-21".to_string(), c(1)));
        assert_eq!(store.severity_history(&op(), 1).unwrap()[0].0, "2026-11-21");

        // Overdue items raise one open security alert each, not one per report.
        let overdue = vec![
            ("device-remediation-overdue".to_string(), seen[0].0.clone()),
            ("device-assessment-overdue".to_string(), "an-1".to_string()),
        ];
        assert_eq!(store.raise_device_alerts(&op(), &overdue).unwrap(), 2);
        assert_eq!(store.raise_device_alerts(&op(), &overdue).unwrap(), 0);
        let so = Actor::staff("sam", Role::SecurityOfficer);
        let alerts = store.list_alerts(&so, 10).unwrap();
        let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        assert!(kinds.contains(&"device-remediation-overdue"), "{kinds:?}");
        store.review_alert(&so, &alerts[0].id).unwrap();
        assert_eq!(store.raise_device_alerts(&op(), &overdue).unwrap(), 1);
        store.verify(&mut |_, _| {}).unwrap();
    }
}

#[test]
fn assessments_sign_off_and_schedule() {
    for env in envs("dev_assess") {
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 1, 10, 9, 0, 0).unwrap(),
        ));
        let store = clocked(&env, now.clone());
        store.add_asset(&op(), &analyzer("an-1"), None).unwrap();
        store.enroll_instrument(&op(), &legacy("heme-1")).unwrap();

        let admin = Actor::staff("ada", Role::Administrator);
        let new = NewAssessment {
            checklist: vec![ChecklistItem {
                item: "default-passwords-changed".into(),
                result: CheckResult::Fail,
                note: Some("service account still on vendor default".into()),
            }],
            findings: vec!["vendor default password on service account".into()],
            evidence: vec!["photo-2026-01-10.jpg sha256:ab12".into()],
            sign_off: true,
        };
        // Administrators manage devices but only the security officer signs off.
        assert!(matches!(
            store.record_assessment(&admin, "an-1", &new),
            Err(StoreError::Denied(_))
        ));
        let so = Actor::staff("sam", Role::SecurityOfficer);
        let a = store.record_assessment(&so, "an-1", &new).unwrap();
        assert_eq!(a.signed_off_by.as_deref(), Some("sam"));
        assert_eq!(a.checklist.len(), 7);
        assert_eq!(a.checklist[1].result, CheckResult::NotChecked);
        assert_eq!(a.next_due, NaiveDate::from_ymd_opt(2026, 7, 10).unwrap());
        assert_eq!(store.assessments(&op(), "an-1").unwrap(), vec![a.clone()]);

        let today = NaiveDate::from_ymd_opt(2026, 7, 11).unwrap();
        let sched = store.assessment_schedule(&op(), today).unwrap();
        let names: Vec<(&str, bool)> = sched
            .iter()
            .map(|s| (s.device.as_str(), s.overdue))
            .collect();
        // heme-1 was enrolled 2026-01-01 and never assessed: due 2026-07-01.
        assert_eq!(names, [("an-1", true), ("heme-1", true)]);
        let early = store
            .assessment_schedule(&op(), NaiveDate::from_ymd_opt(2026, 7, 5).unwrap())
            .unwrap();
        assert_eq!(early.iter().filter(|s| s.overdue).count(), 1);

        // Assessing an enrolled instrument gives it an inventory record.
        *now.lock().unwrap() = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        store
            .record_assessment(&so, "heme-1", &NewAssessment::default())
            .unwrap();
        let heme = store.asset(&op(), "heme-1").unwrap().unwrap();
        assert!(heme.id.is_some());
        assert!(heme.weak_authentication());
        store.verify(&mut |_, _| {}).unwrap();
    }
}
