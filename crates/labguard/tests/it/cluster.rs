//! Two `labguard mllp serve` nodes on one PostgreSQL, instruments streaming to both, one
//! node killed with SIGKILL mid-load ten times and restarted: every acknowledged message is
//! stored exactly once, the audit log verifies (one order, no gap), and the other node never
//! stopped answering its instrument.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use crate::mllp::{serve, set_up_legacy_lab, stream, stream_until};
use labguard_store::{DataDir, StoreOptions};

fn wait_for(acked: &Mutex<Vec<String>>, at_least: usize) {
    for _ in 0..2000 {
        if acked.lock().unwrap().len() >= at_least {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn two_nodes_on_one_postgresql_survive_ten_kills_of_one() {
    if std::env::var("LABGUARD_SKIP_PG").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = pg_url();
    let schema = format!("cluster_{}", std::process::id());
    let global = [
        "--data-dir",
        d(dir.path()),
        "--database",
        &url,
        "--pg-schema",
        &schema,
    ];
    set_up_legacy_lab(&global);

    // Node B runs throughout, its instrument streaming until told to stop.
    let (mut node_b, port_b) = serve(&global);
    let acked_b = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let b = {
        let (acked, stop) = (acked_b.clone(), stop.clone());
        std::thread::spawn(move || stream_until(port_b, 99, None, acked, &stop))
    };

    // Node A: killed ten times mid-load, restarted each time; its instrument resends.
    let acked_a = Arc::new(Mutex::new(Vec::new()));
    let mut pending: Option<String> = None;
    for round in 0..10 {
        let (mut node_a, port_a) = serve(&global);
        let before = acked_a.lock().unwrap().len();
        let (a, resend) = (acked_a.clone(), pending.take());
        let client = std::thread::spawn(move || stream(port_a, round, resend, a));
        wait_for(&acked_a, before + 5 + round * 3);
        node_a.kill().expect("kill -9");
        node_a.wait().expect("reap");
        pending = client.join().expect("node A's client");
    }
    let b_before_stop = acked_b.lock().unwrap().len();
    stop.store(true, Ordering::SeqCst);
    let b_result = b.join().expect("node B's client");
    assert_eq!(b_result, Ok(()), "node B stopped answering its instrument");
    node_b.kill().expect("stop node B");
    node_b.wait().expect("reap node B");
    assert!(
        b_before_stop >= 20,
        "node B acknowledged only {b_before_stop}"
    );

    let data = DataDir::postgres(dir.path(), &url, Some(&schema));
    let store = data.open(StoreOptions::default()).expect("open");
    let dev = store
        .instruments()
        .unwrap()
        .into_iter()
        .find(|e| e.name == "chem-legacy")
        .unwrap();
    let stored = store.message_control_ids(dev.id).unwrap();
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a message was stored twice");
    let acked: Vec<String> = acked_a
        .lock()
        .unwrap()
        .iter()
        .chain(acked_b.lock().unwrap().iter())
        .cloned()
        .collect();
    assert!(acked.len() >= 70, "too few acknowledged: {}", acked.len());
    for c in &acked {
        assert!(unique.contains(c), "{c} was acknowledged but is not stored");
    }
    // One order over both nodes' entries, no gap, every row as its last audited write.
    store
        .verify(&mut |_, _| {})
        .expect("audit verify after ten kills");
    drop(store);
    labguard_testkit::drop_pg_schema(&url, Some(&schema));
}
