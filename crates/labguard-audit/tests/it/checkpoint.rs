//! Signed checkpoints: round trips, key handling and rejection of every kind of
//! damaged note.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use labguard_audit::{
    key_id, leaf_hash, open_checkpoint, root_of, sign_checkpoint, Checkpoint, CheckpointError,
    VerifierKey, EMPTY_ROOT,
};

const ORIGIN: &str = "lab.example/audit";
const SEED: [u8; 32] = [0x11; 32];

fn vkey() -> VerifierKey {
    VerifierKey::from_seed(ORIGIN, &SEED).unwrap()
}

fn sample() -> Checkpoint {
    let leaves: Vec<_> = (0..10u8).map(|i| leaf_hash(&[i])).collect();
    Checkpoint::new(ORIGIN, 10, root_of(&leaves))
}

/// Signs arbitrary note text with `SEED`, bypassing the checkpoint body checks.
fn raw_note(text: &str) -> String {
    let sk = SigningKey::from_bytes(&SEED);
    let mut blob = key_id(ORIGIN, sk.verifying_key().as_bytes()).to_vec();
    blob.extend_from_slice(&sk.sign(text.as_bytes()).to_bytes());
    format!("{text}\n\u{2014} {ORIGIN} {}\n", STANDARD.encode(blob))
}

#[test]
fn round_trip_and_layout() {
    let cp = sample();
    let note = sign_checkpoint(&cp, ORIGIN, &SEED).unwrap();
    let lines: Vec<&str> = note.split('\n').collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "10");
    assert_eq!(lines[2], STANDARD.encode(cp.root));
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with("\u{2014} lab.example/audit "));
    // Signature blob is 4-byte key ID + 64-byte Ed25519 signature.
    let blob = STANDARD
        .decode(lines[4].rsplit(' ').next().unwrap())
        .unwrap();
    assert_eq!(blob.len(), 68);
    assert_eq!(blob[..4], vkey().key_id());
    assert_eq!(lines[5], "");
    assert_eq!(lines.len(), 6);
    assert_eq!(open_checkpoint(&note, &vkey()), Ok(cp));
}

#[test]
fn empty_tree_and_extensions() {
    let cp = Checkpoint::new(ORIGIN, 0, EMPTY_ROOT);
    let note = sign_checkpoint(&cp, ORIGIN, &SEED).unwrap();
    assert!(
        note.starts_with("lab.example/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n")
    );
    assert_eq!(open_checkpoint(&note, &vkey()), Ok(cp));

    let mut cp = sample();
    cp.extensions = vec!["first ext".into(), "second".into()];
    let note = sign_checkpoint(&cp, ORIGIN, &SEED).unwrap();
    assert_eq!(open_checkpoint(&note, &vkey()), Ok(cp.clone()));
    cp.extensions.push(String::new());
    assert_eq!(
        sign_checkpoint(&cp, ORIGIN, &SEED),
        Err(CheckpointError::InvalidExtension)
    );
}

#[test]
fn wrong_key_is_not_trusted() {
    let note = sign_checkpoint(&sample(), ORIGIN, &SEED).unwrap();
    let other_seed = VerifierKey::from_seed(ORIGIN, &[0x22; 32]).unwrap();
    assert_eq!(
        open_checkpoint(&note, &other_seed),
        Err(CheckpointError::NoSignatureFromKey {
            key_name: ORIGIN.into()
        })
    );
    let other_name = VerifierKey::from_seed("lab.example/other", &SEED).unwrap();
    assert!(matches!(
        open_checkpoint(&note, &other_name),
        Err(CheckpointError::NoSignatureFromKey { .. })
    ));
}

#[test]
fn tampering_breaks_the_signature() {
    let note = sign_checkpoint(&sample(), ORIGIN, &SEED).unwrap();
    let vk = vkey();
    let bigger = note.replacen("\n10\n", "\n11\n", 1);
    assert_eq!(
        open_checkpoint(&bigger, &vk),
        Err(CheckpointError::BadSignature)
    );
    let origin = note.replacen("lab.example/audit\n", "lab.example/audix\n", 1);
    assert_eq!(
        open_checkpoint(&origin, &vk),
        Err(CheckpointError::BadSignature)
    );

    // Flip one bit in each byte of the signature (after the 4-byte key ID).
    let sig_line = note.lines().nth(4).unwrap();
    let b64 = sig_line.rsplit(' ').next().unwrap();
    let blob = STANDARD.decode(b64).unwrap();
    for i in 4..blob.len() {
        let mut bad = blob.clone();
        bad[i] ^= 0x01;
        let forged = note.replacen(b64, &STANDARD.encode(&bad), 1);
        assert_eq!(
            open_checkpoint(&forged, &vk),
            Err(CheckpointError::BadSignature),
            "byte {i}"
        );
    }
    // A truncated signature from the known key is a bad signature, not ignored.
    let short = note.replacen(b64, &STANDARD.encode(&blob[..40]), 1);
    assert_eq!(
        open_checkpoint(&short, &vk),
        Err(CheckpointError::BadSignature)
    );
}

#[test]
fn other_signers_are_ignored_but_a_bad_known_signature_rejects() {
    let cp = sample();
    let note = sign_checkpoint(&cp, ORIGIN, &SEED).unwrap();
    let (text, our_sig) = note.split_once("\n\n").unwrap();
    let witness = sign_checkpoint(&cp, "witness.example/w1", &[0x33; 32]).unwrap();
    let witness_sig = witness.split_once("\n\n").unwrap().1;
    // Witness cosignature first, ours second: still opens.
    let cosigned = format!("{text}\n\n{witness_sig}{our_sig}");
    assert_eq!(open_checkpoint(&cosigned, &vkey()), Ok(cp.clone()));
    // Only the witness signature: not signed by our key.
    let only_witness = format!("{text}\n\n{witness_sig}");
    assert!(matches!(
        open_checkpoint(&only_witness, &vkey()),
        Err(CheckpointError::NoSignatureFromKey { .. })
    ));
    // Our name and key ID with a wrong signature next to a good one: reject.
    let (prefix, b64) = our_sig.trim_end().rsplit_once(' ').unwrap();
    let mut blob = STANDARD.decode(b64).unwrap();
    blob[10] ^= 0x80;
    let forged_line = format!("{prefix} {}\n", STANDARD.encode(&blob));
    let both = format!("{text}\n\n{our_sig}{forged_line}");
    assert_eq!(
        open_checkpoint(&both, &vkey()),
        Err(CheckpointError::BadSignature)
    );
}

#[test]
fn malformed_notes_are_rejected() {
    let vk = vkey();
    let note = sign_checkpoint(&sample(), ORIGIN, &SEED).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("no blank line", note.replacen("\n\n", "\n", 1)),
        (
            "no trailing newline",
            note.trim_end_matches('\n').to_owned(),
        ),
        (
            "no signatures",
            format!("{}\n", note.split_once("\n\n").unwrap().0),
        ),
        ("ascii dashes", note.replacen('\u{2014}', "--", 1)),
        ("carriage return", note.replacen('\n', "\r\n", 1)),
        ("tab", note.replacen("lab.example", "lab\t.example", 1)),
        ("bad base64", format!("{}*\n", note.trim_end())),
        ("empty line among signatures", format!("{note}\n")),
        (
            "signature of 4 bytes only",
            note.replacen(
                note.lines().nth(4).unwrap().rsplit(' ').next().unwrap(),
                &STANDARD.encode([1, 2, 3, 4]),
                1,
            ),
        ),
        ("too large", format!("{}{note}", "x".repeat(1 << 20))),
        (
            "too many signatures",
            format!("{note}{}", note.split_once("\n\n").unwrap().1.repeat(100)),
        ),
    ];
    for (what, bad) in cases {
        assert!(
            matches!(
                open_checkpoint(&bad, &vk),
                Err(CheckpointError::MalformedNote(_))
            ),
            "{what}: {:?}",
            open_checkpoint(&bad, &vk)
        );
    }
}

#[test]
fn signed_but_malformed_bodies_are_rejected() {
    let vk = vkey();
    let root = STANDARD.encode([7u8; 32]);
    // Sanity: the helper produces notes that open.
    assert!(open_checkpoint(&raw_note(&format!("{ORIGIN}\n5\n{root}\n")), &vk).is_ok());
    let bodies = [
        format!("{ORIGIN}\n5\n"),
        format!("{ORIGIN}\n05\n{root}\n"),
        format!("{ORIGIN}\n-5\n{root}\n"),
        format!("{ORIGIN}\n5 \n{root}\n"),
        format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
        format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([7u8; 31])),
        format!("{ORIGIN}\n5\n{}\n", &root[..43]),
        format!("\n5\n{root}\n"),
    ];
    for body in bodies {
        assert!(
            matches!(
                open_checkpoint(&raw_note(&body), &vk),
                Err(CheckpointError::MalformedCheckpoint(_))
            ),
            "{body:?}"
        );
    }
}

#[test]
fn invalid_names_and_vkeys() {
    assert_eq!(
        sign_checkpoint(&sample(), "has space", &SEED),
        Err(CheckpointError::InvalidKeyName)
    );
    assert_eq!(
        sign_checkpoint(&sample(), "a+b", &SEED),
        Err(CheckpointError::InvalidKeyName)
    );
    assert_eq!(
        sign_checkpoint(&Checkpoint::new("", 1, EMPTY_ROOT), ORIGIN, &SEED),
        Err(CheckpointError::InvalidOrigin)
    );
    let good = vkey().to_string();
    let parts: Vec<&str> = good.splitn(3, '+').collect();
    let (name, id) = (parts[0], parts[1]);
    for bad in [
        String::new(),
        "name".into(),
        "name+1234".into(),
        format!("{name}+{id}+"),
        format!("{name}+{id}+!!!"),
        format!("{name}+{id}+AgAA"),
        format!("{name}+123+{}", parts[2]),
        good.replacen(ORIGIN, "other", 1),
        good.replacen('+', "+0", 1),
    ] {
        assert!(VerifierKey::parse(&bad).is_err(), "{bad:?}");
    }
    // Ed25519 type byte must be 0x01.
    let mut raw = STANDARD.decode(parts[2]).unwrap();
    raw[0] = 0x02;
    let wrong_type = format!("{name}+{id}+{}", STANDARD.encode(&raw));
    assert_eq!(
        VerifierKey::parse(&wrong_type),
        Err(CheckpointError::MalformedVerifierKey("not an Ed25519 key"))
    );
}
