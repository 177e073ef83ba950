use labguard_identity::password::HashError;
use labguard_identity::{hash_password, needs_rehash, verify_password, HashParams};

const SALT: &[u8; 16] = b"0123456789abcdef";

/// Made by argon2-cffi (the reference C implementation) with the same password in composed
/// form: `hash_secret(b"tr\xc3\xa8s-long mot de passe 42", b"0123456789abcdef",
/// time_cost=1, memory_cost=8, parallelism=1, hash_len=32, type=Type.ID)`.
const REFERENCE_TESTING_PHC: &str =
    "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$tzXmsBWtLaZuMuyKYPU2FI4x6zMyq5JtC7Untr4pqdU";

/// argon2-cffi `PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(
/// "correct horse battery staple")`, with its own random salt.
const REFERENCE_OWASP_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$1bRnXHPejdvuNZtZlKZpkA$CxFTgb5H9uCSIqEBFN4Dezd1EWx/DGNNgnSjM98HzoE";

#[test]
fn hash_then_verify() {
    let phc = hash_password("walrus umbrella fifteen", SALT, &HashParams::TESTING).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
    assert!(verify_password("walrus umbrella fifteen", &phc));
    assert!(!verify_password("walrus umbrella fifteen ", &phc));
    assert!(!verify_password("Walrus umbrella fifteen", &phc));
    assert!(!verify_password("", &phc));
}

#[test]
fn matches_the_reference_implementation_and_normalizes_nfkc() {
    // Typed with a combining grave accent; NFKC composes it to the bytes Python hashed.
    let decomposed = "tre\u{300}s-long mot de passe 42";
    let phc = hash_password(decomposed, SALT, &HashParams::TESTING).unwrap();
    assert_eq!(phc, REFERENCE_TESTING_PHC);
    assert!(verify_password(
        "très-long mot de passe 42",
        REFERENCE_TESTING_PHC
    ));
    assert!(verify_password(decomposed, REFERENCE_TESTING_PHC));
    assert!(!verify_password(
        "tres-long mot de passe 42",
        REFERENCE_TESTING_PHC
    ));
}

#[test]
fn verifies_owasp_hash_from_another_implementation() {
    assert!(verify_password(
        "correct horse battery staple",
        REFERENCE_OWASP_PHC
    ));
    assert!(!verify_password(
        "correct horse battery stapler",
        REFERENCE_OWASP_PHC
    ));
    assert!(!needs_rehash(REFERENCE_OWASP_PHC, &HashParams::OWASP));
}

#[test]
fn default_params_are_owasp() {
    let p = HashParams::default();
    assert_eq!(
        (p.memory_kib, p.iterations, p.parallelism),
        (19 * 1024, 2, 1)
    );
    let phc = hash_password("walrus umbrella fifteen", SALT, &p).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(verify_password("walrus umbrella fifteen", &phc));
}

#[test]
fn salt_is_recorded_and_changes_the_hash() {
    let a = hash_password("walrus umbrella fifteen", SALT, &HashParams::TESTING).unwrap();
    let b = hash_password("walrus umbrella fifteen", SALT, &HashParams::TESTING).unwrap();
    let c = hash_password(
        "walrus umbrella fifteen",
        b"fedcba9876543210",
        &HashParams::TESTING,
    )
    .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(verify_password("walrus umbrella fifteen", &c));
}

#[test]
fn salt_length_is_checked() {
    assert_eq!(
        hash_password("x", &[0u8; 15], &HashParams::TESTING),
        Err(HashError::SaltLength {
            min: 16,
            max: 48,
            actual: 15
        })
    );
    assert!(matches!(
        hash_password("x", &[0u8; 49], &HashParams::TESTING),
        Err(HashError::SaltLength { actual: 49, .. })
    ));
    assert!(hash_password("x", &[0u8; 48], &HashParams::TESTING).is_ok());
}

#[test]
fn invalid_params_are_an_error_not_a_panic() {
    let bad = HashParams {
        memory_kib: 1,
        iterations: 0,
        parallelism: 1,
    };
    assert!(matches!(
        hash_password("x", SALT, &bad),
        Err(HashError::Params(_))
    ));
}

#[test]
fn malformed_or_foreign_hashes_never_verify() {
    let phc = hash_password("walrus umbrella fifteen", SALT, &HashParams::TESTING).unwrap();
    // Flip one character of the digest.
    let mut tampered = phc.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(!verify_password("walrus umbrella fifteen", &tampered));
    for junk in [
        "",
        "not a hash",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "$2b$12$abcdefghijklmnopqrstuv",
    ] {
        assert!(!verify_password("walrus umbrella fifteen", junk), "{junk}");
    }
    // Same password under Argon2i: refused, only Argon2id is accepted.
    let argon2i = phc.replacen("$argon2id$", "$argon2i$", 1);
    assert!(!verify_password("walrus umbrella fifteen", &argon2i));
}

#[test]
fn absurd_costs_in_a_stored_hash_are_refused_without_running() {
    // 4 GiB would take seconds and gigabytes if attempted; refusing is instant.
    let huge = "$argon2id$v=19$m=4194304,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$tzXmsBWtLaZuMuyKYPU2FI4x6zMyq5JtC7Untr4pqdU";
    let started = std::time::Instant::now();
    assert!(!verify_password("très-long mot de passe 42", huge));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn needs_rehash_when_anything_differs() {
    let testing = hash_password("walrus umbrella fifteen", SALT, &HashParams::TESTING).unwrap();
    assert!(!needs_rehash(&testing, &HashParams::TESTING));
    assert!(needs_rehash(&testing, &HashParams::OWASP));
    let stronger = HashParams {
        iterations: 3,
        ..HashParams::TESTING
    };
    assert!(needs_rehash(&testing, &stronger));
    assert!(needs_rehash("garbage", &HashParams::TESTING));
    let argon2i = testing.replacen("$argon2id$", "$argon2i$", 1);
    assert!(needs_rehash(&argon2i, &HashParams::TESTING));
    // An 8-byte salt is below our minimum, so the hash should be redone.
    let short_salt =
        "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc$tzXmsBWtLaZuMuyKYPU2FI4x6zMyq5JtC7Untr4pqdU";
    assert!(needs_rehash(short_salt, &HashParams::TESTING));
}

#[test]
fn oversized_input_is_refused() {
    let huge = "x".repeat(10_000);
    assert!(matches!(
        hash_password(&huge, SALT, &HashParams::TESTING),
        Err(HashError::InputTooLong { .. })
    ));
    let phc = hash_password("x", SALT, &HashParams::TESTING).unwrap();
    assert!(!verify_password(&huge, &phc));
}
