//! Tamper evidence covers every column: for each audited table and each of its live
//! columns in turn, on SQLite and PostgreSQL, the value is changed behind labguard's back
//! and `verify` must name the table (and the row, column or checkpoint); put back, verify
//! is clean again. A column a migration adds without covering it is refused as uncovered.

use crate::common::*;
use chrono::{TimeZone, Utc};
use labguard_core::{Id, LabOrder, LoincCode};
use labguard_store::testing::{Backend, Row, Value};
use labguard_store::{audited, Enrollment, Inbound, Store, Transport, VerifyProblem};

fn backend(env: &Env) -> Box<dyn Backend> {
    labguard_testkit::data::backend(&env.data)
}

/// Like `common::raw` for a write, but an error (a constraint) is returned, not a panic.
fn try_exec(env: &Env, sql: &str, params: &[Value]) -> Result<(), String> {
    let b = backend(env);
    let mut tx = b.begin().map_err(|e| e.to_string())?;
    tx.execute(sql, params).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())
}

fn query(env: &Env, sql: &str) -> Vec<Row> {
    raw(env, sql, &[])
}

/// Every audited table holds rows: two patients (one without children), specimens, an
/// order, results, an instrument message and a held result, and signed checkpoints.
fn seed(store: &Store) {
    let p = patient("MRN-1", "Doe", "Jane");
    store.add_patient(&op(), &p).unwrap();
    let lone = patient("MRN-2", "Roe", "Rick");
    store.add_patient(&op(), &lone).unwrap();
    let s = specimen(&p, "ACC-1");
    store.add_specimen(&op(), &s).unwrap();
    let s2 = specimen(&p, "ACC-2");
    store.add_specimen(&op(), &s2).unwrap();
    // Rows nothing refers to, so even their ids can be changed under the foreign keys.
    store.add_specimen(&op(), &specimen(&p, "ACC-3")).unwrap();
    let o = LabOrder {
        id: Id::new_v4(),
        patient_id: p.id,
        specimen_id: Some(s.id),
        ordering_provider: "Dr. Who".into(),
        tests: vec![LoincCode::parse("2345-7").unwrap()],
        placed_at: Utc.with_ymd_and_hms(2026, 11, 2, 7, 0, 0).unwrap(),
    };
    store.add_order(&op(), &o).unwrap();
    store
        .add_order(
            &op(),
            &LabOrder {
                id: Id::new_v4(),
                ..o.clone()
            },
        )
        .unwrap();
    let mut r = glucose(&p, &s, "101");
    r.order_id = Some(o.id);
    store.add_result(&op(), &r).unwrap();
    store.add_result(&op(), &glucose(&p, &s2, "95")).unwrap();
    store.checkpoint().unwrap();
    let dev = Enrollment {
        id: Id::new_v4(),
        name: "chem-1".into(),
        sending_app: "CHEM".into(),
        sending_facility: "LAB".into(),
        analytes: vec!["2345-7".into()],
        transport: Transport::Tls,
        cert_serial: Some("01".into()),
        cert_fingerprint: Some("fp-chem-1".into()),
        allow_from: vec![],
        enrolled_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        revoked_at: None,
        protocol: labguard_store::Protocol::Hl7,
    };
    store.enroll_instrument(&op(), &dev).unwrap();
    let spare = Enrollment {
        id: Id::new_v4(),
        name: "chem-2".into(),
        cert_fingerprint: Some("fp-chem-2".into()),
        ..dev.clone()
    };
    store.enroll_instrument(&op(), &spare).unwrap();
    let mut held = glucose(&p, &s, "9000");
    held.specimen_id = None;
    store
        .ingest(&Inbound {
            device_id: dev.id,
            actor: dev.actor(),
            control_id: "C1".into(),
            raw: b"MSH|^~\\&|CHEM|LAB|||||ORU^R01|C1|P|2.5.1\r".to_vec(),
            specimens: vec![],
            orders: vec![],
            results: vec![held.clone()],
            holds: vec![vec!["outside-physiologic-limits".into()]],
            patient_mrns: vec![(held.patient_id, "MRN-1".into())],
            specimen_accessions: vec![],
            qc: vec![],
        })
        .unwrap();
    let mut filed = glucose(&p, &s, "99");
    filed.specimen_id = None;
    store
        .ingest(&Inbound {
            device_id: dev.id,
            actor: dev.actor(),
            control_id: "C2".into(),
            raw: b"MSH|^~\\&|CHEM|LAB|||||ORU^R01|C2|P|2.5.1\r".to_vec(),
            specimens: vec![],
            orders: vec![],
            results: vec![filed.clone()],
            holds: vec![vec![]],
            patient_mrns: vec![(filed.patient_id, "MRN-1".into())],
            specimen_accessions: vec![],
            qc: vec![],
        })
        .unwrap();
    // A privacy case (a row-hashed table) and the scan's pseudonyms (derived): a member of
    // staff opens a record with no care link, and a scan past the window files it.
    let desk = Id::new_v4();
    store
        .add_staff(
            &op(),
            &labguard_core::Staff {
                id: desk,
                username: "desk".into(),
                display_name: "desk".into(),
                role: labguard_core::Role::FrontDesk,
                email: "desk@lab.example".into(),
                active: true,
            },
        )
        .unwrap();
    let desk = labguard_store::Actor::staff(desk.to_string(), labguard_core::Role::FrontDesk);
    store.get_patient(&desk, lone.id).unwrap();
    let scan = store
        .privacy_scan(&op(), Utc::now() + chrono::TimeDelta::days(2))
        .unwrap();
    assert_eq!(scan.cases_touched.len(), 1);
    store.checkpoint().unwrap();
}

/// Candidate replacements for a stored value, most natural first.
fn candidates(v: &Value, others: &[Value]) -> Vec<Value> {
    let mut out = match v {
        Value::Null => vec![Value::Text("x".into()), Value::Int(1)],
        Value::Int(i) => vec![Value::Int(i + 1000), Value::Int(i - 1)],
        Value::Text(s) => {
            let mut t: Vec<char> = s.chars().collect();
            // Change the last digit or letter (keeps a timestamp or UUID well-formed).
            if let Some(c) = t.iter_mut().rev().find(|c| c.is_ascii_alphanumeric()) {
                *c = match *c {
                    '0' => '1',
                    'a' => 'b',
                    'A' => 'B',
                    c if c.is_ascii_digit() => '0',
                    c if c.is_ascii_uppercase() => 'A',
                    _ => 'a',
                };
            } else {
                t.push('x');
            }
            vec![
                Value::Text(t.into_iter().collect()),
                Value::Text(format!("{s}x")),
            ]
        }
        Value::Blob(b) => {
            let mut b = b.clone();
            match b.last_mut() {
                Some(x) => *x ^= 1,
                None => b.push(0),
            }
            vec![Value::Blob(b)]
        }
    };
    // Values a CHECK constraint allows.
    for t in ["released", "rejected", "held"] {
        out.push(Value::Text(t.into()));
    }
    out.extend(others.iter().filter(|o| *o != v).cloned());
    out.push(Value::Null);
    out
}

fn key_of(table: &str) -> &'static str {
    match table {
        "audit_log" => "seq",
        "audit_checkpoints" => "size",
        "privacy_patient_refs" => "patient_id",
        _ => "id",
    }
}

/// Changes `column` of some row of `table`; returns (key, old value) to put it back, or
/// None when the schema itself refuses every other value.
fn tamper(env: &Env, table: &str, column: &str) -> Option<(Value, Value)> {
    let key = key_of(table);
    let rows = query(
        env,
        &format!("SELECT {key}, {column} FROM {table} ORDER BY {key}"),
    );
    assert!(
        !rows.is_empty(),
        "{}: {table} has no rows to alter",
        env.name
    );
    let mut others: Vec<Value> = rows.iter().map(|r| r[1].clone()).collect();
    // A foreign key can only move to another existing row of the table it refers to.
    let target = match column {
        "patient_id" => Some("patients"),
        "specimen_id" => Some("specimens"),
        "order_id" => Some("orders"),
        "message_id" => Some("inbound_messages"),
        "device_id" => Some("instrument_enrollments"),
        _ => None,
    };
    if let Some(t) = target {
        others.extend(
            query(env, &format!("SELECT id FROM {t}"))
                .into_iter()
                .map(|r| r[0].clone()),
        );
    }
    let mut errors = vec![];
    // The latest row first: the newest checkpoint, the childless patient's row likelier.
    for r in rows.iter().rev() {
        for new in candidates(&r[1], &others) {
            let sql = format!("UPDATE {table} SET {column} = ? WHERE {key} = ?");
            match try_exec(env, &sql, &[new.clone(), r[0].clone()]) {
                Ok(()) => {
                    let k = if column == key { new } else { r[0].clone() };
                    return Some((k, r[1].clone()));
                }
                Err(e) => errors.push(e),
            }
        }
    }
    // `audit_head.id` is CHECK (id = 1): the database refuses any change.
    if (table, column) == ("audit_head", "id") {
        return None;
    }
    panic!("{}: could not alter {table}.{column}: {errors:?}", env.name);
}

fn restore(env: &Env, table: &str, column: &str, (k, old): (Value, Value)) {
    let key = key_of(table);
    // SQLite lets a non-integer primary key be NULL, and NULL = NULL matches nothing.
    let r = if k == Value::Null {
        try_exec(
            env,
            &format!("UPDATE {table} SET {column} = ? WHERE {key} IS NULL"),
            &[old],
        )
    } else {
        try_exec(
            env,
            &format!("UPDATE {table} SET {column} = ? WHERE {key} = ?"),
            &[old, k],
        )
    };
    r.unwrap();
}

#[test]
fn altering_any_column_of_any_audited_table_fails_verify_and_names_it() {
    for env in envs("tamper") {
        let store = init(&env);
        seed(&store);
        store.verify(&mut |_, _| {}).unwrap();
        let mut altered = 0;
        for cov in audited() {
            let live: Vec<String> = match env.name {
                "sqlite" => query(&env, &format!("SELECT name FROM pragma_table_info('{}')", cov.table)),
                _ => query(&env, &format!(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{}'",
                    cov.table
                )),
            }
            .into_iter()
            .map(|r| r[0].as_text().unwrap().to_string())
            .collect();
            assert!(
                !live.is_empty(),
                "{}: no columns for {}",
                env.name,
                cov.table
            );
            for column in &live {
                let Some(undo) = tamper(&env, cov.table, column) else {
                    continue;
                };
                let err = match store.verify(&mut |_, _| {}) {
                    Ok(r) => panic!(
                        "{}: {}.{column} altered and verify passed ({r:?})",
                        env.name, cov.table
                    ),
                    Err(e) => e.to_string(),
                };
                let spaced = cov.table.replace('_', " ");
                assert!(
                    err.contains(cov.table) || err.contains(&spaced),
                    "{}: {}.{column}: the problem does not name the table: {err}",
                    env.name,
                    cov.table
                );
                restore(&env, cov.table, column, undo);
                store.verify(&mut |_, _| {}).unwrap_or_else(|e| {
                    panic!("{}: {}.{column} put back, still: {e}", env.name, cov.table)
                });
                altered += 1;
            }
        }
        assert!(altered >= 60, "{}: only {altered} columns", env.name);
    }
}

#[test]
fn checkpoint_and_head_times_are_evidence() {
    for env in envs("tamper_time") {
        let store = init(&env);
        seed(&store);
        let undo = tamper(&env, "audit_checkpoints", "created_at").unwrap();
        match store.verify(&mut |_, _| {}) {
            Err(VerifyProblem::Checkpoint { column, .. }) => assert_eq!(column, "created_at"),
            other => panic!("{}: {other:?}", env.name),
        }
        restore(&env, "audit_checkpoints", "created_at", undo);
        raw(
            &env,
            "UPDATE audit_head SET last_checkpoint_at = '2020-01-01T00:00:00Z'",
            &[],
        );
        let err = store.verify(&mut |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("audit_head.last_checkpoint_at"), "{err}");
        // A result's recorded time is covered by its row hash.
        raw(&env, "UPDATE audit_head SET last_checkpoint_at = (SELECT created_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1)", &[]);
        store.verify(&mut |_, _| {}).unwrap();
        raw(
            &env,
            "UPDATE results SET created_at = '2020-01-01T00:00:00Z'",
            &[],
        );
        match store.verify(&mut |_, _| {}) {
            Err(VerifyProblem::Row { table, .. }) => assert_eq!(table, "results"),
            other => panic!("{}: {other:?}", env.name),
        }
    }
}

#[test]
fn a_column_added_without_coverage_fails_verify() {
    for env in envs("tamper_uncovered") {
        let store = init(&env);
        seed(&store);
        raw(&env, "ALTER TABLE specimens ADD COLUMN notes TEXT", &[]);
        match store.verify(&mut |_, _| {}) {
            Err(VerifyProblem::Uncovered { table, column }) => {
                assert_eq!((table, column.as_str()), ("specimens", "notes"))
            }
            other => panic!("{}: {other:?}", env.name),
        }
    }
}
