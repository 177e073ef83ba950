//! The exposure check against servers this test starts on 127.0.0.1: a plain listener
//! playing telnet, a plain listener on an HL7 port, a TLS 1.3-only server, a closed port.

use std::sync::Arc;
use std::time::Duration;

use labguard_devices::exposure::{classify, ExposureLevel, PortSpec, Service};
use labguard_mllp::exposure::{scan, ScanOptions};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

async fn plain() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            // Hold the socket briefly, like a service waiting for a login.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                drop(s);
            });
        }
    });
    port
}

async fn tls13_only() -> u16 {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let a = acceptor.clone();
            tokio::spawn(async move {
                let _ = a.accept(s).await;
            });
        }
    });
    port
}

async fn closed() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn reports_risky_services_and_tls_versions() {
    let telnet = plain().await;
    let hl7 = plain().await;
    let https = tls13_only().await;
    let ftp = closed().await;
    let opts = ScanOptions {
        ports: vec![
            PortSpec {
                port: telnet,
                service: Service::Telnet,
            },
            PortSpec {
                port: hl7,
                service: Service::Hl7Mllp,
            },
            PortSpec {
                port: https,
                service: Service::Https,
            },
            PortSpec {
                port: ftp,
                service: Service::Ftp,
            },
        ],
        timeout: Duration::from_secs(2),
    };
    let obs = scan("127.0.0.1", &opts).await.unwrap();
    let open: Vec<bool> = obs.iter().map(|o| o.open).collect();
    assert_eq!(open, [true, true, true, false]);
    let tls = obs[2].tls.unwrap();
    assert!(tls.tls13, "TLS 1.3 handshake should complete");
    assert!(!tls.tls12, "the server refuses TLS 1.2");
    assert!(obs[1].tls.unwrap().none());

    let findings = classify(&obs);
    let got: Vec<(u16, ExposureLevel)> = findings.iter().map(|f| (f.port, f.level)).collect();
    let mut want = vec![(telnet, ExposureLevel::High), (hl7, ExposureLevel::High)];
    want.sort_by_key(|(p, _)| *p);
    want.push((https, ExposureLevel::Info));
    assert_eq!(got, want);
    assert!(findings
        .iter()
        .any(|f| f.issue.contains("plain TCP without TLS")));
    assert_eq!(findings.last().unwrap().issue, "accepts TLS 1.3");
}
