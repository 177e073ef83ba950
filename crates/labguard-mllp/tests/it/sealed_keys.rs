//! The device CA and the MLLP server key live sealed in the store: a CA from the old layout
//! (plain `device-ca/ca.key`) is sealed on open and its file wiped, the database never holds
//! the key in clear, `keys rotate` re-seals them, and a backup restored into a fresh data
//! dir keeps the CA, so instruments enrolled before the restore still connect.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;
use labguard_mllp::{enroll, DeviceCa};
use labguard_store::{DataDir, RotateOptions, StoreOptions};
use labguard_testkit::mllp::send_tls;
use rustls_pki_types::{pem::PemObject, PrivateKeyDer};

/// A CA as the old code left it: `device-ca/ca.pem` and a plain 0600 `device-ca/ca.key`.
fn old_layout_ca(data_dir: &std::path::Path) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "labguard device CA");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = p.self_signed(&key).unwrap();
    let dir = data_dir.join("device-ca");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("ca.key"), key.serialize_pem()).unwrap();
    std::fs::set_permissions(dir.join("ca.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Every byte of the SQLite database (main file and WAL).
fn db_bytes(data: &DataDir) -> Vec<u8> {
    let mut all = std::fs::read(data.db_path()).unwrap();
    let wal = data.path.join("labguard.db-wal");
    if let Ok(w) = std::fs::read(wal) {
        all.extend(w);
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_plain_ca_key_of_the_old_layout_is_sealed_wiped_and_still_signs() {
    let rt = rt();
    for env in envs("seal_old") {
        let store = store(&env);
        add_patient(&store, "MRN-1");
        let (old_cert, old_key) = old_layout_ca(&env.data.path);
        let key_file = env.data.path.join("device-ca/ca.key");

        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        assert!(
            !key_file.exists(),
            "{}: the plain key file is still there",
            env.name
        );
        assert_eq!(ca.cert_pem(), old_cert, "{}: the CA changed", env.name);

        // The migrated CA signs: an instrument enrolled now passes the handshake against a
        // listener whose trust root is the old CA certificate.
        let (dev, issued) = enroll(&store, &op(), &env.data.path, &tls_req("chem-1")).unwrap();
        let issued = issued.unwrap();
        let srv = rt.block_on(start(&env, store.clone()));
        assert_eq!(
            send_tls(
                &rt,
                srv.tls,
                &old_cert,
                (&issued.cert_pem, &issued.key_pem),
                "S1"
            )
            .as_deref(),
            Some("AA"),
            "{}",
            env.name
        );
        assert!(store.has_message(dev.id, "S1").unwrap());
        // The MLLP server key was sealed too: no server.key beside the CA.
        assert!(!env.data.path.join("device-ca/server.key").exists());

        // Opening again (a restart) uses the sealed key, not a new CA.
        let again = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        assert_eq!(again.cert_pem(), old_cert);

        if env.name == "sqlite" {
            let bytes = db_bytes(&env.data);
            assert!(
                !contains(&bytes, b"PRIVATE KEY"),
                "PEM armour in the database"
            );
            let der = match PrivateKeyDer::from_pem_slice(old_key.as_bytes()).unwrap() {
                PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
                _ => panic!("rcgen writes PKCS#8"),
            };
            assert!(!contains(&bytes, &der), "raw CA key bytes in the database");
            let b64_line = old_key.lines().nth(1).unwrap();
            assert!(
                !contains(&bytes, b64_line.as_bytes()),
                "base64 key text in the database"
            );
        }
        let _ = srv.stop.send(());
    }
}

#[test]
fn a_key_file_that_is_not_the_sealed_key_is_refused_not_destroyed() {
    for env in envs("seal_other") {
        let store = store(&env);
        DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        let dir = env.data.path.join("elsewhere");
        let (_, other_key) = old_layout_ca(&dir);
        std::fs::copy(
            dir.join("device-ca/ca.key"),
            env.data.path.join("device-ca/ca.key"),
        )
        .unwrap();
        let err = DeviceCa::open_or_create(&store, &env.data.path)
            .err()
            .unwrap();
        assert!(err.to_string().contains("not the key sealed"), "{err}");
        let left = std::fs::read_to_string(env.data.path.join("device-ca/ca.key")).unwrap();
        assert_eq!(left, other_key);
    }
}

#[test]
fn keys_rotate_reseals_the_tls_keys() {
    for env in envs("seal_rotate") {
        let store = store(&env);
        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        ca.server_identity(&store, &["localhost".into()]).unwrap();
        let before = store.sealed_key("device-ca").unwrap().unwrap();
        let report = store
            .rotate_keys(&op(), &RotateOptions::default(), &mut |_, _| {})
            .unwrap();
        assert!(report.finished);
        // Old key versions are destroyed by the rotation, so the keys opening now proves
        // they were re-sealed under the new one.
        drop(store);
        let store = env.data.open(StoreOptions::default()).unwrap();
        let after = store.sealed_key("device-ca").unwrap().unwrap();
        assert_eq!(*after.key_pem, *before.key_pem, "{}", env.name);
        assert_eq!(after.cert_pem, before.cert_pem);
        assert!(store.sealed_key("mllp-server").unwrap().is_some());
        let again = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        assert_eq!(again.cert_pem(), ca.cert_pem());
    }
}

#[test]
fn a_restored_backup_keeps_the_ca_and_enrolled_devices_still_connect() {
    use age::secrecy::ExposeSecret;
    let rt = rt();
    for env in envs("seal_backup") {
        let store = store(&env);
        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        let (_, issued) = enroll(&store, &op(), &env.data.path, &tls_req("chem-1")).unwrap();
        let issued = issued.unwrap();

        let id = age::x25519::Identity::generate();
        let id_file = env.dir.path().join("backup-key.txt");
        std::fs::write(&id_file, id.to_string().expose_secret()).unwrap();
        let bk = env.dir.path().join("lab.age");
        labguard_backup::create(&store, &env.data, &op(), &bk, &id.to_public().to_string())
            .unwrap();
        drop(store);

        // A fresh data dir with nothing but the restored backup.
        let target = tempfile::tempdir().unwrap();
        let restored_dir = target.path().join("restored");
        labguard_backup::restore(&bk, &id_file, &restored_dir).unwrap();
        assert!(!restored_dir.join("device-ca").exists());
        let data = DataDir::sqlite(&restored_dir);
        let restored = std::sync::Arc::new(data.open(StoreOptions::default()).unwrap());
        add_patient(&restored, "MRN-1");
        let rca = DeviceCa::open_or_create(&restored, &restored_dir).unwrap();
        assert_eq!(
            rca.cert_pem(),
            ca.cert_pem(),
            "{}: the CA changed on restore",
            env.name
        );

        let renv = Env {
            name: "restored",
            dir: target,
            data,
        };
        let srv = rt.block_on(start(&renv, restored.clone()));
        assert_eq!(
            send_tls(
                &rt,
                srv.tls,
                ca.cert_pem(),
                (&issued.cert_pem, &issued.key_pem),
                "R1"
            )
            .as_deref(),
            Some("AA"),
            "{}: a device enrolled before the restore was refused",
            env.name
        );
        let _ = srv.stop.send(());
    }
}
