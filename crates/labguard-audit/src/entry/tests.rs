use super::rules::{fast_accept, lower_hex, printable_ascii};
use super::*;

fn sample() -> AuditEntry {
    AuditEntry {
        time: "2025-03-01T08:15:30.123Z".into(),
        actor: "u-1842".into(),
        role: "phlebotomist".into(),
        action: "patient.read".into(),
        resource: "patient".into(),
        resource_id: "01HQ5ZK6T1".into(),
        patient_ref: Some("p-7f3a9c".into()),
        reason: Some("specimen collection".into()),
        outcome: Outcome::Success,
        content_hash: Some("ab".repeat(32)),
        node: Some("node-a".into()),
    }
}

#[test]
fn round_trip_and_determinism() {
    let e = sample();
    let bytes = e.encode();
    assert_eq!(bytes, e.clone().encode());
    assert_eq!(AuditEntry::decode(&bytes), Ok(e.clone()));
    assert_eq!(AuditEntry::check_encoded(&bytes), Ok(()));

    let minimal = AuditEntry {
        patient_ref: None,
        reason: None,
        content_hash: None,
        node: None,
        resource_id: String::new(),
        outcome: Outcome::Denied,
        ..e
    };
    assert_eq!(AuditEntry::decode(&minimal.encode()), Ok(minimal));
}

#[test]
fn long_fields_use_multi_byte_lengths() {
    let mut e = sample();
    e.reason = Some("x".repeat(MAX_FIELD_LEN));
    let bytes = e.encode();
    assert_eq!(AuditEntry::decode(&bytes), Ok(e.clone()));
    e.reason = Some("x".repeat(MAX_FIELD_LEN + 1));
    assert!(e.validate().is_err());
    assert!(AuditEntry::decode(&e.encode()).is_err());
}

#[test]
fn rejects_structural_damage() {
    let bytes = sample().encode();
    assert_eq!(AuditEntry::decode(&[]), Err(EntryError::UnknownVersion));
    let mut v2 = bytes.clone();
    v2[0] = 2;
    assert_eq!(AuditEntry::decode(&v2), Err(EntryError::UnknownVersion));
    for cut in 1..bytes.len() {
        assert!(
            matches!(
                AuditEntry::decode(&bytes[..cut]),
                Err(EntryError::Truncated(_))
            ),
            "cut at {cut}"
        );
    }
    let mut trailing = bytes.clone();
    trailing.push(b' ');
    assert_eq!(
        AuditEntry::decode(&trailing),
        Err(EntryError::TrailingBytes(1))
    );
    // Length 5 of "time"... spelled non-minimally as 0x85 0x00.
    let mut non_minimal = vec![1u8, 0x98, 0x00];
    non_minimal.extend_from_slice(&bytes[2..]);
    assert_eq!(
        AuditEntry::decode(&non_minimal),
        Err(EntryError::BadLength("time"))
    );
}

#[test]
fn rejects_bad_flags_outcome_and_utf8() {
    let mut e = sample();
    e.patient_ref = None;
    e.reason = None;
    let bytes = e.encode();
    // Locate the two absent-flag bytes followed by the outcome byte.
    let pos = bytes.len() - (1 + 1 + 64 + 1 + 1 + 6) - 3;
    assert_eq!(&bytes[pos..pos + 3], &[0, 0, 0]);
    let mut flag = bytes.clone();
    flag[pos] = 2;
    assert_eq!(
        AuditEntry::decode(&flag),
        Err(EntryError::BadPresence("patient_ref"))
    );
    let mut outcome = bytes.clone();
    outcome[pos + 2] = 9;
    assert_eq!(AuditEntry::decode(&outcome), Err(EntryError::BadOutcome(9)));
    let mut utf8 = bytes.clone();
    utf8[3] = 0xff; // inside "time"
    assert_eq!(
        AuditEntry::decode(&utf8),
        Err(EntryError::InvalidUtf8("time"))
    );
}

#[test]
fn content_rules() {
    let ok = sample();
    assert_eq!(ok.validate(), Ok(()));
    type Mutation = Box<dyn Fn(&mut AuditEntry)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("time", Box::new(|e| e.time = "2025-03-01 08:15:30Z".into())),
        (
            "time",
            Box::new(|e| e.time = "2025-03-01T08:15:30+01:00".into()),
        ),
        ("time", Box::new(|e| e.time = "2025-02-29T08:15:30Z".into())),
        ("time", Box::new(|e| e.time = "2025-03-01T24:00:00Z".into())),
        (
            "time",
            Box::new(|e| e.time = "2025-03-01T08:15:30.Z".into()),
        ),
        (
            "time",
            Box::new(|e| e.time = "2025-03-01T08:15:30.1234567890Z".into()),
        ),
        ("time", Box::new(|e| e.time = "2025-03-01t08:15:30z".into())),
        ("actor", Box::new(|e| e.actor.clear())),
        ("role", Box::new(|e| e.role.clear())),
        ("action", Box::new(|e| e.action = "patient.read\n".into())),
        ("resource", Box::new(|e| e.resource.clear())),
        ("resource_id", Box::new(|e| e.resource_id = "a\tb".into())),
        (
            "patient_ref",
            Box::new(|e| e.patient_ref = Some("p\u{2028}x".into())),
        ),
        ("reason", Box::new(|e| e.reason = Some("a\u{0}b".into()))),
        (
            "content_hash",
            Box::new(|e| e.content_hash = Some("AB".repeat(32))),
        ),
        (
            "content_hash",
            Box::new(|e| e.content_hash = Some("ab".into())),
        ),
        (
            "node",
            Box::new(|e| e.node = Some(String::new() + "\u{7f}")),
        ),
    ];
    for (field, mutate) in cases {
        let mut e = ok.clone();
        mutate(&mut e);
        match e.validate() {
            Err(EntryError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
        // decode applies the same rules to the encoded form.
        assert!(AuditEntry::decode(&e.encode()).is_err(), "{field}");
    }
    for t in [
        "2024-02-29T23:59:60Z",
        "2025-12-31T00:00:00Z",
        "2025-01-01T00:00:00.123456789Z",
    ] {
        let mut e = ok.clone();
        e.time = t.into();
        assert_eq!(e.validate(), Ok(()), "{t}");
    }
    let mut multiline = ok.clone();
    multiline.reason = Some("line one\n\tline two, ünïcode".into());
    assert_eq!(multiline.validate(), Ok(()));
}

#[test]
fn serde_json_view_uses_lowercase_outcome() {
    let text = serde_json::to_string(&sample()).unwrap();
    assert!(text.contains("\"outcome\":\"success\""));
    let back: AuditEntry = serde_json::from_str(&text).unwrap();
    assert_eq!(back, sample());
}

/// The fast path never accepts what the full check rejects, and takes the
/// common case.
#[test]
fn fast_path_agrees_with_full_check() {
    let base = sample().encode();
    assert!(fast_accept(&base));
    let mut unicode = sample();
    unicode.reason = Some("prélèvement".into());
    assert!(!fast_accept(&unicode.encode()));
    assert_eq!(AuditEntry::check_encoded(&unicode.encode()), Ok(()));
    for i in 0..base.len() {
        for v in 0..=255u8 {
            let mut m = base.clone();
            m[i] = v;
            let full = parse(&m).and_then(|f| f.check());
            if fast_accept(&m) {
                assert_eq!(full, Ok(()), "byte {i} = {v:#x}");
            }
            assert_eq!(AuditEntry::check_encoded(&m), full);
        }
    }
}

/// Any byte string that decodes re-encodes to itself: the encoding is canonical.
#[test]
fn decode_then_encode_is_identity_under_mutation() {
    let base = sample().encode();
    let mut accepted = 0;
    for i in 0..base.len() {
        for delta in [1u8, 0x80, 0xff] {
            let mut m = base.clone();
            m[i] = m[i].wrapping_add(delta);
            if let Ok(e) = AuditEntry::decode(&m) {
                assert_eq!(e.encode(), m);
                accepted += 1;
            }
        }
    }
    assert!(accepted > 0);
}

/// The word-at-a-time checks agree with a byte-by-byte reference for every byte
/// value at every position and for every length up to 24.
#[test]
fn swar_checks_match_bytewise_reference() {
    let printable = |b: &[u8]| b.iter().all(|&c| (0x20..=0x7e).contains(&c));
    let hex = |b: &[u8]| b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    for len in 0..=24usize {
        for pos in 0..len.max(1) {
            for v in 0..=255u8 {
                let mut p = vec![b'a'; len];
                let mut h = vec![b'7'; len];
                if len > 0 {
                    p[pos] = v;
                    h[pos] = v;
                }
                assert_eq!(
                    printable_ascii(&p),
                    printable(&p),
                    "len {len} pos {pos} v {v:#x}"
                );
                assert_eq!(lower_hex(&h), hex(&h), "len {len} pos {pos} v {v:#x}");
            }
        }
    }
    // A high byte next to a byte that a carry could disturb.
    assert!(!printable_ascii(&[
        0xff, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e
    ]));
    assert!(!lower_hex(&[
        b'f', 0xff, b'0', b'0', b'0', b'0', b'0', b'0'
    ]));
}

#[test]
fn content_ref_borrows_resource_id_and_hash() {
    let mut e = sample();
    e.content_hash = Some("ab".repeat(32));
    let bytes = e.encode();
    let (res, id, hash) = AuditEntry::content_ref(&bytes).unwrap();
    assert_eq!(
        (res, id, hash),
        (
            e.resource.as_str(),
            e.resource_id.as_str(),
            "ab".repeat(32).as_str()
        )
    );
    e.content_hash = None;
    assert_eq!(AuditEntry::content_ref(&e.encode()), None);
    assert_eq!(AuditEntry::content_ref(&bytes[..bytes.len() / 2]), None);
}
