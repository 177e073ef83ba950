use chrono::{DateTime, TimeZone, Utc};
use labguard_identity::recovery::{generate, BYTES_PER_CODE, DEFAULT_COUNT};
use labguard_identity::RecoveryError;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 0).unwrap()
}

/// Deterministic stand-in for the caller's CSPRNG.
fn random(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(97).wrapping_add(13))
        .collect()
}

fn is_code_shape(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b))
        })
}

#[test]
fn generates_ten_distinct_friendly_codes() {
    let generated = generate(DEFAULT_COUNT, &random(100), at(0)).unwrap();
    assert_eq!(generated.plaintext.len(), 10);
    assert_eq!(generated.stored.codes.len(), 10);
    let mut seen = std::collections::BTreeSet::new();
    for code in &generated.plaintext {
        assert!(is_code_shape(code), "{}", code.as_str());
        assert!(seen.insert(code.to_string()));
    }
    assert_eq!(generated.stored.remaining(), 10);
}

#[test]
fn encoding_is_big_endian_base32() {
    let zeros = generate(1, &[0u8; BYTES_PER_CODE], at(0)).unwrap();
    assert_eq!(zeros.plaintext[0].as_str(), "0000-0000-0000-0000");
    let ones = generate(1, &[0xffu8; BYTES_PER_CODE], at(0)).unwrap();
    assert_eq!(ones.plaintext[0].as_str(), "zzzz-zzzz-zzzz-zzzz");
    let mut last_bit = [0u8; BYTES_PER_CODE];
    last_bit[9] = 1;
    let one = generate(1, &last_bit, at(0)).unwrap();
    assert_eq!(one.plaintext[0].as_str(), "0000-0000-0000-0001");
    let mut first_bit = [0u8; BYTES_PER_CODE];
    first_bit[0] = 0x80;
    let top = generate(1, &first_bit, at(0)).unwrap();
    assert_eq!(top.plaintext[0].as_str(), "g000-0000-0000-0000");
}

#[test]
fn only_hashes_are_stored() {
    let generated = generate(1, &[0u8; BYTES_PER_CODE], at(0)).unwrap();
    // SHA-256("labguard recovery code v1\0" || "0000000000000000"), computed with Python's
    // hashlib.
    assert_eq!(
        generated.stored.codes[0].sha256,
        "06078a6e66789108ce272177596bbf0323060c76f2ef0acb1ef63d3a855e853a"
    );
    let json = serde_json::to_string(&generated.stored).unwrap();
    assert!(!json.contains("0000-0000"), "{json}");
    assert!(!json.contains("0000000000000000"), "{json}");
    assert!(!format!("{generated:?}").contains("0000-0000"));
}

#[test]
fn a_code_works_once() {
    let generated = generate(DEFAULT_COUNT, &random(100), at(0)).unwrap();
    let mut set = generated.stored.clone();
    let code = generated.plaintext[3].clone();
    assert_eq!(set.consume(&code, at(60)), Ok(3));
    assert_eq!(set.codes[3].used_at, Some(at(60)));
    assert_eq!(set.remaining(), 9);
    assert_eq!(set.consume(&code, at(120)), Err(RecoveryError::AlreadyUsed));
    assert_eq!(set.codes[3].used_at, Some(at(60)));
    // The others still work.
    assert_eq!(set.consume(&generated.plaintext[9], at(180)), Ok(9));
    assert_eq!(set.remaining(), 8);
}

#[test]
fn typing_variations_are_accepted() {
    let generated = generate(1, &[0u8; BYTES_PER_CODE], at(0)).unwrap();
    let mut set = generated.stored.clone();
    // Upper case, no dashes, spaces, and O for 0.
    assert_eq!(set.consume("OOOO 0000 oooo 0000", at(1)), Ok(0));

    let ones = generate(1, &[0u8, 0, 0, 0, 0, 0, 0, 0, 0, 1], at(0)).unwrap();
    let mut set = ones.stored.clone();
    // "l" and "I" read as "1".
    assert_eq!(set.consume("0000-0000-0000-000L", at(1)), Ok(0));
    let mut set = ones.stored.clone();
    assert_eq!(set.consume("000000000000000I", at(1)), Ok(0));
}

#[test]
fn wrong_and_malformed_codes() {
    let generated = generate(DEFAULT_COUNT, &random(100), at(0)).unwrap();
    let mut set = generated.stored.clone();
    assert_eq!(
        set.consume("0000-0000-0000-0000", at(1)),
        Err(RecoveryError::Invalid)
    );
    for bad in [
        "",
        "abc",
        "uuuu-uuuu-uuuu-uuuu",
        "0000-0000-0000-00000",
        "ééééééééééééééé",
    ] {
        assert_eq!(set.consume(bad, at(1)), Err(RecoveryError::Format), "{bad}");
    }
    assert_eq!(set.remaining(), 10);
}

#[test]
fn random_input_is_checked() {
    assert_eq!(
        generate(10, &random(99), at(0)).map(|_| ()),
        Err(RecoveryError::RandomLength {
            count: 10,
            expected: 100,
            actual: 99
        })
    );
    assert_eq!(
        generate(0, &[], at(0)).map(|_| ()),
        Err(RecoveryError::Count)
    );
    assert_eq!(
        generate(33, &random(330), at(0)).map(|_| ()),
        Err(RecoveryError::Count)
    );
}

#[test]
fn stored_set_round_trips_through_json() {
    let generated = generate(DEFAULT_COUNT, &random(100), at(0)).unwrap();
    let mut set = generated.stored.clone();
    set.consume(&generated.plaintext[0], at(5)).unwrap();
    let json = serde_json::to_string(&set).unwrap();
    let mut back: labguard_identity::RecoveryCodeSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, set);
    assert_eq!(
        back.consume(&generated.plaintext[0], at(6)),
        Err(RecoveryError::AlreadyUsed)
    );
    assert_eq!(back.consume(&generated.plaintext[1], at(6)), Ok(1));
}
