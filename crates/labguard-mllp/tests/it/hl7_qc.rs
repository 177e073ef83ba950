//! QC over HL7: an ORU^R01 whose specimen is a control (SPM-11 `Q`, the lot in SPM-2),
//! sent over mutual TLS, is judged by the Westgard rules against the lot's target; a
//! rejected run raises `qc-rejected` and files no patient result.

use crate::common::*;
use labguard_core::LoincCode;
use labguard_mllp::client::{ack_code, tls_client_config, Client};
use labguard_mllp::{enroll, DeviceCa};
use labguard_qc::ControlMaterial;

fn qc_oru(control: &str, lot: &str, value: &str, minute: u32) -> String {
    format!(
        "MSH|^~\\&|CHEM|CORELAB|LABGUARD|LAB|20261102093000||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         OBR|1|QC{control}||2345-7^Glucose^LN|||20261102083000\r\
         OBX|1|NM|2345-7^Glucose^LN||{value}|mg/dL|||||F|||202611020900{minute:02}\r\
         SPM|1|{lot}||QC^Control^HL70487|||||||Q^Control specimen^HL70369\r"
    )
}

#[test]
fn a_control_specimen_over_hl7_is_judged_as_qc() {
    let rt = rt();
    for env in envs("hl7_qc") {
        let store = store(&env);
        let (dev, issued) = enroll(&store, &op(), &env.data.path, &tls_req("chem-1")).unwrap();
        let issued = issued.unwrap();
        let glucose = LoincCode::parse("2345-7").unwrap();
        store
            .set_qc_material(
                &op(),
                &ControlMaterial {
                    lot: "CTL-88A".into(),
                    level: "1".into(),
                    analyte: glucose.clone(),
                    units: "mg/dL".into(),
                    mean: 100.0,
                    sd: 4.0,
                },
            )
            .unwrap();
        let srv = rt.block_on(labguard_testkit::mllp::start(&env.data.path, store.clone()));
        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        let cfg =
            tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem))).unwrap();
        let mut c = rt.block_on(Client::tls(srv.tls, "localhost", cfg)).unwrap();
        // In control (within 1 SD), then 7.5 SD out: 1-3s rejects the run.
        for (id, v, at) in [("Q1", "102", 1), ("Q2", "130", 2)] {
            let ack = rt
                .block_on(c.send(qc_oru(id, "CTL-88A", v, at).as_bytes()))
                .unwrap();
            assert_eq!(ack_code(&ack).as_deref(), Some("AA"), "{}: {id}", env.name);
        }
        let records = store.qc_records(&op(), dev.id, &glucose).unwrap();
        assert_eq!(records.len(), 2, "{}", env.name);
        assert!(!records[0].rejects && records[1].rejects, "{}", env.name);
        assert_eq!(records[1].lot, "CTL-88A");
        let alerts = store.open_alerts(100).unwrap();
        assert!(
            alerts.iter().any(|a| a.kind == "qc-rejected"),
            "{}: {alerts:?}",
            env.name
        );
        // The connection counted as the analyzer's contact (the device page's "last seen").
        let seen = (0..100).any(|_| {
            let s = store.device_statuses().unwrap();
            let hit = s
                .iter()
                .any(|d| d.device_id == dev.id && d.last_seen_at.is_some());
            if !hit {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            hit
        });
        assert!(seen, "{}: no last-seen for the analyzer", env.name);
        // A control is no patient: nothing was held as an unknown patient.
        assert!(
            store.held_results(&op()).unwrap().is_empty(),
            "{}",
            env.name
        );
        let _ = srv.stop.send(());
    }
}
