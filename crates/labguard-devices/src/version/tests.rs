use super::*;
use std::cmp::Ordering::{Equal, Greater, Less};

/// Asserts that `list` is strictly increasing under `scheme`, pairwise in every combination
/// (which also checks transitivity on the sample).
fn assert_increasing(scheme: VersionScheme, list: &[&str]) {
    for (i, a) in list.iter().enumerate() {
        for (j, b) in list.iter().enumerate() {
            let got = compare(scheme, a, b).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got, i.cmp(&j), "{scheme:?}: {a} vs {b}");
        }
    }
}

fn cmp(scheme: VersionScheme, a: &str, b: &str) -> std::cmp::Ordering {
    compare(scheme, a, b).unwrap()
}

#[test]
fn semver_precedence_from_the_spec() {
    // SemVer 2.0 §11 example chain.
    assert_increasing(
        VersionScheme::SemVer,
        &[
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ],
    );
}

#[test]
fn semver_build_metadata_is_ignored_and_prefixes_tolerated() {
    assert_eq!(
        cmp(VersionScheme::SemVer, "1.0.0+build.1", "1.0.0+zzz"),
        Equal
    );
    assert_eq!(cmp(VersionScheme::SemVer, "v1.2.3", "1.2.3"), Equal);
    assert_eq!(cmp(VersionScheme::SemVer, "1.2", "1.2.0"), Equal);
    assert_eq!(cmp(VersionScheme::SemVer, "1", "1.0.1"), Less);
    assert_eq!(cmp(VersionScheme::SemVer, "1.2-rc.1", "1.2.0"), Less);
    assert!(SemVersion::parse("1.2.3.4").is_err());
    assert!(SemVersion::parse("abc").is_err());
    assert!(SemVersion::parse("").is_err());
    assert!(SemVersion::parse("1.0.0-rc.1").unwrap().is_prerelease());
}

#[test]
fn pep440_ordering_example_from_the_pep() {
    assert_increasing(
        VersionScheme::Pep440,
        &[
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ],
    );
}

#[test]
fn pep440_epochs_normalization_and_errors() {
    let s = VersionScheme::Pep440;
    assert_eq!(cmp(s, "1!0.5", "2.0"), Greater);
    assert_eq!(cmp(s, "1.0", "1.0.0"), Equal);
    assert_eq!(cmp(s, "1.0-alpha1", "1.0a1"), Equal);
    assert_eq!(cmp(s, "1.0.c1", "1.0rc1"), Equal);
    assert_eq!(cmp(s, "1.0-1", "1.0.post1"), Equal);
    assert_eq!(cmp(s, "1.0rev", "1.0.post0"), Equal);
    assert_eq!(cmp(s, "V1.0.DEV", "1.0.dev0"), Equal);
    assert_eq!(cmp(s, "1.0a", "1.0a0"), Equal);
    assert_eq!(cmp(s, "1.0+ubuntu-1", "1.0+ubuntu.1"), Equal);
    assert!(Pep440Version::parse("1.0a1").unwrap().is_prerelease());
    assert!(!Pep440Version::parse("1.0.post1").unwrap().is_prerelease());
    for bad in [
        "",
        "abc",
        "1.0junk",
        "1.0+",
        "1.0+a..b",
        "1!",
        "99999999999999999999999",
    ] {
        assert!(Pep440Version::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn maven_version_order_specification_examples() {
    let s = VersionScheme::Maven;
    // Examples from Maven's "Version Order Specification".
    assert_eq!(cmp(s, "1", "1.1"), Less);
    assert_eq!(cmp(s, "1-snapshot", "1"), Less);
    assert_eq!(cmp(s, "1", "1-sp"), Less);
    assert_eq!(cmp(s, "1-foo2", "1-foo10"), Less);
    assert_eq!(cmp(s, "1.foo", "1-foo"), Equal);
    assert_eq!(cmp(s, "1-foo", "1-1"), Less);
    assert_eq!(cmp(s, "1-1", "1.1"), Less);
    for same in [
        "1.ga",
        "1-ga",
        "1-0",
        "1.0",
        "1",
        "1.0.0",
        "1-final",
        "1.RELEASE",
    ] {
        assert_eq!(cmp(s, same, "1"), Equal, "{same}");
    }
    assert_eq!(cmp(s, "1-sp", "1-ga"), Greater);
    assert_eq!(cmp(s, "1-sp.1", "1-ga.1"), Greater);
    assert_eq!(cmp(s, "1-a1", "1-alpha-1"), Equal);
    assert_eq!(cmp(s, "1-cr1", "1-rc1"), Equal);
}

#[test]
fn maven_qualifier_chain() {
    assert_increasing(
        VersionScheme::Maven,
        &[
            "1-alpha-1",
            "1-alpha-2",
            "1-beta-1",
            "1-m1",
            "1-rc1",
            "1-SNAPSHOT",
            "1",
            "1-sp1",
            "1-abc",
            "1-def",
            "1-1",
            "1.0.1",
            "1.1",
            "2.0.0.RC1",
            "2.0.0",
            "2.10.0",
        ],
    );
    assert_increasing(
        VersionScheme::Maven,
        &[
            "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
            "2.1.0.1", "2.2", "2.123",
        ],
    );
}

#[test]
fn debian_ordering_with_tilde_epochs_and_revisions() {
    assert_increasing(
        VersionScheme::Debian,
        &[
            "1.0~~", "1.0~~a", "1.0~", "1.0~rc1", "1.0", "1.0-1", "1.0-2", "1.0-10", "1.0a",
            "1.0+b1", "1.0.1", "2.0", "1:0.9",
        ],
    );
    let s = VersionScheme::Debian;
    assert_eq!(cmp(s, "0:1.0", "1.0"), Equal);
    assert_eq!(cmp(s, "1.0-0", "1.0"), Equal);
    assert_eq!(cmp(s, "2.36-9+deb12u4", "2.36-9+deb12u10"), Less);
    assert_eq!(cmp(s, "1.2.3-1ubuntu0.1", "1.2.3-1"), Greater);
    for bad in ["", "a:1.0", ":1.0", "-1", "1.0 beta"] {
        assert!(DebianVersion::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn generic_firmware_versions() {
    assert_increasing(
        VersionScheme::Generic,
        &[
            "1.9",
            "2.0rc1",
            "2.0",
            "2.0sp1",
            "2.0.1",
            "2.9.10",
            "2.10b7",
            "2.10",
            "v2.10-build7",
            "10.0",
        ],
    );
    assert_eq!(cmp(VersionScheme::Generic, "4.2", "4.2.0"), Equal);
    assert_eq!(cmp(VersionScheme::Generic, "R12_SP3", "r12-sp3"), Equal);
    assert_eq!(cmp(VersionScheme::Generic, "00012", "12"), Equal);
    assert!(GenericVersion::parse("...").is_err());
}

#[test]
fn huge_numbers_do_not_overflow() {
    let big = "123456789012345678901234567890";
    assert_eq!(
        cmp(VersionScheme::Debian, big, "99999999999999999999999999999"),
        Greater
    );
    assert_eq!(cmp(VersionScheme::Maven, big, "1"), Greater);
    assert_eq!(cmp(VersionScheme::Generic, big, "1"), Greater);
    assert!(Version::parse(VersionScheme::Generic, &"1.".repeat(200)).is_err());
}

#[test]
fn versions_of_different_schemes_are_not_compared() {
    let a = Version::parse(VersionScheme::SemVer, "1.0.0").unwrap();
    let b = Version::parse(VersionScheme::Generic, "1.0.0").unwrap();
    assert_eq!(a.compare(&b), None);
    assert_eq!(a.scheme(), VersionScheme::SemVer);
}

#[test]
fn vers_ranges_from_cyclonedx_vex_examples() {
    let r = VersRange::parse("vers:semver/>=2.2.0|<=2.4.0").unwrap();
    let v = |s| Version::parse(VersionScheme::SemVer, s).unwrap();
    assert!(r.contains(&v("2.2.0")) && r.contains(&v("2.3.7")) && r.contains(&v("2.4.0")));
    assert!(!r.contains(&v("2.4.1")) && !r.contains(&v("2.1.9")));
    // Written in reverse order; sorting makes it the same interval.
    let r = VersRange::parse("vers:semver/<7.0.0|>=1.5.0").unwrap();
    assert!(r.contains(&v("1.5.0")) && !r.contains(&v("7.0.0")) && !r.contains(&v("1.4.9")));
    let r = VersRange::parse("vers:semver/<1.5.0|>=7.0.0").unwrap();
    assert!(r.contains(&v("1.0.0")) && r.contains(&v("7.0.0")) && !r.contains(&v("3.0.0")));
    let r = VersRange::parse("vers:generic/>=2.9|<=4.1").unwrap();
    let g = |s| Version::parse(VersionScheme::Generic, s).unwrap();
    assert!(r.contains(&g("3.0")) && !r.contains(&g("4.2")));
    let r = VersRange::parse("vers:generic/1.0|!=2.0").unwrap();
    assert!(r.contains(&g("1.0")) && !r.contains(&g("2.0")) && !r.contains(&g("3.0")));
    assert!(VersRange::parse("vers:npm/*").unwrap().contains(&g("9")));
    for bad in [
        "semver/>=1",
        "vers:semver",
        "vers:/1.0",
        "vers:semver/>=",
        "vers:pypi/>=junk",
    ] {
        assert!(VersRange::parse(bad).is_err(), "{bad}");
    }
}
