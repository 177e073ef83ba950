//! OSV input (JSON or zip) must parse or fail cleanly, and whatever parses must be
//! matchable without panics: this drives the range evaluation with fuzzed bounds.
#![no_main]

use labguard_devices::matching::MatchIndex;
use labguard_devices::purl::Purl;
use labguard_devices::sbom::{Component, ComponentKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(import) = labguard_devices::advisory::parse_osv(data) else {
        return;
    };
    let index = MatchIndex::new(&import.advisories);
    let mut warnings = Vec::new();
    for adv in &import.advisories {
        for aff in &adv.affected {
            let Some(pkg) = &aff.package else { continue };
            // Probe the package at every version the record mentions.
            let probes = aff.versions.iter().cloned().chain(aff.ranges.iter().flat_map(|r| {
                r.events.iter().map(|e| match e {
                    labguard_devices::advisory::RangeEvent::Introduced(v)
                    | labguard_devices::advisory::RangeEvent::Fixed(v)
                    | labguard_devices::advisory::RangeEvent::LastAffected(v)
                    | labguard_devices::advisory::RangeEvent::Limit(v) => v.clone(),
                })
            }));
            for v in probes.take(16) {
                let mut c = Component::new(ComponentKind::Library, pkg.name.clone());
                c.version = Some(v);
                c.purl = pkg.purl.clone().or_else(|| Purl::parse(&format!("pkg:generic/{}", pkg.name)).ok());
                let _ = index.match_component(&c, &mut warnings);
            }
        }
    }
});
