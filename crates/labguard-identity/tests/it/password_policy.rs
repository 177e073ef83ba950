use labguard_identity::password::{ContextKind, MAX_LENGTH};
use labguard_identity::{check_password, PasswordProblem, PolicyContext};

fn lab_ctx(with_mfa: bool) -> PolicyContext {
    PolicyContext {
        with_mfa,
        lab_name: "Riverside Clinical Laboratory".into(),
        username: "jsmith".into(),
        display_name: "Jane Smithers".into(),
        other_words: vec!["jane.smithers@riverside-lab.example".into()],
    }
}

fn problems(pw: &str, ctx: &PolicyContext) -> Vec<PasswordProblem> {
    check_password(pw, ctx).err().unwrap_or_default()
}

/// Deterministic, non-repeating filler with no dictionary structure.
fn noise(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjkmnpqrstvwxz2346789#%&*+=?";
    let mut x: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(ALPHABET[(x as usize) % ALPHABET.len()])
        })
        .collect()
}

#[test]
fn single_factor_needs_15_characters() {
    let ctx = lab_ctx(false);
    let p = problems("vT9#qL2m@xR7wZ", &ctx);
    assert_eq!(
        p,
        vec![PasswordProblem::TooShort {
            min: 15,
            actual: 14
        }]
    );
    assert_eq!(p[0].message(), "must be at least 15 characters (it has 14)");
    assert_eq!(check_password("vT9#qL2m@xR7wZk", &ctx), Ok(()));
}

#[test]
fn with_mfa_8_characters_suffice() {
    let ctx = lab_ctx(true);
    assert_eq!(check_password("zq8#Lm2!", &ctx), Ok(()));
    assert_eq!(
        problems("zq8#Lm2", &ctx),
        vec![PasswordProblem::TooShort { min: 8, actual: 7 }]
    );
    // The same 8 characters are not enough as the only factor.
    assert_eq!(
        problems("zq8#Lm2!", &lab_ctx(false)),
        vec![PasswordProblem::TooShort { min: 15, actual: 8 }]
    );
}

#[test]
fn length_counts_code_points_after_nfkc() {
    let ctx = lab_ctx(false);
    // Ten accented letters typed in decomposed form: 20 code points, 10 after NFKC.
    let decomposed =
        "a\u{301}e\u{301}i\u{301}o\u{301}u\u{301}y\u{301}c\u{30c}d\u{30c}e\u{30c}n\u{30c}";
    assert_eq!(decomposed.chars().count(), 20);
    assert_eq!(
        problems(decomposed, &ctx),
        vec![PasswordProblem::TooShort {
            min: 15,
            actual: 10
        }]
    );
    // Non-Latin scripts and emoji count one per code point, and are accepted.
    let mixed = "ключ🔑草莓の夏zq8#Lm2!πλ";
    assert_eq!(mixed.chars().count(), 19);
    assert_eq!(check_password(mixed, &ctx), Ok(()));
    // A ligature expands under NFKC: "ﬁ" is counted as the two letters it stands for.
    let with_ligature = format!("\u{fb01}{}", noise(13));
    assert_eq!(check_password(&with_ligature, &ctx), Ok(()));
}

#[test]
fn maximum_is_128_characters() {
    let ctx = lab_ctx(false);
    let longest = noise(MAX_LENGTH);
    assert_eq!(check_password(&longest, &ctx), Ok(()));
    let too_long = noise(MAX_LENGTH + 1);
    let p = problems(&too_long, &ctx);
    assert_eq!(
        p,
        vec![PasswordProblem::TooLong {
            max: 128,
            actual: 129
        }]
    );
    assert_eq!(
        p[0].message(),
        "must be at most 128 characters (it has 129)"
    );
    // Huge inputs are refused without normalizing or scoring them.
    let huge = "x".repeat(1_000_000);
    assert_eq!(
        problems(&huge, &ctx),
        vec![PasswordProblem::TooLong {
            max: 128,
            actual: 1_000_000
        }]
    );
}

#[test]
fn no_composition_rules() {
    let ctx = lab_ctx(false);
    // All lower case, no digits, no symbols: fine if long and not predictable.
    assert_eq!(check_password("correct horse battery staple", &ctx), Ok(()));
    assert_eq!(check_password("blue-tram-coat-morning-tea", &ctx), Ok(()));
    assert_eq!(check_password("walrus umbrella fifteen", &ctx), Ok(()));
}

#[test]
fn common_and_breached_passwords_are_refused() {
    let mfa = lab_ctx(true);
    let solo = lab_ctx(false);
    for pw in ["P@ssw0rd", "sunshine", "dragonfly", "trustno1"] {
        assert_eq!(problems(pw, &mfa), vec![PasswordProblem::Breached], "{pw}");
    }
    for pw in ["Password1234567", "qwertyuiopasdfgh", "qazwsxedcrfvtgb"] {
        assert_eq!(problems(pw, &solo), vec![PasswordProblem::Breached], "{pw}");
    }
    assert_eq!(
        PasswordProblem::Breached.message(),
        "is on a list of commonly used or breached passwords"
    );
}

#[test]
fn word_with_digits_and_symbols_tacked_on_is_refused() {
    let ctx = lab_ctx(false);
    // Scores well on raw guesses, but it is one dictionary word plus a suffix.
    assert_eq!(
        problems("Internationalization2024!", &ctx),
        vec![PasswordProblem::CommonWords]
    );
    assert_eq!(
        problems("Summer2024!!", &lab_ctx(true)),
        vec![PasswordProblem::Breached]
    );
    assert_eq!(
        problems("!!Extraordinarily42", &ctx),
        vec![PasswordProblem::CommonWords]
    );
}

#[test]
fn repeats_and_sequences_are_refused() {
    let ctx = lab_ctx(false);
    for pw in [
        "aaaaaaaaaaaaaaa",
        "passwordpassword",
        "abcabcabcabcabcabc",
        "zyxwvutsrqponmlk",
    ] {
        assert_eq!(
            problems(pw, &ctx),
            vec![PasswordProblem::Predictable],
            "{pw}"
        );
    }
    assert!(PasswordProblem::Predictable
        .message()
        .starts_with("is too easy to guess"));
}

#[test]
fn context_words_are_refused() {
    let ctx = lab_ctx(false);
    let lab = problems("Our RIVERSIDE team rocks 9", &ctx);
    assert_eq!(
        lab,
        vec![PasswordProblem::ContainsContext {
            context: ContextKind::LabName
        }]
    );
    assert_eq!(lab[0].message(), "contains the lab's name");

    // Leet spelling and punctuation do not hide a context word.
    assert_eq!(
        problems("R1v3r-S1d3 morning tea k9", &ctx),
        vec![PasswordProblem::ContainsContext {
            context: ContextKind::LabName
        }]
    );
    assert_eq!(
        problems("tea with J$m1th at noon", &ctx),
        vec![PasswordProblem::ContainsContext {
            context: ContextKind::Username
        }]
    );
    assert_eq!(
        problems("smithers walks the dog", &ctx),
        vec![PasswordProblem::ContainsContext {
            context: ContextKind::DisplayName
        }]
    );
    assert_eq!(
        problems("my L4bGu4rd kettle hums", &ctx),
        vec![PasswordProblem::ContainsContext {
            context: ContextKind::ServiceName
        }]
    );
    assert_eq!(
        PasswordProblem::ContainsContext {
            context: ContextKind::Username
        }
        .message(),
        "contains your username"
    );
    // Generic words of the lab's name ("clinical", "laboratory") are not its name.
    assert_eq!(
        check_password("clinical laboratory kettle 42", &ctx),
        Ok(())
    );
}

#[test]
fn control_characters_are_refused() {
    let ctx = lab_ctx(false);
    assert_eq!(
        problems("walrus umbrella\nfifteen", &ctx),
        vec![PasswordProblem::ControlCharacter]
    );
}

#[test]
fn all_problems_are_reported_together() {
    let ctx = lab_ctx(false);
    let p = problems("Riverside1", &ctx);
    assert!(
        p.contains(&PasswordProblem::TooShort {
            min: 15,
            actual: 10
        }),
        "{p:?}"
    );
    assert!(
        p.contains(&PasswordProblem::ContainsContext {
            context: ContextKind::LabName
        }),
        "{p:?}"
    );
}

#[test]
fn messages_never_contain_the_password() {
    let ctx = lab_ctx(false);
    for pw in [
        "Riverside1",
        "sunshine",
        "aaaaaaaaaaaaaaa",
        "jsmith",
        "Password1234567",
    ] {
        let p = problems(pw, &ctx);
        assert!(!p.is_empty(), "{pw} should be refused");
        for problem in &p {
            let shown = format!("{} {:?}", problem, problem).to_lowercase();
            assert!(!shown.contains(&pw.to_lowercase()), "{shown}");
        }
    }
}

#[test]
fn problems_serialize_for_the_api() {
    let json = serde_json::to_value(PasswordProblem::TooShort {
        min: 15,
        actual: 11,
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"problem": "too-short", "min": 15, "actual": 11})
    );
    let json = serde_json::to_value(PasswordProblem::ContainsContext {
        context: ContextKind::LabName,
    });
    assert_eq!(
        json.unwrap(),
        serde_json::json!({"problem": "contains-context", "context": "lab-name"})
    );
}
