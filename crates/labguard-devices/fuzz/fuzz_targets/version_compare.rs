//! Version comparison must be a total order on whatever parses: antisymmetric and
//! consistent with equality, and never panic. Input: two versions separated by a NUL.
#![no_main]

use labguard_devices::version::{Version, VersionScheme, VersRange};
use libfuzzer_sys::fuzz_target;

const SCHEMES: [VersionScheme; 5] = [
    VersionScheme::SemVer,
    VersionScheme::Pep440,
    VersionScheme::Maven,
    VersionScheme::Debian,
    VersionScheme::Generic,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, rest) = text.split_once('\0').unwrap_or((text, ""));
    let (b, c) = rest.split_once('\0').unwrap_or((rest, ""));
    for scheme in SCHEMES {
        let (Ok(va), Ok(vb)) = (Version::parse(scheme, a), Version::parse(scheme, b)) else {
            continue;
        };
        let ab = va.compare(&vb).expect("same scheme");
        let ba = vb.compare(&va).expect("same scheme");
        assert_eq!(ab, ba.reverse(), "{scheme:?}: {a:?} vs {b:?}");
        assert_eq!(va.compare(&va), Some(std::cmp::Ordering::Equal));
        if let Ok(vc) = Version::parse(scheme, c) {
            // Transitivity on the triple.
            let bc = vb.compare(&vc).expect("same scheme");
            let ac = va.compare(&vc).expect("same scheme");
            if ab.is_le() && bc.is_le() {
                assert!(ac.is_le(), "{scheme:?}: {a:?} <= {b:?} <= {c:?} but not {a:?} <= {c:?}");
            }
        }
    }
    if let Ok(r) = VersRange::parse(a) {
        if let Ok(v) = Version::parse(r.scheme(), b) {
            let _ = r.contains(&v);
        }
    }
    let _ = labguard_devices::cpe::Cpe::parse(a);
    let _ = labguard_devices::purl::Purl::parse(a);
    let _ = labguard_devices::risk::parse_cvss(a, Some(b));
});
