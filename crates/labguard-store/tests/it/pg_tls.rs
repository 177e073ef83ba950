//! PostgreSQL over real TLS: a throw-away cluster (initdb from Debian's PostgreSQL) with a
//! server certificate for `localhost` from a CA made here, `hostssl` only in pg_hba. The
//! store's sslmode policy is checked against the wire, not against its own configuration.
//!
//! Needs `initdb` (scripts/test.sh installs the `postgresql` package). Set
//! `LABGUARD_SKIP_PG_TLS=1` to skip on a machine without it; otherwise a missing initdb fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use labguard_store::testing::PgBackend;
use labguard_store::SslMode;
use labguard_testkit::free_port;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

fn initdb_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Runs a PostgreSQL binary as the `postgres` user when we are root (initdb refuses root).
fn pg_cmd(bin: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

struct Cluster {
    bin: PathBuf,
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    ca_pem: PathBuf,
    other_ca_pem: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = pg_cmd(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["stop", "-m", "immediate", "-s"])
            .status();
    }
}

fn ca() -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "labguard test PostgreSQL CA");
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(p, key))
}

fn start() -> Option<Cluster> {
    let Some(bin) = initdb_dir() else {
        assert!(
            std::env::var("LABGUARD_SKIP_PG_TLS").is_ok(),
            "initdb not found under /usr/lib/postgresql/*/bin: install Debian's `postgresql` \
             package (scripts/test.sh does) or set LABGUARD_SKIP_PG_TLS=1"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pgdata");
    let (ca_pem, issuer) = ca();
    let (other_pem, _) = ca();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let ca_path = write("ca.pem", &ca_pem);
    let other_path = write("other-ca.pem", &other_pem);
    let crt = write("server.crt", &server.pem());
    let key = write("server.key", &server_key.serialize_pem());
    if running_as_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown to postgres");
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = pg_cmd(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let conf = format!(
        "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sock}'\n\
         ssl = on\nssl_cert_file = '{crt}'\nssl_key_file = '{key}'\nfsync = off\n",
        sock = dir.path().display(),
        crt = crt.display(),
        key = key.display(),
    );
    let mut pgconf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    pgconf.push_str(&conf);
    std::fs::write(data.join("postgresql.conf"), pgconf).unwrap();
    // TLS or nothing: a plain connection is refused by the server itself.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    let cluster = Cluster {
        bin: bin.clone(),
        _dir: dir,
        data: data.clone(),
        port,
        ca_pem: ca_path,
        other_ca_pem: other_path,
    };
    let log = data.join("server.log");
    let out = pg_cmd(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "60", "start"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_ctl start: {} {}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cluster did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(cluster)
}

impl Cluster {
    /// `host=localhost` names the certificate; `hostaddr` pins IPv4, where the server listens.
    fn url(&self, host: &str, params: &str) -> String {
        format!(
            "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=10 {params}",
            self.port
        )
    }
}

fn err_text(r: Result<PgBackend, labguard_store::StoreError>) -> String {
    match r {
        Ok(_) => panic!("connection should have been refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn postgres_over_real_tls_follows_sslmode() {
    let Some(c) = start() else { return };
    let ca = c.ca_pem.display().to_string();
    let other = c.other_ca_pem.display().to_string();

    // verify-full with the right CA and the certificate's name: TLS on the wire.
    let pg = PgBackend::connect(
        &c.url(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        None,
    )
    .unwrap();
    assert_eq!(pg.ssl_mode(), SslMode::VerifyFull);
    assert!(pg.connection_uses_tls().unwrap(), "pg_stat_ssl says plain");

    // A certificate from another CA is refused, and the error names TLS, not the URL.
    let e = err_text(PgBackend::connect(
        &c.url(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={other}"),
        ),
        None,
    ));
    assert!(!e.contains("user=postgres"), "error quotes the URL: {e}");
    assert!(
        e.to_lowercase().contains("certificate") || e.to_lowercase().contains("tls"),
        "{e}"
    );
    let e = err_text(PgBackend::connect(
        &c.url(
            "localhost",
            &format!("sslmode=verify-ca sslrootcert={other}"),
        ),
        None,
    ));
    assert!(e.to_lowercase().contains("certificate"), "{e}");

    // The certificate names localhost only: an address is refused under verify-full ...
    let by_ip = |mode: &str| {
        PgBackend::connect(
            &format!(
                "postgres://postgres@127.0.0.1:{}/postgres?sslmode={mode}&sslrootcert={ca}",
                c.port
            ),
            None,
        )
    };
    let e = err_text(by_ip("verify-full"));
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // ... and accepted under verify-ca, which checks the chain only.
    let pg = by_ip("verify-ca").unwrap();
    assert_eq!(pg.ssl_mode(), SslMode::VerifyCa);
    assert!(pg.connection_uses_tls().unwrap());

    // require + sslrootcert checks the chain, as libpq does: the wrong CA is refused.
    let e = err_text(PgBackend::connect(
        &c.url("localhost", &format!("sslmode=require sslrootcert={other}")),
        None,
    ));
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // require without a root: encrypted, unchecked.
    let pg = PgBackend::connect(&c.url("localhost", "sslmode=require"), None).unwrap();
    assert!(pg.connection_uses_tls().unwrap());

    // Plain text is refused by the server (hostnossl reject), with pg_hba named.
    let e = err_text(PgBackend::connect(
        &c.url("localhost", "sslmode=disable"),
        None,
    ));
    assert!(e.contains("pg_hba") || e.contains("rejects"), "{e}");

    // The default for a local host is no TLS: against this server that is refused too,
    // which is what a lab that turns on hostssl-only sees until it sets sslmode.
    assert!(PgBackend::connect(&c.url("localhost", ""), None).is_err());

    // A store opens and works over the TLS connection (schema, migrations, a write).
    let dir = tempfile::tempdir().unwrap();
    let data = labguard_store::DataDir::postgres(
        dir.path().join("data"),
        &c.url(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        Some("tls_store"),
    );
    data.init(Default::default()).unwrap();
    let store = data.open(Default::default()).unwrap();
    store.verify(&mut |_, _| {}).unwrap();
}
