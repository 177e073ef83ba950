//! QC over HTTP: a rejected run recalls the device's results filed since its last accepted
//! run; a pathologist lists and decides them through the API (other roles and strangers
//! are refused), and the device page shows the run's verdict with a Levey-Jennings chart.

use axum::http::StatusCode;
use chrono::{TimeDelta, TimeZone, Utc};
use labguard_core::{Id, LabResult, LoincCode, Role};
use labguard_devices::device::{Asset, Connectivity, DeviceKind};
use labguard_qc::ControlMaterial;
use labguard_store::{Actor, Enrollment, Inbound, QcReading, Transport};
use labguard_testkit::server::*;
use serde_json::json;

fn k() -> LoincCode {
    LoincCode::parse("2823-3").unwrap()
}

fn control(level: &str, value: f64, hour: i64) -> QcReading {
    QcReading {
        lot: "LOT-9".into(),
        level: level.into(),
        analyte: k(),
        units: "mmol/L".into(),
        value,
        observed_at: Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap() + TimeDelta::hours(hour),
    }
}

fn deliver(env: &Env, dev: &Enrollment, id: &str, results: Vec<LabResult>, qc: Vec<QcReading>) {
    let n = results.len();
    let mrns = results
        .first()
        .map(|_| vec![(results[0].patient_id, "MRN-1001".to_string())])
        .unwrap_or_default();
    env.store
        .ingest(&Inbound {
            device_id: dev.id,
            actor: dev.actor(),
            control_id: id.into(),
            raw: format!("H|\\^&|||CHEM\rL|1|N\r{id}").into_bytes(),
            specimens: vec![],
            orders: vec![],
            results,
            holds: vec![vec![]; n],
            patient_mrns: mrns,
            specimen_accessions: vec![],
            qc,
        })
        .unwrap();
}

#[test]
fn recalled_results_are_reviewed_over_the_api_and_the_device_page_charts_qc() {
    for kind in backends() {
        let env = env(kind, "qcrecall");
        let seeded = seed(&env);
        let op = Actor::operator();
        let dev = Enrollment {
            id: Id::new_v4(),
            name: "chem-7".into(),
            sending_app: "CHEM".into(),
            sending_facility: "LAB".into(),
            analytes: vec!["2823-3".into()],
            transport: Transport::Tls,
            cert_serial: Some("07".into()),
            cert_fingerprint: Some("fp-chem-7".into()),
            allow_from: vec![],
            enrolled_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            revoked_at: None,
            protocol: labguard_store::Protocol::Hl7,
        };
        env.store.enroll_instrument(&op, &dev).unwrap();
        let mut asset = Asset::new("chem-7", DeviceKind::Analyzer, "Example", "Chem 7");
        asset.connectivity = Connectivity::Hl7MllpTls;
        env.store.add_asset(&op, &asset, Some("chem-7")).unwrap();
        for (lvl, mean) in [("1", 4.0), ("2", 6.0)] {
            let m = ControlMaterial {
                lot: "LOT-9".into(),
                level: lvl.into(),
                analyte: k(),
                units: "mmol/L".into(),
                mean,
                sd: 0.1,
            };
            env.store.set_qc_material(&op, &m).unwrap();
        }
        deliver(
            &env,
            &dev,
            "G1",
            vec![],
            vec![control("1", 4.01, 0), control("2", 6.02, 0)],
        );
        let r = LabResult {
            id: Id::new_v4(),
            analyte: k(),
            analyte_name: "Potassium".into(),
            value: "4.2".into(),
            units: "mmol/L".into(),
            specimen_id: None,
            reference_range: labguard_core::ReferenceRange::parse("3.5-5.1"),
            ..env
                .store
                .results_for_patient(&op, seeded.patient.id)
                .unwrap()[0]
                .clone()
        };
        deliver(&env, &dev, "P1", vec![r.clone()], vec![]);
        // 1-3s on level 1: rejected; the potassium result filed after G1 is recalled.
        deliver(
            &env,
            &dev,
            "B1",
            vec![],
            vec![control("1", 4.4, 2), control("2", 6.0, 2)],
        );

        let pw = env.add_user("petra", Role::Pathologist);
        let path = enroll(&env, "petra", &pw);
        let (st, v, _) = env.call(get_req("/api/v1/qc/recalls", Some(&path)));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{kind}: {v}");
        assert_eq!(v[0]["result_id"], r.id.to_string());
        assert_eq!(v[0]["state"], "held");
        // The recall carries ids and state only: no value, no name, no MRN.
        let text = v.to_string();
        for phi in ["4.2", "Quill", "MRN-1001"] {
            assert!(!text.contains(phi), "{kind}: {phi} in {text}");
        }

        // Strangers and other roles are refused, and a recalled result cannot be signed off.
        let (st, _, _) = env.call(get_req("/api/v1/qc/recalls", None));
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        let pw = env.add_user("tom", Role::LabTechnologist);
        let tech = enroll(&env, "tom", &pw);
        let release = format!("/api/v1/qc/recalls/{}/release", r.id);
        let (st, _, _) = env.call(json_req("POST", &release, Some(&tech), &json!({})));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}");
        let (st, _, _) = env.call(json_req("POST", &release, None, &json!({})));
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{kind}");
        let verify = format!("/api/v1/results/{}/verify", r.id);
        let (st, v, _) = env.call(json_req("POST", &verify, Some(&path), &json!({})));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {v}");

        // Released by the pathologist: now it can be verified; a second decision conflicts.
        let (st, v, _) = env.call(json_req("POST", &release, Some(&path), &json!({})));
        assert_eq!(
            (st, v["state"].as_str()),
            (StatusCode::OK, Some("released")),
            "{kind}: {v}"
        );
        let (st, _, _) = env.call(json_req("POST", &release, Some(&path), &json!({})));
        assert_eq!(st, StatusCode::CONFLICT, "{kind}");
        let (st, v, _) = env.call(json_req("POST", &verify, Some(&path), &json!({})));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        let unknown = format!("/api/v1/qc/recalls/{}/reject", Id::new_v4());
        let (st, _, _) = env.call(json_req("POST", &unknown, Some(&path), &json!({})));
        assert_eq!(st, StatusCode::NOT_FOUND, "{kind}");

        // The device page: the latest run's verdict and one chart per control level.
        let pw = env.add_user("sofia", Role::SecurityOfficer);
        let so = enroll(&env, "sofia", &pw);
        let (st, html) = env.call_text(get_req("/devices/chem-7", Some(&so)));
        assert_eq!(st, StatusCode::OK, "{kind}");
        assert!(html.contains("id=\"qc\""), "{kind}: no QC section");
        // How it connects, and that it has not been heard from over the network.
        assert!(
            html.contains("id=\"instrument-link\">HL7 v2 over MLLP over mutual TLS<"),
            "{kind}: instrument link missing"
        );
        assert!(html.contains("id=\"last-seen\">never<"), "{kind}");
        assert!(html.contains("rejected (1-3s)"), "{kind}: verdict missing");
        assert_eq!(html.matches("class=\"lj-chart\"").count(), 2, "{kind}");
        assert!(html.matches("<svg").count() >= 3, "{kind}: charts missing");
    }
}
