//! FHIR R4 export of results delivered over MLLP, validated by the Python
//! `fhir.resources` package (R4B models; pip install fhir.resources).

use std::process::Command;

use crate::common::*;
use labguard_mllp::client::{ack_code, tls_client_config, Client};
use labguard_mllp::{enroll, fhir, DeviceCa, EnrollRequest};

const VALIDATE: &str = r#"
import json, sys
from fhir.resources.R4B.bundle import Bundle
b = Bundle.model_validate(json.load(open(sys.argv[1])))
print(",".join(sorted({e.resource.get_resource_type() for e in b.entry})))
"#;

#[test]
fn delivered_results_export_as_a_valid_fhir_bundle() {
    let env = envs("fhir").remove(0);
    let store = store(&env);
    let p = add_patient(&store, "MRN-F1");
    // Drawn before the analyzer reports on it; the delivery names it by accession (SPM-2).
    let drawn = labguard_core::Specimen {
        id: labguard_core::Id::new_v4(),
        patient_id: p.id,
        accession: "ACC-F1".into(),
        collector: "phleb-1".into(),
        collected_at: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 2, 8, 30, 0)
            .unwrap(),
        container: labguard_core::ContainerType::Fluoride,
        body_site: "left antecubital vein".into(),
    };
    store.add_specimen(&op(), &drawn).unwrap();
    let req = EnrollRequest {
        name: "chem-f".into(),
        sending_app: "CHEM".into(),
        sending_facility: "CORELAB".into(),
        analytes: vec!["2345-7".into()],
        legacy_allow: None,
        protocol: labguard_store::Protocol::Hl7,
    };
    let (_, issued) = enroll(&store, &op(), &env.data.path, &req).unwrap();
    let issued = issued.unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = rt.block_on(start(&env, store.clone()));
    let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
    let cfg = tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem))).unwrap();
    let mut c = rt.block_on(Client::tls(srv.tls, "localhost", cfg)).unwrap();
    // An SPM so the delivery carries its specimen too.
    let msg = format!(
        "{}SPM|1|ACC-F1||BLD|||||||P||||||20261102083000||||||||||LAV\r",
        oru("F1", "MRN-F1", "101")
    );
    let ack = rt.block_on(c.send(msg.as_bytes())).unwrap();
    assert_eq!(ack_code(&ack).as_deref(), Some("AA"));

    let results = store.results_for_patient(&op(), p.id).unwrap();
    assert_eq!(results.len(), 1);
    let ids: Vec<_> = results.iter().filter_map(|r| r.specimen_id).collect();
    let specimens = store.specimens_by_id(&op(), &ids).unwrap();
    let b = fhir::bundle(&p, &specimens, &results);
    let path = env.dir.path().join("bundle.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&b).unwrap()).unwrap();
    let out = Command::new("python3")
        .args(["-c", VALIDATE])
        .arg(&path)
        .output()
        .expect("python3 with fhir.resources");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let types = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(specimens, vec![drawn]);
    assert_eq!(types, "DiagnosticReport,Observation,Patient,Specimen");
    let _ = srv.stop.send(());
}
