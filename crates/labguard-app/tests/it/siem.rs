//! The SIEM forwarder against a real TLS syslog receiver (Python, in siem_recv.rs), real
//! sockets and a real store on SQLite and PostgreSQL.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use labguard_app::siem::{ForwardOptions, Forwarder, JsonLines, Step, TlsSyslog, TlsSyslogConfig};
use labguard_core::{Id, Patient, Sex};
use labguard_store::{Actor, Store};
use labguard_testkit::{free_port, raw};

use crate::common::{envs, nodes};
use crate::siem_recv::{client_cert, ids, pki, received, received_through, start, Pki};

fn patient(mrn: &str, family: &str) -> Patient {
    Patient {
        id: Id::new_v4(),
        mrn: mrn.into(),
        family: family.into(),
        given: "Philippa".into(),
        birth_date: NaiveDate::from_ymd_opt(1971, 3, 14).unwrap(),
        sex: Sex::Female,
        phone: Some("+1 555 0100".into()),
        email: Some("someone@example.org".into()),
        address: None,
    }
}

fn add(store: &Store, n: usize) -> Vec<Patient> {
    (0..n)
        .map(|i| {
            let p = patient(
                &format!("MRN-{}", Id::new_v4().simple()),
                &format!("Zabriskie{i}"),
            );
            store.add_patient(&Actor::operator(), &p).unwrap();
            p
        })
        .collect()
}

fn opts() -> ForwardOptions {
    ForwardOptions {
        batch: 16,
        poll: Duration::from_millis(20),
        retry: Duration::from_millis(20),
        backlog_after: Duration::ZERO,
        ..ForwardOptions::default()
    }
}

fn syslog(port: u16, ca: &Path, client: Option<(Vec<u8>, Vec<u8>)>) -> TlsSyslog {
    TlsSyslog::new(TlsSyslogConfig {
        addr: format!("localhost:{port}"),
        ca_pem: std::fs::read(ca).unwrap(),
        client,
        hostname: "lab-node-1".into(),
        connect_timeout: Duration::from_secs(3),
        write_timeout: Duration::from_secs(3),
    })
    .unwrap()
}

fn forwarder(store: &Arc<Store>, port: u16, pki: &Pki, o: ForwardOptions) -> Forwarder {
    Forwarder::new(store.clone(), Box::new(syslog(port, &pki.ca, None)), o)
}

/// Steps until everything in the log is delivered.
fn drain(f: &mut Forwarder, store: &Store, sink: &str) {
    for _ in 0..10_000 {
        match f.step().unwrap() {
            Step::Sent(_) => {}
            Step::Idle => {
                let st = store.siem_status(sink).unwrap();
                if st.audit_next == st.audit_size {
                    return;
                }
            }
            Step::Down { .. } => panic!("collector down"),
        }
    }
    panic!("did not drain");
}

/// The receiver got audit entries 0..n exactly once, in order, and no id twice.
fn assert_exactly_once(out: &Path, store: &Store) -> Vec<String> {
    let st = store.siem_status("syslog").unwrap();
    let msgs = received_through(out, st.audit_next - 1);
    let ids = ids(&msgs);
    if std::env::var("SIEM_DEBUG").is_ok() {
        eprintln!("{ids:?}");
    }
    let mut seen = std::collections::HashSet::new();
    for id in &ids {
        assert!(seen.insert(id.clone()), "{id} received twice");
    }
    let audit: Vec<u64> = ids
        .iter()
        .filter_map(|i| i.strip_prefix("audit-"))
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(audit, (0..st.audit_next).collect::<Vec<_>>());
    assert_eq!(st.audit_next, st.audit_size);
    msgs
}

fn count_alerts(store_env: &crate::common::Env, kind: &str) -> i64 {
    raw(
        &store_env.data,
        "SELECT COUNT(*) FROM alerts WHERE kind = ?",
        &[kind.into()],
    )[0][0]
        .as_int()
        .unwrap()
}

#[test]
fn every_entry_reaches_the_collector_once_in_order_across_restarts() {
    for env in envs("siem_once") {
        let store = Arc::new(nodes(&env, 1).remove(0));
        let pki = pki("siem test CA");
        let out = pki.dir.path().join("got");
        let port = free_port();
        let _rx = start(port, &pki, &out, "tls", None);
        add(&store, 20);
        // The forwarder as serve runs it: a thread, stopped mid-stream, started again.
        for round in 0..3 {
            let stop = Arc::new(AtomicBool::new(false));
            let h = labguard_app::siem::spawn(
                forwarder(&store, port, &pki, opts()),
                Actor::operator(),
                stop.clone(),
                |e| panic!("{e}"),
            );
            add(&store, 15);
            std::thread::sleep(Duration::from_millis(30 * round));
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            h.join().unwrap().unwrap();
        }
        let mut f = forwarder(&store, port, &pki, opts());
        drain(&mut f, &store, "syslog");
        let msgs = assert_exactly_once(&out, &store);
        assert!(msgs.len() > 60, "{}", msgs.len());
        let first = &msgs[0];
        assert!(
            first.starts_with("<110>1 ") || first.starts_with("<109>1 "),
            "{first}"
        );
        assert!(first.contains(" lab-node-1 labguard "), "{first}");
    }
}

#[test]
fn a_collector_outage_spools_raises_one_backlog_alert_and_drains_in_order() {
    for env in envs("siem_outage") {
        let store = Arc::new(nodes(&env, 1).remove(0));
        let pki = pki("siem test CA");
        let out = pki.dir.path().join("got");
        let port = free_port();
        let rx = start(port, &pki, &out, "tls", None);
        add(&store, 5);
        let mut f = forwarder(&store, port, &pki, opts());
        store.siem_start(&Actor::operator(), "syslog").unwrap();
        drain(&mut f, &store, "syslog");
        let before =
            received_through(&out, store.siem_status("syslog").unwrap().audit_next - 1).len();
        drop(rx);
        add(&store, 30);
        for _ in 0..10 {
            assert!(matches!(f.step().unwrap(), Step::Down { .. }));
        }
        let st = store.siem_status("syslog").unwrap();
        assert!(
            st.backlog && st.spool_bytes > 0 && st.delivered < st.spool_next,
            "{st:?}"
        );
        assert_eq!(count_alerts(&env, "siem-backlog"), 1, "raised once");
        assert_eq!(received(&out).len(), before);
        let _rx = start(port, &pki, &out, "tls", None);
        drain(&mut f, &store, "syslog");
        let msgs = assert_exactly_once(&out, &store);
        assert_eq!(count_alerts(&env, "siem-recovered"), 1);
        assert!(msgs.iter().any(|m| m.contains("kind=\"siem-backlog\"")));
        let st = store.siem_status("syslog").unwrap();
        assert!(!st.backlog && st.spool_bytes == 0, "{st:?}");
    }
}

#[test]
fn a_full_spool_pauses_spooling_and_drops_nothing() {
    for env in envs("siem_full") {
        let store = Arc::new(nodes(&env, 1).remove(0));
        let pki = pki("siem test CA");
        let out = pki.dir.path().join("got");
        let port = free_port(); // nothing listens yet
        add(&store, 40);
        let cap = 4096;
        let mut f = forwarder(
            &store,
            port,
            &pki,
            ForwardOptions {
                spool_cap: cap,
                ..opts()
            },
        );
        store.siem_start(&Actor::operator(), "syslog").unwrap();
        let mut full = false;
        for _ in 0..20 {
            if let Step::Down { full: true } = f.step().unwrap() {
                full = true;
            }
        }
        assert!(full);
        let st = store.siem_status("syslog").unwrap();
        assert!(st.spool_bytes <= cap, "{st:?}");
        assert!(
            st.audit_next < st.audit_size,
            "paused behind the log: {st:?}"
        );
        assert_eq!(count_alerts(&env, "siem-backlog"), 1);
        let _rx = start(port, &pki, &out, "tls", None);
        drain(&mut f, &store, "syslog");
        assert_exactly_once(&out, &store);
    }
}

#[test]
fn collectors_with_a_foreign_certificate_or_only_tls_1_1_are_refused() {
    let pki_ok = pki("siem test CA");
    let rogue = pki("rogue CA");
    let out = rogue.dir.path().join("got");
    let port = free_port();
    let _rx = start(port, &rogue, &out, "tls", None);
    let e = syslog(port, &pki_ok.ca, None).connect().unwrap_err();
    assert!(
        e.to_string().contains("certificate") || e.to_string().contains("Unknown"),
        "{e}"
    );
    let env = &envs("siem_refuse")[0];
    let store = Arc::new(nodes(env, 1).remove(0));
    store.siem_start(&Actor::operator(), "syslog").unwrap();
    let mut f = Forwarder::new(
        store.clone(),
        Box::new(syslog(port, &pki_ok.ca, None)),
        opts(),
    );
    assert!(matches!(f.step().unwrap(), Step::Down { .. }));
    assert!(received(&out).is_empty(), "nothing sent to the impostor");

    let old = pki_ok.dir.path().join("got-tls11");
    let port11 = free_port();
    let _rx11 = start(port11, &pki_ok, &old, "tls11", None);
    // The receiver really speaks TLS 1.1 (checked with `openssl s_client -tls1_1`); rustls
    // offers 1.2 and 1.3 only, so the handshake fails and nothing is written.
    let e = syslog(port11, &pki_ok.ca, None).connect().unwrap_err();
    assert!(e.to_string().to_lowercase().contains("protocol"), "{e}");
    assert!(received(&old).is_empty());
    // The receiver logs its side after our client already gave up: wait for it.
    let end = Instant::now() + Duration::from_secs(5);
    let mut log = String::new();
    while Instant::now() < end && !log.contains("handshake") {
        std::thread::sleep(Duration::from_millis(20));
        log = std::fs::read_to_string(old.with_extension("err")).unwrap_or_default();
    }
    assert!(
        log.contains("handshake"),
        "the receiver saw a failed handshake: {log}"
    );
}

#[test]
fn mutual_tls_sends_the_client_certificate_and_fails_without_it() {
    let pki = pki("siem test CA");
    let out = pki.dir.path().join("got");
    let port = free_port();
    let _rx = start(port, &pki, &out, "tls", Some(&pki.ca));
    let env = &envs("siem_mtls")[0];
    let store = Arc::new(nodes(env, 1).remove(0));
    add(&store, 3);
    let mut without = Forwarder::new(store.clone(), Box::new(syslog(port, &pki.ca, None)), opts());
    store.siem_start(&Actor::operator(), "syslog").unwrap();
    assert!(matches!(without.step().unwrap(), Step::Down { .. }));
    let mut with = Forwarder::new(
        store.clone(),
        Box::new(syslog(port, &pki.ca, Some(client_cert(&pki)))),
        opts(),
    );
    drain(&mut with, &store, "syslog");
    assert_exactly_once(&out, &store);
}

#[test]
fn no_name_mrn_or_patient_row_id_reaches_the_collector_or_the_json_file() {
    for env in envs("siem_phi") {
        let store = Arc::new(nodes(&env, 1).remove(0));
        let pki = pki("siem test CA");
        let out = pki.dir.path().join("got");
        let jsonl = pki.dir.path().join("events.jsonl");
        let port = free_port();
        let _rx = start(port, &pki, &out, "tls", None);
        let p = patient("MRN-SIEM-7731", "Quenneville");
        store.add_patient(&Actor::operator(), &p).unwrap();
        store.get_patient(&Actor::operator(), p.id).unwrap();
        let mut f = forwarder(&store, port, &pki, opts());
        store.siem_start(&Actor::operator(), "syslog").unwrap();
        drain(&mut f, &store, "syslog");
        assert_exactly_once(&out, &store);
        let mut j = Forwarder::new(
            store.clone(),
            Box::new(JsonLines::open(&jsonl, "lab-node-1").unwrap()),
            opts(),
        );
        store.siem_start(&Actor::operator(), "jsonl").unwrap();
        drain(&mut j, &store, "jsonl");
        let got = std::fs::read(&out).unwrap();
        let lines = std::fs::read(&jsonl).unwrap();
        let text = String::from_utf8(got.clone()).unwrap();
        assert!(
            text.contains("action=\"patient.read\""),
            "the access is there"
        );
        assert!(text.contains("patientRef=\""));
        for needle in [
            p.mrn.as_str(),
            "Quenneville",
            "Philippa",
            "1971-03-14",
            "555 0100",
            &p.id.to_string(),
            &p.id.simple().to_string(),
        ] {
            assert!(
                !labguard_testkit::contains(&got, needle),
                "{needle} in syslog"
            );
            assert!(
                !labguard_testkit::contains(&lines, needle),
                "{needle} in jsonl"
            );
        }
        for l in String::from_utf8(lines).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["app"], "labguard");
        }
    }
}

#[test]
fn two_nodes_on_postgresql_forward_each_event_once() {
    for env in envs("siem_nodes")
        .into_iter()
        .filter(|e| e.name == "postgres")
    {
        let mut ns = nodes(&env, 2);
        let b = Arc::new(ns.remove(1));
        let a = Arc::new(ns.remove(0));
        let pki = pki("siem test CA");
        let out = pki.dir.path().join("got");
        let port = free_port();
        let _rx = start(port, &pki, &out, "tls", None);
        add(&a, 10);
        let run = |store: &Arc<Store>| {
            let stop = Arc::new(AtomicBool::new(false));
            let h = labguard_app::siem::spawn(
                forwarder(store, port, &pki, opts()),
                Actor::operator(),
                stop.clone(),
                |e| panic!("{e}"),
            );
            (stop, h)
        };
        let (stop_a, ha) = run(&a);
        std::thread::sleep(Duration::from_millis(300));
        // B waits for A's lock; both nodes keep writing.
        let (stop_b, hb) = run(&b);
        add(&a, 10);
        add(&b, 10);
        std::thread::sleep(Duration::from_millis(300));
        stop_a.store(true, std::sync::atomic::Ordering::SeqCst);
        ha.join().unwrap().unwrap();
        // B takes over from the committed cursor.
        add(&b, 10);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let st = b.siem_status("syslog").unwrap();
            if st.audit_next == st.audit_size && st.delivered == st.spool_next {
                break;
            }
            assert!(Instant::now() < deadline, "{st:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        stop_b.store(true, std::sync::atomic::Ordering::SeqCst);
        hb.join().unwrap().unwrap();
        assert_exactly_once(&out, &b);
    }
}

/// Debian's rsyslog with its GnuTLS input, when installed (`apt-get install rsyslog
/// rsyslog-gnutls`): a second, independent RFC 5425 receiver.
#[test]
fn rsyslog_with_its_tls_input_receives_every_entry_once() {
    let Ok(rsyslogd) = which_rsyslogd() else {
        eprintln!("rsyslogd not installed: skipped (the Python receiver covers this)");
        return;
    };
    let env = &envs("siem_rsyslog")[0];
    let store = Arc::new(nodes(env, 1).remove(0));
    let pki = pki("siem test CA");
    let dir = pki.dir.path();
    let out = dir.join("rsyslog.out");
    let port = free_port();
    let conf = dir.join("rsyslog.conf");
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="{ca}"
  DefaultNetstreamDriverCertFile="{cert}"
  DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.Authmode="anon")
input(type="imtcp" port="{port}" address="127.0.0.1")
action(type="omfile" file="{out}" template="RSYSLOG_SyslogProtocol23Format")
"#,
            work = dir.join("work").display(),
            ca = pki.ca.display(),
            cert = pki.cert.display(),
            key = pki.key.display(),
            out = out.display(),
        ),
    )
    .unwrap();
    let _rs = labguard_testkit::KillOnDrop(
        std::process::Command::new(rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "rsyslogd did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    add(&store, 12);
    let mut f = forwarder(&store, port, &pki, opts());
    store.siem_start(&Actor::operator(), "syslog").unwrap();
    drain(&mut f, &store, "syslog");
    let st = store.siem_status("syslog").unwrap();
    let last = format!("id=\"audit-{}\"", st.audit_next - 1);
    let end = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while Instant::now() < end && !text.contains(&last) {
        std::thread::sleep(Duration::from_millis(50));
        text = std::fs::read_to_string(&out).unwrap_or_default();
    }
    std::thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let audit: Vec<u64> = ids(&lines)
        .iter()
        .filter_map(|i| i.strip_prefix("audit-").map(|s| s.parse().unwrap()))
        .collect();
    assert_eq!(audit, (0..st.audit_next).collect::<Vec<_>>(), "{text}");
    // rsyslog parsed our header and structured data as RFC 5424.
    assert!(lines[0].contains(" lab-node-1 labguard "), "{}", lines[0]);
    assert!(
        lines[0].contains("[labguard@32473 id=\"audit-0\""),
        "{}",
        lines[0]
    );
}

fn which_rsyslogd() -> Result<std::path::PathBuf, ()> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}

/// Throughput of spool + deliver to the Python receiver (figures, not asserted):
/// `cargo test -p labguard-app --test it siem::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    for env in envs("siem_tput") {
        let store = Arc::new(nodes(&env, 1).remove(0));
        store.bench_append_audit(20_000, 1000, &mut |_| {}).unwrap();
        let pki = pki("siem test CA");
        let out = pki.dir.path().join("got");
        let port = free_port();
        let _rx = start(port, &pki, &out, "tls", None);
        let mut f = forwarder(
            &store,
            port,
            &pki,
            ForwardOptions {
                batch: 256,
                ..opts()
            },
        );
        store.siem_start(&Actor::operator(), "syslog").unwrap();
        let t = Instant::now();
        drain(&mut f, &store, "syslog");
        let secs = t.elapsed().as_secs_f64();
        let n = store.siem_status("syslog").unwrap().audit_next;
        // Sender side only (spool and delivered commits, TLS writes); the Python
        // receiver fsyncs per message and lags behind, so its count is not waited for.
        eprintln!(
            "{}: syslog/TLS, Python receiver: {n} events in {secs:.2} s = {:.0}/s",
            env.name,
            n as f64 / secs
        );
        let file = pki.dir.path().join("events.jsonl");
        let mut j = Forwarder::new(
            store.clone(),
            Box::new(JsonLines::open(&file, "h").unwrap()),
            ForwardOptions {
                batch: 256,
                ..opts()
            },
        );
        store.siem_start(&Actor::operator(), "jsonl").unwrap();
        let t = Instant::now();
        drain(&mut j, &store, "jsonl");
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "{}: JSON lines to a file, synced per batch: {n} events in {secs:.2} s = {:.0}/s",
            env.name,
            n as f64 / secs
        );
    }
}
