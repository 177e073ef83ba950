//! The ASTM listener over real sockets and real TLS: link-level faults (split reads, bad
//! checksum, frame-number gap, ENQ restart, EOT in the middle, silence), a 63 KB message,
//! the TLS and allow-list doors, wrong-protocol devices, oversize and slow-loris peers,
//! and the Python `astm` package as a client. (kill -9 of `labguard serve` mid-transfer is
//! in crates/labguard/tests/it/astm_faults.rs: it needs the binary.)

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use labguard_astm::frame::{frame, ACK, ENQ, EOT, NAK};
use labguard_mllp::astm_client::{AstmClient, Sent};
use labguard_mllp::client::{ack_code, tls_client_config, Client, TlsClientConfig};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest, Issued};
use labguard_store::{Enrollment, Protocol, Store};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

fn astm_req(name: &str, legacy: bool) -> EnrollRequest {
    EnrollRequest {
        name: name.into(),
        sending_app: "HEMACOUNT".into(),
        sending_facility: String::new(),
        analytes: vec![],
        legacy_allow: legacy.then(|| vec!["127.0.0.1".parse::<IpAddr>().unwrap()]),
        protocol: Protocol::Astm,
    }
}

/// One transmission: H (sender `sender`), P for `mrn`, O, one haemoglobin R, L; `tag`
/// makes it distinct (R-13 time).
fn records(sender: &str, mrn: &str, tag: u32) -> Vec<String> {
    vec![
        format!("H|\\^&|||{sender}^3.1|||||||P|1394-97|20261102093000\r"),
        format!("P|1|{mrn}\r"),
        "O|1|S-ASTM-1||^^^718-7|R\r".into(),
        format!(
            "R|1|^^^718-7|14.{}|g/dL|12.0 to 17.5|N||F||||202611020915{:02}\r",
            tag % 10,
            tag % 60
        ),
        "L|1|N\r".into(),
    ]
}

struct Fixture {
    store: Arc<Store>,
    srv: Running,
    dev: Enrollment,
    tls: Arc<TlsClientConfig>,
    ca_pem: String,
}

fn fixture(
    rt: &tokio::runtime::Runtime,
    env: &Env,
    tune: impl FnOnce(&mut labguard_mllp::Config),
) -> Fixture {
    let store = store(env);
    add_patient(&store, "MRN-1");
    let (dev, issued) = enroll(&store, &op(), &env.data.path, &astm_req("heme-1", false)).unwrap();
    let issued: Issued = issued.unwrap();
    let srv = rt.block_on(labguard_testkit::mllp::start_with(
        &env.data.path,
        store.clone(),
        tune,
    ));
    let ca = DeviceCa::open_or_create(&store, &env.data.path).unwrap();
    let ca_pem = ca.cert_pem().to_string();
    let tls = tls_client_config(&ca_pem, Some((&issued.cert_pem, &issued.key_pem))).unwrap();
    Fixture {
        store,
        srv,
        dev,
        tls,
        ca_pem,
    }
}

/// Reads one reply byte (bounded), or None when the peer closed.
async fn reply<S: AsyncRead + Unpin>(s: &mut S) -> Option<u8> {
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(20), s.read(&mut b)).await {
        Ok(Ok(1)) => Some(b[0]),
        _ => None,
    }
}

async fn put<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) {
    s.write_all(bytes).await.unwrap();
    s.flush().await.unwrap();
}

#[test]
fn a_transmission_over_mutual_tls_is_filed_once_and_acknowledged_after_commit() {
    let rt = rt();
    for env in envs("astm_tls") {
        let f = fixture(&rt, &env, |_| {});
        rt.block_on(async {
            let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
                .await
                .unwrap();
            let r = records("HEMACOUNT", "MRN-1", 1);
            assert_eq!(c.send(&r).await.unwrap(), Sent::Delivered, "{}", env.name);
            // The same transmission again (an instrument that missed our last ACK): ACKed,
            // filed once.
            assert_eq!(c.send(&r).await.unwrap(), Sent::Delivered);
            // Another H-5 sender on this certificate: the last frame is refused and the
            // connection closed.
            let other = records("OTHERBOX", "MRN-1", 2);
            let got = c.send(&other).await;
            assert!(!matches!(got, Ok(Sent::Delivered)), "{got:?}");
        });
        assert_eq!(filed(&f.store, &f.dev), 1, "{}", env.name);
        let p = f
            .store
            .find_patient_by_mrn(&op(), "MRN-1")
            .unwrap()
            .unwrap();
        let results = f.store.results_for_patient(&op(), p.id).unwrap();
        assert_eq!(results.len(), 1, "{}", env.name);
        assert_eq!(results[0].analyte.as_str(), "718-7");
        // The refusal is audited, aggregated, as for MLLP.
        assert!(alerted(&f.store, "sender-mismatch", 1), "{}", env.name);
        f.store.checkpoint().unwrap();
        f.store.verify(&mut |_, _| {}).unwrap();
        let _ = f.srv.stop.send(());
    }
}

#[test]
fn link_faults_split_reads_bad_checksum_gap_enq_restart_and_eot_in_the_middle() {
    let rt = rt();
    for env in envs("astm_link") {
        let f = fixture(&rt, &env, |_| {});
        let recs = records("HEMACOUNT", "MRN-1", 3);
        let frames = labguard_astm::encode::transmission(&recs);
        rt.block_on(async {
            let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
                .await
                .unwrap();
            let s = c.stream();
            // EOT in the middle: H and P acknowledged, then EOT: nothing filed.
            put(s, &[ENQ]).await;
            assert_eq!(reply(s).await, Some(ACK));
            for fr in &frames[..2] {
                put(s, fr).await;
                assert_eq!(reply(s).await, Some(ACK));
            }
            put(s, &[EOT]).await;
            tokio::time::sleep(Duration::from_millis(200)).await;

            // ENQ restart: a sender that lost our ACK bids again mid-transfer; what was
            // buffered is dropped and the repeated transmission is filed once.
            put(s, &[ENQ]).await;
            assert_eq!(reply(s).await, Some(ACK));
            put(s, &frames[0]).await;
            assert_eq!(reply(s).await, Some(ACK));
            put(s, &[ENQ]).await;
            assert_eq!(reply(s).await, Some(ACK));
            for (i, fr) in frames.iter().enumerate() {
                if i == 1 {
                    // A bad checksum: NAK, then the retransmission is accepted.
                    let mut bad = fr.clone();
                    let n = bad.len();
                    bad[n - 3] = if bad[n - 3] == b'0' { b'1' } else { b'0' };
                    put(s, &bad).await;
                    assert_eq!(reply(s).await, Some(NAK), "{}", env.name);
                }
                if i == 2 {
                    // A frame-number gap (4 where 3 is due): NAK.
                    let gap = frame(4, b"O|1|S-ASTM-1||^^^718-7|R\r", true);
                    put(s, &gap).await;
                    assert_eq!(reply(s).await, Some(NAK));
                }
                if i == 3 {
                    // Split across TCP reads: one byte per write.
                    for b in fr {
                        put(s, std::slice::from_ref(b)).await;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                } else {
                    put(s, fr).await;
                }
                assert_eq!(reply(s).await, Some(ACK), "{}: frame {i}", env.name);
            }
            put(s, &[EOT]).await;
        });
        // The ACK of the L frame came after the commit, so it is there now.
        assert_eq!(filed(&f.store, &f.dev), 1, "{}", env.name);
        let _ = f.srv.stop.send(());
    }
}

#[test]
fn a_silent_peer_is_closed_and_nothing_is_half_filed() {
    let rt = rt();
    let env = envs("astm_silent").remove(0);
    let f = fixture(&rt, &env, |c| {
        c.astm_timeouts.receiver_idle = Duration::from_millis(300);
        c.astm_timeouts.frame = Duration::from_millis(300);
    });
    let frames = labguard_astm::encode::transmission(&records("HEMACOUNT", "MRN-1", 4));
    rt.block_on(async {
        let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let s = c.stream();
        put(s, &[ENQ]).await;
        assert_eq!(reply(s).await, Some(ACK));
        for fr in &frames[..3] {
            put(s, fr).await;
            assert_eq!(reply(s).await, Some(ACK));
        }
        // Then silence: the receiver's idle timer ends the transfer and the connection.
        assert!(closed(s, 20).await, "a silent peer must be closed");
        // Half a frame, then silence: the frame timer does the same.
        let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let s = c.stream();
        put(s, &[ENQ]).await;
        assert_eq!(reply(s).await, Some(ACK));
        put(s, &frames[0][..10]).await;
        assert!(closed(s, 20).await, "a half frame must be closed");
    });
    assert_eq!(filed(&f.store, &f.dev), 0);
    assert_eq!(f.store.instrument_counts().unwrap(), (0, 0));
    let _ = f.srv.stop.send(());
}

#[test]
fn a_63_kb_message_in_many_intermediate_frames_is_filed() {
    let rt = rt();
    for env in envs("astm_big") {
        let f = fixture(&rt, &env, |_| {});
        let mut recs = records("HEMACOUNT", "MRN-1", 5);
        // A comment record of 63 KB after the result: ~270 intermediate frames.
        let comment = format!("C|1|I|{}|G\r", "x".repeat(63 * 1024));
        recs.insert(4, comment);
        let frames = labguard_astm::encode::transmission(&recs);
        assert!(frames.len() > 260);
        rt.block_on(async {
            let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
                .await
                .unwrap();
            assert_eq!(c.send_frames(frames).await.unwrap(), Sent::Delivered);
        });
        assert_eq!(filed(&f.store, &f.dev), 1, "{}", env.name);
        f.store.checkpoint().unwrap();
        f.store.verify(&mut |_, _| {}).unwrap();
        let _ = f.srv.stop.send(());
    }
}

/// Ok when the handshake and a first transmission succeed.
async fn try_tls(addr: std::net::SocketAddr, cfg: Arc<TlsClientConfig>) -> Result<(), String> {
    let mut c = AstmClient::tls(addr, "localhost", cfg)
        .await
        .map_err(|e| e.to_string())?;
    match c.send(&records("HEMACOUNT", "MRN-1", 6)).await {
        Ok(Sent::Delivered) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn strangers_revoked_devices_and_other_protocols_are_refused() {
    let rt = rt();
    for env in envs("astm_doors") {
        let f = fixture(&rt, &env, |_| {});
        // A certificate from another CA, and none at all: refused at the handshake.
        let rogue = DeviceCa::unsaved().unwrap().issue_device("heme-1").unwrap();
        let cfg = tls_client_config(&f.ca_pem, Some((&rogue.cert_pem, &rogue.key_pem))).unwrap();
        assert!(rt.block_on(try_tls(f.srv.astm_tls, cfg)).is_err());
        let anon = tls_client_config(&f.ca_pem, None).unwrap();
        assert!(rt.block_on(try_tls(f.srv.astm_tls, anon)).is_err());
        // An HL7 device's certificate on the ASTM door: closed unread, audited.
        let (_, hl7) = enroll(&f.store, &op(), &env.data.path, &tls_req("chem-9")).unwrap();
        let hl7 = hl7.unwrap();
        std::thread::sleep(Duration::from_millis(400));
        let cfg = tls_client_config(&f.ca_pem, Some((&hl7.cert_pem, &hl7.key_pem))).unwrap();
        assert!(rt.block_on(try_tls(f.srv.astm_tls, cfg)).is_err());
        // The ASTM device's certificate on the HL7 door: AR, audited.
        rt.block_on(async {
            let mut c = Client::tls(f.srv.tls, "localhost", f.tls.clone())
                .await
                .unwrap();
            let ack = c.send(oru("W1", "MRN-1", "95").as_bytes()).await.unwrap();
            assert_eq!(ack_code(&ack).as_deref(), Some("AR"));
        });
        // Revoked: refused at the handshake from then on.
        assert!(rt.block_on(try_tls(f.srv.astm_tls, f.tls.clone())).is_ok());
        f.store.revoke_instrument(&op(), "heme-1").unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert!(rt.block_on(try_tls(f.srv.astm_tls, f.tls.clone())).is_err());
        assert_eq!(filed(&f.store, &f.dev), 1, "{}", env.name);
        assert!(alerted(&f.store, "wrong-protocol", 2), "{}", env.name);
        let _ = f.srv.stop.send(());
    }
}

#[test]
fn legacy_astm_peers_off_the_allow_list_are_closed_before_a_byte_is_read() {
    let rt = rt();
    let env = envs("astm_legacy").remove(0);
    let f = fixture(&rt, &env, |_| {});
    rt.block_on(async {
        let mut s = tokio::net::TcpStream::connect(f.srv.astm_tcp)
            .await
            .unwrap();
        let _ = s.write_all(&[ENQ]).await;
        assert_eq!(reply(&mut s).await, None, "no ACK for an unlisted source");
    });
    assert!(alerted(&f.store, "source-not-allowed", 1));
    // Listed (as an ASTM device): the same peer gets its transmission filed.
    let (legacy, _) = enroll(&f.store, &op(), &env.data.path, &astm_req("heme-old", true)).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    rt.block_on(async {
        let mut c = AstmClient::tcp(f.srv.astm_tcp).await.unwrap();
        assert_eq!(
            c.send(&records("HEMACOUNT", "MRN-1", 7)).await.unwrap(),
            Sent::Delivered
        );
    });
    assert_eq!(filed(&f.store, &legacy), 1);
    let _ = f.srv.stop.send(());
}

#[test]
fn oversize_transmissions_and_slow_trickles_are_closed() {
    let rt = rt();
    let env = envs("astm_attack").remove(0);
    let f = fixture(&rt, &env, |c| {
        c.max_message_size = 8 * 1024;
        c.transmission_timeout = Duration::from_secs(1);
    });
    rt.block_on(async {
        // 16 KB in one transmission (records of 200 bytes): closed past 8 KB.
        let mut recs = vec!["H|\\^&|||HEMACOUNT^3.1|||||||P|1394-97|20261102093000\r".to_string()];
        for i in 0..80 {
            recs.push(format!("C|{i}|I|{}|G\r", "y".repeat(200)));
        }
        recs.push("L|1|N\r".into());
        let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let got = c.send(&recs).await;
        assert!(!matches!(got, Ok(Sent::Delivered)), "{got:?}");
        // Slow loris: every frame on time for the link timers, one every 300 ms, never
        // ending: closed at the 1 s transmission deadline.
        let mut c = AstmClient::tls(f.srv.astm_tls, "localhost", f.tls.clone())
            .await
            .unwrap();
        let s = c.stream();
        put(s, &[ENQ]).await;
        assert_eq!(reply(s).await, Some(ACK));
        let started = std::time::Instant::now();
        let mut n = 1u8;
        let mut shut = false;
        for _ in 0..40 {
            let fr = frame(n, b"C|1|I|slow|G\r", false);
            if s.write_all(&fr).await.is_err() || reply(s).await != Some(ACK) {
                shut = true;
                break;
            }
            n = labguard_astm::frame::next_frame_number(n);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(shut, "a trickling transmission must be closed");
        assert!(started.elapsed() < Duration::from_secs(10));
    });
    assert_eq!(filed(&f.store, &f.dev), 0);
    let _ = f.srv.stop.send(());
}

const PY_CLIENT: &str = r#"
import sys
import astm.asynclib
# astm-2025 still carries Python 2 leftovers: `buffer` in its socket writer, and record
# types compared as str while its encoder needs bytes. Shim both, use everything else as is.
astm.asynclib.buffer = lambda d, o, n: d[o:o + n]
from astm.client import Client
class T(bytes):
    def __eq__(self, o):
        return bytes.__eq__(self, o.encode() if isinstance(o, str) else o)
    def __hash__(self):
        return hash(self.decode())
port, sender = int(sys.argv[1]), sys.argv[2].encode()
def emitter():
    yield [T(b'H'), b'\\^&', None, None, [sender, b'1.0'], None, None, None, None, None, None, b'P', b'1394-97', b'20261102093000']
    yield [T(b'P'), b'1', b'MRN-1']
    yield [T(b'O'), b'1', b'S-PY1', None, [None, None, None, b'718-7'], b'R']
    yield [T(b'R'), b'1', [None, None, None, b'718-7'], b'13.9', b'g/dL', None, b'N', None, b'F', None, None, None, b'20261102091500']
    ok = yield [T(b'L'), b'1', b'N']
    print('L accepted' if ok else 'L refused', flush=True)
c = Client(emitter, host='127.0.0.1', port=port, timeout=10)
c.run(timeout=1)
"#;

#[test]
fn the_python_astm_client_delivers_to_the_legacy_listener() {
    let rt = rt();
    for env in envs("astm_py") {
        let f = fixture(&rt, &env, |_| {});
        let (legacy, _) =
            enroll(&f.store, &op(), &env.data.path, &astm_req("heme-py", true)).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                PY_CLIENT,
                &f.srv.astm_tcp.port().to_string(),
                "HEMACOUNT",
            ])
            .output()
            .expect("python3 with the astm-2025 package");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("L accepted"),
            "{}: {stdout} {}",
            env.name,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(filed(&f.store, &legacy), 1, "{}", env.name);
        let _ = f.srv.stop.send(());
    }
}
