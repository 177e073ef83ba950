//! The self-signed HTTPS key is sealed in the store: a pair left in the data dir by the old
//! layout is sealed on first use and its plain key file wiped; later starts reuse it.

use labguard_server::tls::{sealed_self_signed, server_config_pem, CERT_FILE, KEY_FILE};
use labguard_store::{DataDir, StoreOptions};

#[test]
fn an_old_plain_https_key_is_sealed_and_its_file_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::sqlite(dir.path().join("data"));
    let store = data.init(StoreOptions::default()).unwrap();
    let old = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(data.path.join(CERT_FILE), old.cert.pem()).unwrap();
    std::fs::write(data.path.join(KEY_FILE), old.signing_key.serialize_pem()).unwrap();

    let k = sealed_self_signed(&store, &data.path).unwrap();
    assert!(
        !data.path.join(KEY_FILE).exists(),
        "plain key file left behind"
    );
    assert_eq!(k.cert_pem, old.cert.pem());
    assert_eq!(*k.key_pem, old.signing_key.serialize_pem());
    server_config_pem(&k.cert_pem, &k.key_pem).unwrap();

    // A restart: the same sealed pair, no new file.
    drop(store);
    let store = data.open(StoreOptions::default()).unwrap();
    let again = sealed_self_signed(&store, &data.path).unwrap();
    assert_eq!(again.cert_pem, old.cert.pem());
    assert!(!data.path.join(KEY_FILE).exists());
    let db = std::fs::read(data.db_path()).unwrap();
    assert!(!db.windows(11).any(|w| w == b"PRIVATE KEY"));
}
