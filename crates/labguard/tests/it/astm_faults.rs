//! kill -9 of `labguard serve` in the middle of an ASTM transfer (the legacy plain-TCP
//! door, real process, real sockets): every transmission whose last frame was ACKed is in
//! the database after restart, once, and the one cut off before its L record left nothing.

use std::time::Duration;

use crate::common::*;
use labguard_astm::frame::{ACK, ENQ};
use labguard_mllp::astm::transmission_id;
use labguard_mllp::astm_client::{AstmClient, Sent};
use labguard_store::{DataDir, StoreOptions};
use labguard_testkit::{free_port, spawn_serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn records(round: usize, i: usize) -> Vec<String> {
    vec![
        "H|\\^&|||HEMACOUNT^3.1|||||||P|1394-97|20261102093000\r".to_string(),
        "P|1|MRN-1\r".into(),
        format!("O|1|S-K9-{round}-{i}||^^^718-7|R\r"),
        format!("R|1|^^^718-7|13.{i}|g/dL|12.0 to 17.5|N||F||||2026110209{round:02}{i:02}\r"),
        "L|1|N\r".into(),
    ]
}

fn rounds(dir: &std::path::Path, db: &[&str], data: DataDir) {
    let dd = d(dir).to_string();
    let with = |args: &[&str]| -> Vec<String> {
        ["--data-dir", &dd]
            .iter()
            .copied()
            .chain(db.iter().copied())
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect()
    };
    let run_ok = |args: &[&str]| {
        let v = with(args);
        ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    run_ok(&["init"]);
    let out = run_ok(&[
        "devices",
        "enroll",
        "--name",
        "heme-legacy",
        "--protocol",
        "astm",
        "--sending-app",
        "HEMACOUNT",
        "--legacy-tcp",
        "--allow",
        "127.0.0.1",
    ]);
    assert!(
        out.contains("(astm)") && out.contains("weaker control"),
        "{out}"
    );
    let list = run_ok(&["devices", "list"]);
    assert!(
        list.contains("heme-legacy\tactive\tlegacy plain TCP (weaker control)\tastm"),
        "{list}"
    );
    run_ok(&[
        "patients",
        "add",
        "--mrn",
        "MRN-1",
        "--family",
        "Brightwater",
        "--given",
        "Tamsin",
        "--birth-date",
        "1980-01-02",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acked = Vec::new();
    let mut cut = Vec::new();
    for round in 0..4 {
        let (port, astm) = (free_port(), free_port());
        let extra = [
            "--astm-legacy-listen".to_string(),
            format!("127.0.0.1:{astm}"),
        ];
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let (mut server, _) = spawn_serve(serve_cmd(db, &dd, port, &extra), port);
        let addr: std::net::SocketAddr = format!("127.0.0.1:{astm}").parse().unwrap();
        rt.block_on(async {
            let mut c = None;
            for _ in 0..100 {
                if let Ok(x) = AstmClient::tcp(addr).await {
                    c = Some(x);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut c = c.expect("the ASTM door listens");
            for i in 0..3 {
                let r = records(round, i);
                if c.send(&r).await.unwrap() == Sent::Delivered {
                    acked.push(transmission_id(r.concat().as_bytes()));
                }
            }
            // The next transmission: everything but the L record, each frame ACKed…
            let r = records(round, 9);
            let frames = labguard_astm::encode::transmission(&r);
            let s = c.stream();
            s.write_all(&[ENQ]).await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            assert_eq!(b[0], ACK);
            for f in &frames[..frames.len() - 1] {
                s.write_all(f).await.unwrap();
                s.read_exact(&mut b).await.unwrap();
                assert_eq!(b[0], ACK);
            }
            cut.push(transmission_id(r.concat().as_bytes()));
        });
        // …then kill -9 in the middle of it.
        server.0.kill().expect("kill -9");
        let _ = server.0.wait();
    }
    assert_eq!(
        acked.len(),
        12,
        "every complete transmission was acknowledged"
    );
    let store = data
        .open(StoreOptions::default())
        .expect("reopen after kill -9");
    let dev = store
        .instruments()
        .unwrap()
        .into_iter()
        .find(|e| e.name == "heme-legacy")
        .unwrap();
    let stored = store.message_control_ids(dev.id).unwrap();
    for id in &acked {
        assert_eq!(
            stored.iter().filter(|s| *s == id).count(),
            1,
            "{id} was acknowledged but is not stored once"
        );
    }
    for id in &cut {
        assert!(!stored.contains(id), "a cut-off transmission was filed");
    }
    assert_eq!(stored.len(), acked.len());
    store.verify(&mut |_, _| {}).expect("verify after kill -9");
}

#[test]
fn kill_9_mid_astm_transfer_loses_no_acknowledged_result_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::sqlite(dir.path());
    rounds(dir.path(), &[], data);
}

#[test]
fn kill_9_mid_astm_transfer_loses_no_acknowledged_result_postgres() {
    if std::env::var("LABGUARD_SKIP_PG").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = pg_url();
    let schema = format!("k9astm_{}", std::process::id());
    let data = DataDir::postgres(dir.path(), &url, Some(&schema));
    rounds(
        dir.path(),
        &["--database", &url, "--pg-schema", &schema],
        data.clone(),
    );
    labguard_testkit::drop_pg_schema(&url, Some(&schema));
}
