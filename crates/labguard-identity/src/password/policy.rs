//! Which passwords labguard accepts.
//!
//! The rules follow NIST SP 800-63B rev 4: a length floor (15 code points when the password is
//! the only factor, 8 when it is used with MFA), a ceiling of 128 so any passphrase fits, any
//! Unicode (after NFKC), no composition rules ("one digit, one symbol") and no expiry. What is
//! refused is what an attacker tries first:
//!
//! - **Common or breached passwords.** The blocklist is the one the `zxcvbn` crate carries:
//!   30 000 passwords from leaked password dumps plus English words, first names, surnames and
//!   TV/film words, matched together with reversals, l33t substitutions, capitalisation,
//!   keyboard walks, repeats, sequences and dates. A password is refused when zxcvbn's estimate
//!   is under 10^6 guesses (its score 0 or 1): that is the range an online attacker working
//!   through a list of likely passwords reaches across many accounts even under our throttling,
//!   which is what the NIST blocklist is for. It is also refused when, once leading and
//!   trailing digits and symbols are stripped, what remains (at least half the password) is a
//!   single dictionary entry: "Internationalization2024!" scores well on guesses, but
//!   "word + year + !" is exactly what cracking rules try. We do not demand a higher score:
//!   past the blocklist, NIST asks for length, not complexity, and a random 8-character
//!   password (allowed with MFA) only reaches zxcvbn's score 2.
//! - **Context words**: the lab's name, the username, the display name, "labguard" and any
//!   other words the caller adds, found case-insensitively anywhere in the password after
//!   undoing common l33t substitutions and ignoring spaces and punctuation.
//!
//! zxcvbn scores dates against the current year, which it reads from the system clock; that
//! is the one clock read reachable from this module, and it only nudges estimates for
//! passwords that contain a date.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
use zeroize::Zeroizing;
use zxcvbn::matching::patterns::MatchPattern;
use zxcvbn::{zxcvbn, Score};

use super::{normalize, MAX_INPUT_BYTES};

/// Minimum length when the password is the only authentication factor (800-63B-4 3.1.1.2).
pub const MIN_LENGTH_SINGLE_FACTOR: usize = 15;
/// Minimum length when the password is one factor of MFA.
pub const MIN_LENGTH_WITH_MFA: usize = 8;
/// Maximum length. NIST asks for at least 64; 128 leaves room for long passphrases.
pub const MAX_LENGTH: usize = 128;

/// Context words shorter than this are not looked for: a 3-letter name such as "amy" would
/// flag "dreamy", and such short fragments add few guesses for an attacker anyway.
const MIN_CONTEXT_LEN: usize = 4;

/// Words in a lab's name that say what it is rather than which one it is; containing them
/// does not make a password about this lab.
const GENERIC_LAB_WORDS: &[&str] = &[
    "blood",
    "care",
    "center",
    "centre",
    "clinic",
    "clinical",
    "clinics",
    "diagnostic",
    "diagnostics",
    "group",
    "health",
    "healthcare",
    "hospital",
    "laboratories",
    "laboratory",
    "labs",
    "medical",
    "medicine",
    "pathology",
    "reference",
    "service",
    "services",
    "testing",
];

/// What the policy knows about the account and lab the password is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyContext {
    /// True when this password will always be used together with a second factor.
    pub with_mfa: bool,
    pub lab_name: String,
    pub username: String,
    pub display_name: String,
    /// Further words to keep out of passwords (e.g. the email address, the lab's town).
    pub other_words: Vec<String>,
}

impl PolicyContext {
    pub fn min_length(&self) -> usize {
        if self.with_mfa {
            MIN_LENGTH_WITH_MFA
        } else {
            MIN_LENGTH_SINGLE_FACTOR
        }
    }
}

/// Which piece of context a password contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextKind {
    LabName,
    Username,
    DisplayName,
    ServiceName,
    Other,
}

/// One reason a password was refused. `Display` completes the sentence "The password …" and
/// never quotes the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum PasswordProblem {
    #[error("must be at least {min} characters (it has {actual})")]
    TooShort { min: usize, actual: usize },
    #[error("must be at most {max} characters (it has {actual})")]
    TooLong { max: usize, actual: usize },
    #[error("must not contain control characters such as line breaks or tabs")]
    ControlCharacter,
    #[error("is on a list of commonly used or breached passwords")]
    Breached,
    #[error("is a common word, name or phrase, or a simple variation of one")]
    CommonWords,
    #[error(
        "is too easy to guess: it is built from repeated characters, sequences, dates or keyboard patterns"
    )]
    Predictable,
    #[error("contains {}", context_phrase(*.context))]
    ContainsContext { context: ContextKind },
}

impl PasswordProblem {
    /// The user-facing text (same as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

fn context_phrase(kind: ContextKind) -> &'static str {
    match kind {
        ContextKind::LabName => "the lab's name",
        ContextKind::Username => "your username",
        ContextKind::DisplayName => "your name",
        ContextKind::ServiceName => "the name of this service",
        ContextKind::Other => "a word related to this account or lab",
    }
}

impl fmt::Display for ContextKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(context_phrase(*self))
    }
}

/// Checks a candidate password against the policy. Returns every problem found, so the user
/// can fix them all at once.
pub fn check_password(password: &str, ctx: &PolicyContext) -> Result<(), Vec<PasswordProblem>> {
    if password.len() > MAX_INPUT_BYTES {
        // Not worth normalizing or scoring; the exact count is still cheap and useful.
        return Err(vec![PasswordProblem::TooLong {
            max: MAX_LENGTH,
            actual: password.chars().count(),
        }]);
    }
    let normalized = normalize(password);
    let length = normalized.chars().count();
    let mut problems = Vec::new();

    if length < ctx.min_length() {
        problems.push(PasswordProblem::TooShort {
            min: ctx.min_length(),
            actual: length,
        });
    }
    if length > MAX_LENGTH {
        problems.push(PasswordProblem::TooLong {
            max: MAX_LENGTH,
            actual: length,
        });
        // Scoring is the slow part; a password this long is refused anyway.
        return Err(problems);
    }
    if normalized.chars().any(char::is_control) {
        problems.push(PasswordProblem::ControlCharacter);
    }
    if length == 0 {
        return Err(problems);
    }

    let context_words = context_words(ctx);
    let folded = fold(&normalized);
    let mut found_context = Vec::new();
    for word in &context_words {
        if folded.contains(word.folded.as_str()) && !found_context.contains(&word.kind) {
            found_context.push(word.kind);
        }
    }
    let inputs: Vec<&str> = context_words.iter().map(|w| w.lower.as_str()).collect();
    if let Some(problem) = blocklist_problem(&normalized, &inputs, !found_context.is_empty()) {
        problems.push(problem);
    }
    problems.extend(
        found_context
            .into_iter()
            .map(|context| PasswordProblem::ContainsContext { context }),
    );

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A word an attacker who knows the account would try: folded the same way as the password
/// for our containment check, and lower-cased as given for zxcvbn (which does its own l33t
/// matching).
struct ContextWord {
    kind: ContextKind,
    folded: String,
    lower: String,
}

fn context_words(ctx: &PolicyContext) -> Vec<ContextWord> {
    let mut words: Vec<ContextWord> = Vec::new();
    let mut add = |kind: ContextKind, raw: &str| {
        let folded = fold(raw);
        if folded.chars().count() >= MIN_CONTEXT_LEN && !words.iter().any(|w| *w.folded == *folded)
        {
            words.push(ContextWord {
                kind,
                folded: folded.to_string(),
                lower: raw.trim().to_lowercase(),
            });
        }
    };
    add(ContextKind::ServiceName, "labguard");

    add(ContextKind::LabName, &ctx.lab_name);
    for part in split_words(&ctx.lab_name) {
        let generic = GENERIC_LAB_WORDS.contains(&part.to_lowercase().as_str());
        if !generic {
            add(ContextKind::LabName, part);
        }
    }

    add(ContextKind::Username, &ctx.username);
    for part in split_words(&ctx.username) {
        add(ContextKind::Username, part);
    }

    add(ContextKind::DisplayName, &ctx.display_name);
    for part in split_words(&ctx.display_name) {
        add(ContextKind::DisplayName, part);
    }

    for other in &ctx.other_words {
        add(ContextKind::Other, other);
        for part in split_words(other) {
            add(ContextKind::Other, part);
        }
    }
    words
}

fn split_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Lower-cases, strips accents, undoes common l33t substitutions and drops everything that
/// is not a letter or digit, so "L4b-Gu@rd!" and "labguard" compare equal. `1`, `l`, `!` and
/// `|` all become `i` because users substitute them for each other in both directions.
fn fold(s: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len()));
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)) {
        for lc in c.to_lowercase() {
            let mapped = match lc {
                '0' => 'o',
                '1' | 'l' | '!' | '|' => 'i',
                '3' => 'e',
                '4' | '@' => 'a',
                '5' | '$' => 's',
                '7' | '+' => 't',
                '8' => 'b',
                '9' => 'g',
                other => other,
            };
            if mapped.is_alphanumeric() {
                out.push(mapped);
            }
        }
    }
    out
}

/// Where the guessability of a password comes from, by how many characters each kind of
/// pattern covers.
#[derive(Default)]
struct Coverage {
    breached: usize,
    words: usize,
    context: usize,
    other: usize,
}

fn blocklist_problem(
    password: &str,
    inputs: &[&str],
    context_reported: bool,
) -> Option<PasswordProblem> {
    let entropy = zxcvbn(password, inputs);
    let weak = entropy.score() <= Score::One;
    let word_core = dictionary_core(password);
    if !weak && word_core.is_none() {
        return None;
    }
    if let Some(kind) = word_core {
        return Some(kind);
    }

    let mut cov = Coverage::default();
    for m in entropy.sequence() {
        let len = m.token.chars().count();
        match &m.pattern {
            MatchPattern::Dictionary(d) => match dictionary_name(&d.dictionary_name).as_str() {
                "Passwords" => cov.breached += len,
                "UserInputs" => cov.context += len,
                _ => cov.words += len,
            },
            MatchPattern::BruteForce => {}
            _ => cov.other += len,
        }
    }
    let top = cov.breached.max(cov.words).max(cov.other).max(cov.context);
    if top == 0 {
        Some(PasswordProblem::Predictable)
    } else if cov.context == top {
        // The context check already names what was found; say nothing twice.
        (!context_reported).then_some(PasswordProblem::Predictable)
    } else if cov.breached == top {
        Some(PasswordProblem::Breached)
    } else if cov.words == top {
        Some(PasswordProblem::CommonWords)
    } else {
        Some(PasswordProblem::Predictable)
    }
}

/// If the password, once leading and trailing digits and symbols are stripped, is one
/// dictionary entry covering at least half of it, says which kind of list it is on.
fn dictionary_core(password: &str) -> Option<PasswordProblem> {
    let core = password.trim_matches(|c: char| !c.is_alphabetic());
    let core_len = core.chars().count();
    if core_len == 0 || core_len * 2 < password.chars().count() {
        return None;
    }
    let entropy = zxcvbn(core, &[]);
    match entropy.sequence() {
        [only] => match &only.pattern {
            MatchPattern::Dictionary(d) => {
                if dictionary_name(&d.dictionary_name) == "Passwords" {
                    Some(PasswordProblem::Breached)
                } else {
                    Some(PasswordProblem::CommonWords)
                }
            }
            _ => None,
        },
        _ => None,
    }
}

/// zxcvbn does not export its dictionary enum, only its `Debug` form, which names the list.
fn dictionary_name(d: &impl fmt::Debug) -> String {
    format!("{d:?}")
}
