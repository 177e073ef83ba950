//! Normalization of surnames and addresses before the store computes their blind keys, so
//! "Müller", "MUELLER"-free spellings aside, "müller " and "Muller" give one key, and
//! "12 Oak Street, Apt. 4" matches "12 oak st apt 4". Both sides (staff and patient) must be
//! normalized by the same function before hashing.
//!
//! Total on any input: never panics, output is lowercase ASCII letters, digits and single
//! spaces (letters without an ASCII folding are kept as lowercase).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Street-type and unit words to their USPS-style abbreviations (Publication 28), plus
/// directionals. Both spellings map to the abbreviation so either input gives one key.
const ADDRESS_WORDS: &[(&str, &str)] = &[
    ("street", "st"),
    ("str", "st"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("road", "rd"),
    ("boulevard", "blvd"),
    ("drive", "dr"),
    ("lane", "ln"),
    ("court", "ct"),
    ("place", "pl"),
    ("square", "sq"),
    ("terrace", "ter"),
    ("parkway", "pkwy"),
    ("highway", "hwy"),
    ("circle", "cir"),
    ("crescent", "cres"),
    ("apartment", "apt"),
    ("suite", "ste"),
    ("unit", "unit"),
    ("floor", "fl"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
    ("northeast", "ne"),
    ("northwest", "nw"),
    ("southeast", "se"),
    ("southwest", "sw"),
];

/// Words that carry no identity in an address.
const ADDRESS_NOISE: &[&str] = &["number", "no"];

/// Folds case and accents; letters that do not decompose get their usual transliteration.
/// Twice, because lowercasing can yield a combining mark and NFKD an uppercase letter
/// ("℃" is "°C"); the second pass settles both, so normalizing is idempotent.
fn fold(input: &str) -> String {
    fold_once(&fold_once(input))
}

fn fold_once(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'ß' | 'ẞ' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' => out.push('d'),
            'þ' | 'Þ' => out.push_str("th"),
            'ı' => out.push('i'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Lowercase words: letters and digits; apostrophes vanish ("O'Brien" = "obrien"), every
/// other character separates words.
fn words(folded: &str) -> Vec<String> {
    let mut words = vec![];
    let mut cur = String::new();
    for c in folded.chars() {
        if c.is_alphanumeric() {
            cur.push(c);
        } else if matches!(c, '\'' | '’' | 'ʼ' | '`') {
            continue;
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// A surname as the blind key's input: case- and accent-folded, punctuation dropped,
/// hyphenated and spaced parts joined by one space ("García-López" = "garcia lopez").
pub fn normalize_name(name: &str) -> String {
    words(&fold(name)).join(" ")
}

/// An address line (street, number, unit) as the blind key's input: folded like names,
/// street suffixes and directionals abbreviated, "no."/"number" dropped, "#4" = "4".
pub fn normalize_address(address: &str) -> String {
    let folded = fold(address);
    let mut out: Vec<&str> = vec![];
    let ws = words(&folded);
    for w in &ws {
        if ADDRESS_NOISE.contains(&w.as_str()) {
            continue;
        }
        let word = ADDRESS_WORDS
            .iter()
            .find(|(long, _)| long == w)
            .map(|(_, short)| *short)
            .unwrap_or(w.as_str());
        out.push(word);
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_accents_punctuation_and_spaces() {
        assert_eq!(normalize_name("  Müller "), "muller");
        assert_eq!(normalize_name("MULLER"), "muller");
        assert_eq!(normalize_name("García-López"), "garcia lopez");
        assert_eq!(normalize_name("garcia   lopez"), "garcia lopez");
        assert_eq!(normalize_name("O'Brien"), "obrien");
        assert_eq!(normalize_name("Strauß"), "strauss");
        assert_eq!(normalize_name("Łukasiewicz"), "lukasiewicz");
        assert_eq!(normalize_name("Ｓｍｉｔｈ"), "smith"); // full-width, via NFKD
        assert_ne!(normalize_name("Smith"), normalize_name("Smyth"));
        assert_eq!(normalize_name(""), "");
        assert_eq!(normalize_name("--- ''"), "");
    }

    #[test]
    fn addresses_abbreviate_suffixes_units_and_directionals() {
        assert_eq!(
            normalize_address("12 Oak Street, Apartment 4"),
            "12 oak st apt 4"
        );
        assert_eq!(normalize_address("12 OAK ST. APT #4"), "12 oak st apt 4");
        assert_eq!(
            normalize_address("1200 North Main Avenue"),
            "1200 n main ave"
        );
        assert_eq!(normalize_address("5, Rue de l'Église"), "5 rue de leglise");
        assert_eq!(normalize_address("No. 7 Elm Rd"), "7 elm rd");
        assert_ne!(
            normalize_address("12 Oak St"),
            normalize_address("14 Oak St")
        );
    }

    proptest::proptest! {
        #[test]
        fn normalizing_is_total_tidy_and_idempotent(s in "\\PC{0,40}") {
            for f in [normalize_name, normalize_address] {
                let once = f(&s);
                proptest::prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
                proptest::prop_assert!(!once.contains("  "));
                proptest::prop_assert_eq!(f(&once), once.clone());
            }
        }
    }
}
