//! The POCT1-A2 listener over real sockets and real TLS, with labguard-poct's simulated
//! meter on the other end: a docking conversation files patient results (unknown patients
//! held) and QC, AA only after the commit; a meter resending after a lost AA is filed once;
//! the doors (certificate bound to the HEL device id, wrong protocol, allow-list) and bad
//! streams (not XML, oversize, DOCTYPE, silence).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use chrono::Utc;
use labguard_core::{Role, Staff};
use labguard_mllp::client::{tls_client_config, TlsClientConfig};
use labguard_mllp::poct_client::{connect_tls, dock};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest, Issued};
use labguard_poct::{Body, DeviceSim, Hello, Limits, Message, Observations};
use labguard_store::{Enrollment, Protocol, Store};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

fn meter_req(name: &str, legacy: bool) -> EnrollRequest {
    EnrollRequest {
        name: name.into(),
        sending_app: "GM-200".into(),
        sending_facility: String::new(),
        analytes: vec![],
        legacy_allow: legacy.then(|| vec!["127.0.0.1".parse::<IpAddr>().unwrap()]),
        protocol: Protocol::Poct,
    }
}

fn hello(device_id: &str) -> Hello {
    Hello {
        device_id: device_id.into(),
        model_id: Some("GM-200".into()),
        serial_id: Some("SN1234".into()),
        sw_version: Some("3.1.4".into()),
        ..Hello::default()
    }
}

fn observations(file: &str) -> Observations {
    match Message::parse(file.as_bytes(), &Limits::default())
        .unwrap()
        .body
    {
        Body::Observations(o) => o,
        other => panic!("not observations: {other:?}"),
    }
}

/// The meter's memory: two patients' glucose (MRN0042 known, MRN0077 not) and a QC run.
fn stored() -> Vec<Observations> {
    vec![
        observations(include_str!("../../../labguard-poct/testdata/obs_r01.xml")),
        observations(include_str!("../../../labguard-poct/testdata/obs_r02.xml")),
    ]
}

struct Fixture {
    store: Arc<Store>,
    srv: Running,
    dev: Enrollment,
    tls: Arc<TlsClientConfig>,
}

fn staff(store: &Store, username: &str, active: bool) {
    store
        .add_staff(
            &op(),
            &Staff {
                id: labguard_core::Id::new_v4(),
                username: username.into(),
                display_name: username.into(),
                role: Role::Phlebotomist,
                email: format!("{username}@lab.invalid"),
                active,
            },
        )
        .unwrap();
}

fn fixture(rt: &tokio::runtime::Runtime, env: &Env) -> Fixture {
    fixture_with(rt, env, |_| {})
}

fn fixture_with(
    rt: &tokio::runtime::Runtime,
    env: &Env,
    tune: impl FnOnce(&mut labguard_mllp::Config),
) -> Fixture {
    let store = store(env);
    add_patient(&store, "MRN0042");
    // The operator the sample readings name.
    staff(&store, "rn-7781", true);
    let (dev, issued) =
        enroll(&store, &op(), &env.data.path, &meter_req("GM-0001", false)).unwrap();
    let issued: Issued = issued.unwrap();
    let srv = rt.block_on(labguard_testkit::mllp::start_with(
        &env.data.path,
        store.clone(),
        |c| {
            c.idle_timeout = Duration::from_secs(2);
            tune(c);
        },
    ));
    let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
    let tls = tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem))).unwrap();
    Fixture {
        store,
        srv,
        dev,
        tls,
    }
}

async fn put<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> bool {
    s.write_all(bytes).await.is_ok() && s.flush().await.is_ok()
}

#[test]
fn a_docking_meter_files_results_and_qc_and_is_acknowledged_after_commit() {
    let rt = rt();
    for env in envs("poct_tls") {
        let f = fixture(&rt, &env);
        let mut sim = DeviceSim::new(hello("GM-0001"), stored());
        let s = rt
            .block_on(connect_tls(f.srv.poct_tls, "localhost", f.tls.clone()))
            .unwrap();
        let heard = rt.block_on(dock(s, &mut sim));
        assert!(
            sim.ended(),
            "{}: the host did not end the conversation: {heard:?}",
            env.name
        );
        assert_eq!(sim.accepted(), &[true, true], "{}: {heard:?}", env.name);
        assert!(sim.refusals.is_empty(), "{}: {:?}", env.name, sim.refusals);
        assert_eq!(filed(&f.store, &f.dev), 2, "{}", env.name);
        // MRN0077 is no patient of this lab: held for review, not dropped.
        let held = f.store.held_results(&op()).unwrap().len();
        assert!(
            held >= 1,
            "{}: the unknown patient's result was not held",
            env.name
        );
        // The fleet view: identity from HEL, undocked once the host has closed (written
        // after END, so waited for, bounded).
        let status = || {
            let st = f
                .store
                .device_statuses()
                .unwrap()
                .into_iter()
                .find(|s| s.device_id == f.dev.id)
                .unwrap();
            assert!(st.last_seen_at.is_some(), "{}", env.name);
            st.status.unwrap()
        };
        let mut last = status();
        for _ in 0..100 {
            if last["docked"] == false {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            last = status();
        }
        assert_eq!(last["model"], "GM-200", "{}", env.name);
        assert_eq!(last["docked"], false, "{}", env.name);

        // Docked again with the same results (its AA was lost): filed once.
        let mut again = DeviceSim::new(hello("GM-0001"), stored());
        let s = rt
            .block_on(connect_tls(f.srv.poct_tls, "localhost", f.tls.clone()))
            .unwrap();
        rt.block_on(dock(s, &mut again));
        assert_eq!(again.accepted(), &[true, true], "{}", env.name);
        assert_eq!(
            filed(&f.store, &f.dev),
            2,
            "{}: a resend was filed twice",
            env.name
        );
        let _ = f.srv.stop.send(());
    }
}

#[test]
fn readings_by_unknown_or_inactive_operators_are_held_and_alerted() {
    let rt = rt();
    let env = envs("poct_operator").remove(0);
    let f = fixture(&rt, &env);
    add_patient(&f.store, "MRN0077");
    staff(&f.store, "rn-5000", false);
    let mut obs = stored().remove(0);
    obs.services[0].operator_id = Some("RN-0000".into());
    obs.services[1].operator_id = Some("RN-5000".into());
    let mut known = stored().remove(0);
    for s in &mut known.services {
        s.observation_dttm = Some("2026-03-02T10:00:00-05:00".into());
    }
    let mut sim = DeviceSim::new(hello("GM-0001"), vec![obs, known]);
    let s = rt
        .block_on(connect_tls(f.srv.poct_tls, "localhost", f.tls.clone()))
        .unwrap();
    rt.block_on(dock(s, &mut sim));
    // Held readings are still accepted from the meter: they wait in the review queue.
    assert_eq!(sim.accepted(), &[true, true]);
    let mut reasons: Vec<Vec<String>> = f
        .store
        .held_results(&op())
        .unwrap()
        .into_iter()
        .map(|h| h.reasons)
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            vec!["operator-inactive".to_string()],
            vec!["unknown-operator".to_string()]
        ],
        "only the two readings of unknown or inactive operators are held"
    );
    let alerts = f.store.open_alerts(100).unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "results-held" && a.detail.contains("unknown-operator")),
        "{alerts:?}"
    );
    let _ = f.srv.stop.send(());
}

#[test]
fn a_certificate_speaks_only_for_its_own_meter_and_protocol() {
    let rt = rt();
    let env = envs("poct_doors").remove(0);
    let f = fixture(&rt, &env);
    // GM-0001's certificate, HEL naming another meter: refused, nothing filed.
    let mut sim = DeviceSim::new(hello("GM-9999"), stored());
    let s = rt
        .block_on(connect_tls(f.srv.poct_tls, "localhost", f.tls.clone()))
        .unwrap();
    rt.block_on(dock(s, &mut sim));
    assert_eq!(sim.accepted(), &[false, false]);
    assert_eq!(filed(&f.store, &f.dev), 0);
    assert!(alerted(&f.store, "sender-mismatch", 1));
    // An HL7 analyzer's certificate at the POCT door: closed before a byte is read.
    let (_, issued) = enroll(&f.store, &op(), &env.data.path, &tls_req("chem-1")).unwrap();
    let issued = issued.unwrap();
    let ca = DeviceCa::open_or_create(&f.store, &env.data.path).unwrap();
    let chem = tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem))).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    rt.block_on(async {
        let mut s = connect_tls(f.srv.poct_tls, "localhost", chem)
            .await
            .unwrap();
        let _ = put(&mut s, sim.start(Utc::now()).as_bytes()).await;
        assert!(closed(&mut s, 10).await);
    });
    assert!(alerted(&f.store, "wrong-protocol", 1));
    // No client certificate: the handshake fails.
    let anon = tls_client_config(ca.cert_pem(), None).unwrap();
    let refused = rt.block_on(async {
        match connect_tls(f.srv.poct_tls, "localhost", anon).await {
            Err(_) => true,
            Ok(mut s) => {
                let _ = put(&mut s, b"<HEL.R01/>").await;
                closed(&mut s, 10).await
            }
        }
    });
    assert!(refused, "a peer without a certificate was served");
    let _ = f.srv.stop.send(());
}

#[test]
fn legacy_docking_stations_are_served_only_from_their_allow_list() {
    let rt = rt();
    let env = envs("poct_legacy").remove(0);
    let f = fixture(&rt, &env);
    // Not yet listed: closed unread.
    rt.block_on(async {
        let mut s = TcpStream::connect(f.srv.poct_tcp).await.unwrap();
        let _ = put(&mut s, b"<HEL.R01/>").await;
        assert!(closed(&mut s, 10).await);
    });
    assert!(alerted(&f.store, "source-not-allowed", 1));
    let (dev, _) = enroll(&f.store, &op(), &env.data.path, &meter_req("dock-3", true)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut sim = DeviceSim::new(hello("dock-3"), stored());
    let s = rt.block_on(TcpStream::connect(f.srv.poct_tcp)).unwrap();
    rt.block_on(dock(s, &mut sim));
    assert_eq!(sim.accepted(), &[true, true]);
    assert_eq!(filed(&f.store, &dev), 2);
    let _ = f.srv.stop.send(());
}

#[test]
fn bad_streams_are_answered_or_closed_within_their_limits() {
    let rt = rt();
    let env = envs("poct_bad").remove(0);
    let f = fixture(&rt, &env);
    rt.block_on(async {
        // Not XML: closed.
        let mut s = connect_tls(f.srv.poct_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let _ = put(&mut s, b"GET / HTTP/1.1\r\n\r\n").await;
        assert!(closed(&mut s, 10).await, "non-XML stream kept open");
        // A root that never closes, past the size limit: closed.
        let mut s = connect_tls(f.srv.poct_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let _ = put(&mut s, b"<OBS.R01>").await;
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..8 {
            if !put(&mut s, &chunk).await {
                break;
            }
        }
        assert!(closed(&mut s, 10).await, "an endless message kept open");
        // A DOCTYPE (entity expansion, XXE): answered AE, nothing expanded or filed.
        let mut s = connect_tls(f.srv.poct_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE HEL.R01 [<!ENTITY a \"aaaa\">]>\
                    <HEL.R01><HDR><HDR.control_id V=\"&a;\"/></HDR></HEL.R01>";
        let _ = put(&mut s, bomb.as_bytes()).await;
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(
            reply.contains("ACK.R01") && reply.contains("V=\"AE\""),
            "{reply}"
        );
        // Silence: closed by the idle deadline (2 s here).
        let mut s = connect_tls(f.srv.poct_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        assert!(closed(&mut s, 15).await, "a silent meter kept open");
    });
    assert_eq!(filed(&f.store, &f.dev), 0);
    let _ = f.srv.stop.send(());
}

fn not_docked(store: &Store) -> usize {
    store
        .open_alerts(100)
        .unwrap()
        .iter()
        .filter(|a| a.kind == "not-docked")
        .count()
}

#[test]
fn a_meter_off_its_dock_too_long_is_alerted_once_until_it_docks() {
    let rt = rt();
    let env = envs("poct_undocked").remove(0);
    let f = fixture_with(&rt, &env, |c| {
        c.poct_dock_alert_after = chrono::TimeDelta::try_seconds(3);
    });
    // Enrolled, never docked: alerted once the time has passed (bounded wait), once only.
    let mut raised = false;
    for _ in 0..100 {
        if not_docked(&f.store) > 0 {
            raised = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(raised, "no not-docked alert for a meter never docked");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(not_docked(&f.store), 1, "the alert was raised again");
    // Docking closes it.
    let mut sim = DeviceSim::new(hello("GM-0001"), stored());
    let s = rt
        .block_on(connect_tls(f.srv.poct_tls, "localhost", f.tls.clone()))
        .unwrap();
    rt.block_on(dock(s, &mut sim));
    assert_eq!(sim.accepted(), &[true, true]);
    assert_eq!(not_docked(&f.store), 0, "docking did not close the alert");
    let _ = f.srv.stop.send(());
}
