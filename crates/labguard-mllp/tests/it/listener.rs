//! The listener over real sockets: mutual TLS (enrolled, no certificate, another CA,
//! revoked), legacy plain TCP driven by the Python `hl7` package's `mllp_send`, duplicates,
//! holds, mismatched senders and broken framing.

use std::net::IpAddr;
use std::process::Command;

use crate::common::*;
use labguard_mllp::client::{ack_code, tls_client_config, Client};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn mutual_tls_admits_only_enrolled_unrevoked_devices() {
    let rt = rt();
    for env in envs("mtls") {
        let store = store(&env);
        add_patient(&store, "MRN-1");
        let (dev, issued) = enroll(&store, &op(), &env.data.path, &tls_req("chem-1")).unwrap();
        let issued = issued.unwrap();
        let srv = rt.block_on(start(&env, store.clone()));
        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        let ca_pem = ca.cert_pem().to_string();

        // Enrolled: AA, and the message and result are stored.
        let cfg = tls_client_config(&ca_pem, Some((&issued.cert_pem, &issued.key_pem))).unwrap();
        let mut c = rt
            .block_on(Client::tls(srv.tls, "localhost", cfg.clone()))
            .unwrap();
        let ack = rt
            .block_on(c.send(oru("M1", "MRN-1", "95").as_bytes()))
            .unwrap();
        assert_eq!(ack_code(&ack).as_deref(), Some("AA"), "{}", env.name);
        assert!(store.has_message(dev.id, "M1").unwrap());
        // A resend of the same control id: AA again, one copy.
        let ack = rt
            .block_on(c.send(oru("M1", "MRN-1", "95").as_bytes()))
            .unwrap();
        assert_eq!(ack_code(&ack).as_deref(), Some("AA"));
        assert_eq!(store.message_control_ids(dev.id).unwrap(), vec!["M1"]);
        // Bound to MSH-3/MSH-4: another sending application is refused.
        let other = oru_from(
            "HEMA",
            "CORELAB",
            "M2",
            "MRN-1",
            "2345-7^Glucose^LN",
            "90",
            "mg/dL",
        );
        let ack = rt.block_on(c.send(other.as_bytes())).unwrap();
        assert_eq!(ack_code(&ack).as_deref(), Some("AR"));
        assert!(!store.has_message(dev.id, "M2").unwrap());

        // No client certificate: the handshake or the first exchange fails.
        let anon = tls_client_config(&ca_pem, None).unwrap();
        assert!(
            rt.block_on(exchange(srv.tls, anon)).is_err(),
            "{}: no cert",
            env.name
        );

        // A certificate from another CA.
        let rogue = DeviceCa::unsaved().unwrap();
        let fake = rogue.issue_device("chem-1").unwrap();
        let cfg2 = tls_client_config(&ca_pem, Some((&fake.cert_pem, &fake.key_pem))).unwrap();
        assert!(
            rt.block_on(exchange(srv.tls, cfg2)).is_err(),
            "{}: other CA",
            env.name
        );

        // Revoked: the open connection is dropped, and new ones fail.
        store.revoke_instrument(&op(), "chem-1").unwrap();
        let closed = rt.block_on(async {
            let wait = async {
                loop {
                    match c.send(oru("M3", "MRN-1", "95").as_bytes()).await {
                        Err(_) => return true,
                        Ok(a) if ack_code(&a).as_deref() == Some("AR") => {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                        Ok(_) => return false,
                    }
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(30), wait)
                .await
                .unwrap_or(false)
        });
        assert!(closed, "{}: revoked connection stayed open", env.name);
        assert!(!store.has_message(dev.id, "M3").unwrap());
        assert!(
            rt.block_on(exchange(srv.tls, cfg)).is_err(),
            "{}: revoked",
            env.name
        );
        let _ = srv.stop.send(());
    }
}

/// Connects and sends one message; Ok only if an AA came back.
async fn exchange(
    addr: std::net::SocketAddr,
    cfg: std::sync::Arc<rustls::ClientConfig>,
) -> Result<(), String> {
    let mut c = Client::tls(addr, "localhost", cfg)
        .await
        .map_err(|e| e.to_string())?;
    let ack = c
        .send(oru("X1", "MRN-1", "95").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    match ack_code(&ack).as_deref() {
        Some("AA") => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// MSH-3, MSH-4 (namespace ids) and MSH-10 of a corpus file.
fn header(text: &str) -> (String, String, String) {
    let msh = text
        .trim_start_matches('\u{feff}')
        .split(['\r', '\n'])
        .next()
        .unwrap()
        .to_string();
    let f: Vec<&str> = msh.split('|').collect();
    let ns = |s: &str| s.split('^').next().unwrap_or("").to_string();
    (ns(f[2]), ns(f[3]), f[9].to_string())
}

/// mllp_send's answer, or None when the listener closed the connection without one.
fn mllp_send(port: u16, file: &std::path::Path) -> Option<String> {
    let out = Command::new("mllp_send")
        .args(["--loose", "--port", &port.to_string(), "--file"])
        .arg(file)
        .arg("127.0.0.1")
        .output()
        .expect("mllp_send (pip install hl7) must be installed");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).replace('\r', "\n"))
}

#[test]
fn python_mllp_send_gets_aa_from_enrolled_legacy_devices_and_ar_otherwise() {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labguard-hl7/testdata/hl7");
    let files = ["LAB-ORU-1.hl7", "ORU-R01-01.hl7", "OUL-R22-01.hl7"];
    let rt = rt();
    for env in envs("pysend") {
        let store = store(&env);
        let srv = rt.block_on(start(&env, store.clone()));
        let port = srv.tcp.port();
        // Nothing enrolled for this address yet: closed at accept, before the message is
        // read (no ACK at all), and nothing stored.
        let first = corpus.join(files[0]);
        let out = mllp_send(port, &first);
        assert!(
            out.as_deref().is_none_or(|o| !o.contains("MSA|")),
            "{}: {out:?}",
            env.name
        );
        assert_eq!(store.instrument_counts().unwrap().0, 0);

        for f in files {
            let path = corpus.join(f);
            let (app, fac, _) = header(&std::fs::read_to_string(&path).unwrap());
            let req = EnrollRequest {
                name: format!("legacy-{f}"),
                sending_app: app,
                sending_facility: fac,
                analytes: vec![],
                legacy_allow: Some(vec!["127.0.0.1".parse::<IpAddr>().unwrap()]),
                protocol: labguard_store::Protocol::Hl7,
            };
            let (e, cert) = enroll(&store, &op(), &env.data.path, &req).unwrap();
            assert!(cert.is_none() && e.weaker_control());
        }
        // The listener re-reads enrollments; wait until it admits the first file. A file
        // asking for enhanced-mode accept acknowledgments (MSH-15 AL) gets a commit accept
        // (CA) first; original mode, or MSH-15 NE with MSH-16 AL, gets AA.
        let mut stored = 0;
        for f in files {
            let path = corpus.join(f);
            let text = std::fs::read_to_string(&path).unwrap();
            let (_, _, control) = header(&text);
            let msh15 = text
                .trim_start_matches('\u{feff}')
                .split(['\r', '\n'])
                .next()
                .and_then(|m| m.split('|').nth(14).map(str::to_string))
                .unwrap_or_default();
            let want = if matches!(msh15.as_str(), "AL" | "SU") {
                format!("MSA|CA|{control}")
            } else {
                format!("MSA|AA|{control}")
            };
            let mut out = String::new();
            for _ in 0..100 {
                let p = path.clone();
                out = mllp_send(port, &p).unwrap_or_default();
                if out.contains(&want) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            assert!(out.contains(&want), "{}: {f}: {out}", env.name);
            stored += 1;
        }
        // Each original stored once, however many times it was resent.
        assert_eq!(store.instrument_counts().unwrap().0, stored);
        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();
        let _ = srv.stop.send(());
    }
}

#[test]
fn implausible_results_are_held_and_bad_framing_closes_only_that_connection() {
    let rt = rt();
    for env in envs("holds") {
        let store = store(&env);
        add_patient(&store, "MRN-5");
        let (_, issued) = enroll(&store, &op(), &env.data.path, &tls_req("chem-5")).unwrap();
        let issued = issued.unwrap();
        let srv = rt.block_on(start(&env, store.clone()));
        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        let cfg =
            tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem))).unwrap();
        let mut c = rt.block_on(Client::tls(srv.tls, "localhost", cfg)).unwrap();
        let cases = [
            (
                "H1",
                "2345-7^Glucose^LN",
                "9000",
                "mg/dL",
                "outside-physiologic-limits",
            ),
            ("H2", "2345-7^Glucose^LN", "95", "g/L", "wrong-units"),
            (
                "H3",
                "2823-3^Potassium^LN",
                "4.1",
                "mmol/L",
                "analyte-not-registered",
            ),
        ];
        for (control, code, value, units, _) in cases {
            let m = oru_from("CHEM", "CORELAB", control, "MRN-5", code, value, units);
            let ack = rt.block_on(c.send(m.as_bytes())).unwrap();
            assert_eq!(
                ack_code(&ack).as_deref(),
                Some("AA"),
                "{}: {control}",
                env.name
            );
        }
        let held = store.held_results(&op()).unwrap();
        let mut got: Vec<String> = held.iter().flat_map(|h| h.reasons.clone()).collect();
        got.sort();
        let mut want: Vec<String> = cases.iter().map(|c| c.4.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{}", env.name);
        assert_eq!(store.open_alerts(10).unwrap().len(), 3);

        // Garbage between frames: that connection is closed; the listener keeps serving.
        let n = rt.block_on(async {
            let mut raw = tokio::net::TcpStream::connect(srv.tcp).await.unwrap();
            raw.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
            let mut buf = [0u8; 16];
            tokio::time::timeout(std::time::Duration::from_secs(30), raw.read(&mut buf))
                .await
                .unwrap()
                .unwrap_or(0)
        });
        assert_eq!(n, 0, "the connection should be closed");
        let ack = rt
            .block_on(c.send(oru("H4", "MRN-5", "96").as_bytes()))
            .unwrap();
        assert_eq!(ack_code(&ack).as_deref(), Some("AA"));
        assert_eq!(store.instrument_counts().unwrap().0, 4);
        let _ = srv.stop.send(());
    }
}

#[test]
fn oversize_messages_and_idle_connections_are_closed() {
    let rt = rt();
    let env = envs("limits").remove(0);
    let store = store(&env);
    let srv = rt.block_on(async {
        let mut cfg = labguard_mllp::Config::new(&env.data.path);
        cfg.tcp_listen = Some("127.0.0.1:0".parse().unwrap());
        cfg.max_message_size = 1024;
        cfg.idle_timeout = std::time::Duration::from_millis(200);
        let server = labguard_mllp::Server::bind(store.clone(), cfg)
            .await
            .unwrap();
        let addr = server.tcp_addr().unwrap();
        tokio::spawn(server.run(std::future::pending()));
        addr
    });
    let closed = |payload: Vec<u8>| {
        rt.block_on(async {
            let mut s = tokio::net::TcpStream::connect(srv).await.unwrap();
            s.write_all(&payload).await.unwrap();
            let mut buf = [0u8; 16];
            // Bounds a hang only: the server must close the connection by itself.
            tokio::time::timeout(std::time::Duration::from_secs(30), s.read(&mut buf))
                .await
                .map(|r| r.unwrap_or(0) == 0)
                .unwrap_or(false)
        })
    };
    let mut big = vec![0x0b];
    big.extend(std::iter::repeat_n(b'A', 4096));
    assert!(closed(big), "an oversize message must close the connection");
    assert!(closed(Vec::new()), "an idle connection must be closed");
    assert_eq!(store.instrument_counts().unwrap(), (0, 0));
}

/// MSA-2 of an ACK: the control id it acknowledges.
fn acked_control(ack: &[u8]) -> String {
    let text = String::from_utf8_lossy(ack);
    let msa = text.split('\r').find(|s| s.starts_with("MSA")).unwrap();
    msa.split('|').nth(2).unwrap().to_string()
}

#[test]
fn enhanced_mode_senders_get_the_acknowledgments_they_ask_for() {
    let rt = rt();
    for env in envs("enhanced") {
        let store = store(&env);
        add_patient(&store, "MRN-1");
        let (dev, issued) = enroll(&store, &op(), &env.data.path, &tls_req("chem-1")).unwrap();
        let issued = issued.unwrap();
        let srv = rt.block_on(start(&env, store.clone()));
        let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
        let cfg =
            tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem))).unwrap();
        let enhanced = |control: &str, accept: &str, app: &str| {
            oru(control, "MRN-1", "95").replacen(
                "|P|2.5.1\r",
                &format!("|P|2.5.1|||{accept}|{app}\r"),
                1,
            )
        };
        rt.block_on(async {
            let mut c = Client::tls(srv.tls, "localhost", cfg).await.unwrap();
            // AL/AL: the commit accept once stored, then the application accept.
            let first = c.send(enhanced("E1", "AL", "AL").as_bytes()).await.unwrap();
            assert_eq!(ack_code(&first).as_deref(), Some("CA"), "{}", env.name);
            let second = c.recv().await.unwrap();
            assert_eq!(ack_code(&second).as_deref(), Some("AA"));
            assert_eq!(acked_control(&second), "E1");
            // AL/NE: only the commit accept; the next answer belongs to the next message.
            let only = c.send(enhanced("E2", "AL", "NE").as_bytes()).await.unwrap();
            assert_eq!(ack_code(&only).as_deref(), Some("CA"));
            let next = c.send(oru("E3", "MRN-1", "95").as_bytes()).await.unwrap();
            assert_eq!(
                (ack_code(&next).as_deref(), acked_control(&next).as_str()),
                (Some("AA"), "E3")
            );
            // NE/AL: no commit ACK, just the application accept.
            let app = c.send(enhanced("E4", "NE", "AL").as_bytes()).await.unwrap();
            assert_eq!(
                (ack_code(&app).as_deref(), acked_control(&app).as_str()),
                (Some("AA"), "E4")
            );
            // A refused sender in enhanced mode gets a commit reject.
            let wrong = enhanced("E5", "AL", "AL").replacen("|CHEM|", "|HEMA|", 1);
            let cr = c.send(wrong.as_bytes()).await.unwrap();
            assert_eq!(ack_code(&cr).as_deref(), Some("CR"));
        });
        // The store is synchronous: check it outside the async block.
        let mut ids = store.message_control_ids(dev.id).unwrap();
        ids.sort();
        assert_eq!(ids, vec!["E1", "E2", "E3", "E4"], "{}", env.name);
        let _ = srv.stop.send(());
    }
}
