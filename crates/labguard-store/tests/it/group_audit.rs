//! Reads from many threads at once share audit commits, yet every read has its own entry,
//! in the log before the data was returned, and the log still verifies.

use std::sync::Arc;

use crate::common::*;

#[test]
fn concurrent_reads_each_leave_a_durable_entry() {
    for env in envs("group") {
        let store = Arc::new(init(&env));
        let p = patient("MRN-42", "Fairweather", "Odile");
        store.add_patient(&op(), &p).unwrap();
        store.add_specimen(&op(), &specimen(&p, "ACC-42")).unwrap();
        let (before, _) = store.audit_head().unwrap();
        let threads = 8;
        let per_thread = 40;
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let s = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        let got = s.find_patient_by_mrn(&op(), "MRN-42").unwrap();
                        assert!(got.is_some());
                        s.results_by_accession(&op(), "ACC-42").unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let (after, _) = store.audit_head().unwrap();
        assert_eq!(
            after - before,
            (threads * per_thread * 2) as u64,
            "{}: one entry per read",
            env.name
        );
        let reads = store
            .audit_entries(&op(), before, (threads * per_thread * 2) as u32)
            .unwrap();
        let by_action = |a: &str| reads.iter().filter(|(_, e)| e.action == a).count();
        assert_eq!(
            by_action("patient.search"),
            threads * per_thread,
            "{}",
            env.name
        );
        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();
    }
}
