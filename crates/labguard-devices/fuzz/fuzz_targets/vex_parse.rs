//! Arbitrary bytes through every advisory-side parser that reads vendor or CISA documents:
//! VEX (CycloneDX and CSAF, auto-detected and direct), the KEV catalog and NVD CVE JSON.
//! Any panic is a bug; a statement that parses must be usable for matching.
#![no_main]

use labguard_devices::advisory::{
    parse_csaf_vex, parse_cyclonedx_vex, parse_kev_json, parse_nvd_cve_json, parse_vex,
};
use labguard_devices::sbom::{Component, ComponentKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let probe = Component::new(ComponentKind::Library, "lodash");
    for doc in [parse_vex(data), parse_cyclonedx_vex(data), parse_csaf_vex(data)]
        .into_iter()
        .flatten()
    {
        for s in &doc.statements {
            let _ = s.is_about("CVE-2021-44228");
            let _ = s.covers(&probe, &[], Some("urn:uuid:00000000-0000-0000-0000-000000000000"));
        }
    }
    if let Ok(kev) = parse_kev_json(data) {
        for id in kev.entries.keys() {
            assert!(kev.contains(id));
        }
    }
    let _ = parse_nvd_cve_json(data);
});
