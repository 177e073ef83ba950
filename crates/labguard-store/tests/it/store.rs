use crate::common::*;
use labguard_core::{Permission, Role};
use labguard_store::testing::Value;
use labguard_store::{Actor, StoreError, VerifyProblem};

#[test]
fn patients_round_trip_through_blind_indexes() {
    for env in envs("roundtrip") {
        let store = init(&env);
        let a = patient("MRN-1001", "Quillfeather", "Ottoline");
        let b = patient("MRN-1002", "Quillfeather", "Barnaby");
        store.add_patient(&op(), &a).unwrap();
        store.add_patient(&op(), &b).unwrap();
        let found = store.find_patient_by_mrn(&op(), " mrn-1001 ").unwrap();
        assert_eq!(found.as_ref(), Some(&a), "{}", env.name);
        assert_eq!(store.find_patient_by_mrn(&op(), "MRN-9999").unwrap(), None);
        let by_name = store
            .find_patients_by_name_dob(&op(), "quillfeather", "OTTOLINE", a.birth_date)
            .unwrap();
        assert_eq!(by_name, vec![a.clone()]);
        assert_eq!(store.get_patient(&op(), b.id).unwrap(), b);
        // The MRN is unique.
        let dup = patient("MRN-1001", "Other", "Person");
        assert!(matches!(
            store.add_patient(&op(), &dup),
            Err(StoreError::Conflict)
        ));
        // Specimens and results.
        let s = specimen(&a, "ACC-77");
        store.add_specimen(&op(), &s).unwrap();
        assert_eq!(
            store.find_specimen_by_accession(&op(), "ACC-77").unwrap(),
            Some(s.clone())
        );
        let r = glucose(&a, &s, "104");
        store.add_result(&op(), &r).unwrap();
        assert_eq!(
            store.results_for_patient(&op(), a.id).unwrap(),
            vec![r.clone()]
        );
        let path = Actor::staff("dr-pathologist", Role::Pathologist);
        let v = store.verify_result(&path, r.id).unwrap();
        assert_eq!(v.status, labguard_core::ResultStatus::Final);
        assert_eq!(v.verified_by.as_deref(), Some("dr-pathologist"));
        store.checkpoint().unwrap();
        let rep = store.verify(&mut |_, _| {}).unwrap();
        assert_eq!(rep.rows_checked, 4);
        assert_eq!(rep.unsigned_tail, 0);
    }
}

#[test]
fn roles_get_minimum_necessary_and_denials_are_audited() {
    for env in envs("roles") {
        let store = init(&env);
        let p = patient("MRN-2001", "Fairweather", "Imogen");
        store.add_patient(&op(), &p).unwrap();
        let front = Actor::staff("fd-1", Role::FrontDesk);
        assert!(store
            .find_patient_by_mrn(&front, "MRN-2001")
            .unwrap()
            .is_some());
        let before = store.audit_head().unwrap().0;
        let err = store.results_for_patient(&front, p.id).unwrap_err();
        assert!(matches!(err, StoreError::Denied(_)), "{err}");
        assert_eq!(
            store.audit_head().unwrap().0,
            before + 1,
            "denial not audited"
        );
        let auditor = Actor::staff("aud-1", Role::Auditor);
        assert!(!auditor.may(Permission::DemographicsRead));
        assert!(matches!(
            store.get_patient(&auditor, p.id),
            Err(StoreError::Denied(_))
        ));
        let phleb = Actor::staff("ph-1", Role::Phlebotomist);
        store.add_specimen(&phleb, &specimen(&p, "ACC-1")).unwrap();
        let tech = Actor::staff("tech-1", Role::LabTechnologist);
        assert!(matches!(
            store.verify_result(&tech, p.id),
            Err(StoreError::Denied(_))
        ));
    }
}

#[test]
fn moved_ciphertext_fails_and_verify_names_the_row() {
    for env in envs("moved") {
        let store = init(&env);
        let a = patient("MRN-3001", "Ashgrove", "Peregrine");
        let b = patient("MRN-3002", "Brambleton", "Winifred");
        store.add_patient(&op(), &a).unwrap();
        store.add_patient(&op(), &b).unwrap();
        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();
        // Copy a's family-name ciphertext over b's.
        let rows = raw(
            &env,
            "SELECT family FROM patients WHERE id = ?",
            &[a.id.to_string().into()],
        );
        let ct = rows[0][0].clone();
        raw(
            &env,
            "UPDATE patients SET family = ? WHERE id = ?",
            &[ct, b.id.to_string().into()],
        );
        let err = store.get_patient(&op(), b.id).unwrap_err().to_string();
        assert!(err.contains("failed authentication"), "{}: {err}", env.name);
        assert!(!err.contains("Ashgrove") && !err.contains("Brambleton"));
        match store.verify(&mut |_, _| {}) {
            Err(VerifyProblem::Row { table, id, .. }) => {
                assert_eq!(table, "patients");
                assert_eq!(id, b.id.to_string());
            }
            other => panic!("{}: expected a row problem, got {other:?}", env.name),
        }
    }
}

#[test]
fn verify_names_the_first_tampered_entry_and_replayed_rows() {
    for env in envs("tamper") {
        let store = init(&env);
        let p = patient("MRN-4001", "Copperfield", "Ambrose");
        store.add_patient(&op(), &p).unwrap();
        for _ in 0..5 {
            store.get_patient(&op(), p.id).unwrap();
        }
        store.checkpoint().unwrap();
        // Rewrite entry 3 (and its leaf hash, as a careful attacker would).
        let rows = raw(&env, "SELECT entry FROM audit_log WHERE seq = 3", &[]);
        let mut e = labguard_audit::AuditEntry::decode(rows[0][0].as_blob().unwrap()).unwrap();
        e.actor = "someone-else".into();
        let bytes = e.encode();
        let leaf = labguard_audit::leaf_hash(&bytes).to_vec();
        raw(
            &env,
            "UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE seq = 3",
            &[bytes.into(), leaf.into()],
        );
        let err = store.verify(&mut |_, _| {}).unwrap_err().to_string();
        assert!(
            err.contains("0..") || err.contains("3"),
            "{}: {err}",
            env.name
        );
        // Only entry bytes changed: the leaf-hash check names entry 3 exactly.
        let env2 = envs("tamper2").remove(0);
        let store2 = init(&env2);
        store2.add_patient(&op(), &p).unwrap();
        store2.get_patient(&op(), p.id).unwrap();
        store2.checkpoint().unwrap();
        let rows = raw(&env2, "SELECT entry FROM audit_log WHERE seq = 1", &[]);
        let mut bytes = rows[0][0].as_blob().unwrap().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        raw(
            &env2,
            "UPDATE audit_log SET entry = ? WHERE seq = 1",
            &[bytes.into()],
        );
        let err = store2.verify(&mut |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("entry 1"), "{err}");
    }
}

#[test]
fn row_rolled_back_to_an_older_version_is_detected() {
    for env in envs("replay") {
        let store = init(&env);
        let p = patient("MRN-5001", "Hollowell", "Clementine");
        store.add_patient(&op(), &p).unwrap();
        let s = specimen(&p, "ACC-5");
        store.add_specimen(&op(), &s).unwrap();
        let r = glucose(&p, &s, "250");
        store.add_result(&op(), &r).unwrap();
        let old = raw(&env, "SELECT status, verified_by, value FROM results", &[]);
        store
            .verify_result(&Actor::staff("dr", Role::Pathologist), r.id)
            .unwrap();
        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();
        // Put back the old status: every ciphertext still authenticates, the row hash doesn't.
        raw(
            &env,
            "UPDATE results SET status = ?, verified_by = ?",
            &[old[0][0].clone(), Value::Null],
        );
        let err = store.verify(&mut |_, _| {}).unwrap_err().to_string();
        assert!(
            err.contains("results row") && err.contains(&r.id.to_string()),
            "{err}"
        );
    }
}

#[test]
fn wrong_or_missing_key_gives_a_clear_error() {
    for env in envs("wrongkey") {
        let store = init(&env);
        drop(store);
        let kek = env.data.kek_path();
        let good = std::fs::read(&kek).unwrap();
        std::fs::remove_file(&kek).unwrap();
        let err = env.data.open(opts()).err().unwrap().to_string();
        assert!(err.contains("no key file"), "{err}");
        let (_, other) = labguard_crypto::Kek::generate().unwrap();
        labguard_store_write(&kek, other.as_bytes());
        let err = env.data.open(opts()).err().unwrap().to_string();
        assert!(err.contains("wrong key-encryption key"), "{err}");
        std::fs::remove_file(&kek).unwrap();
        labguard_store_write(&kek, &good);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = env.data.open(opts()).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(env.data.open(opts()).is_ok());
    }
}

fn labguard_store_write(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn names_never_reach_the_sqlite_file_in_plaintext() {
    let env = envs("plaintext").remove(0);
    let store = init(&env);
    let names = ["Zebulonova", "Marigoldina", "Thistlewaite"];
    for (i, n) in names.iter().enumerate() {
        store
            .add_patient(&op(), &patient(&format!("MRN-PT-{i}"), n, "Xanthippe"))
            .unwrap();
    }
    store.checkpoint().unwrap();
    drop(store);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&env.data.path).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 10_000);
    for needle in names.iter().chain(["Xanthippe", "MRN-PT-1"].iter()) {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} found in plaintext"
        );
    }
}

#[test]
fn proofs_verify_against_signed_checkpoints() {
    for env in envs("proofs") {
        let store = init(&env);
        let p = patient("MRN-6001", "Larkspur", "Evander");
        store.add_patient(&op(), &p).unwrap();
        for _ in 0..9 {
            store.get_patient(&op(), p.id).unwrap();
        }
        store.checkpoint().unwrap();
        let proof = store.inclusion_proof(4, None).unwrap();
        let text = proof.to_json_string();
        labguard_audit::verify_proof_json(&text).unwrap();
        let c = store.consistency_proof(3, None).unwrap();
        labguard_audit::verify_proof_json(&c.to_json_string()).unwrap();
        let vkey = store.verifier_key().unwrap();
        let cps = store.checkpoints().unwrap();
        let key = labguard_audit::VerifierKey::parse(&vkey).unwrap();
        let cp = labguard_audit::open_checkpoint(&cps.last().unwrap().1, &key).unwrap();
        assert_eq!(cp.size, 10);
    }
}
