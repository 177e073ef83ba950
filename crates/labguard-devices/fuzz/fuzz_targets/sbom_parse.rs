//! SBOM and VEX parsers must return a result, never panic, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = labguard_devices::sbom::parse_sbom(data) {
        // Walk what was produced: effective versions and re-rendered identifiers.
        for c in sbom.all_components() {
            let _ = c.effective_version();
            if let Some(p) = &c.purl {
                let _ = labguard_devices::purl::Purl::parse(&p.to_string());
            }
            if let Some(cpe) = &c.cpe {
                let _ = labguard_devices::cpe::Cpe::parse(&cpe.to_string());
            }
        }
    }
    let _ = labguard_devices::advisory::parse_vex(data);
    let _ = labguard_devices::advisory::parse_kev_json(data);
});
