//! `verify_proof_json` on arbitrary text: never panics, and its verdict does not
//! depend on how the document is re-serialised.
#![no_main]

use labguard_audit::{verify_proof_json, ConsistencyProofJson, InclusionProofJson, ProofKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verdict = verify_proof_json(text);
    // An accepted document, re-emitted by our own serialiser, is accepted again.
    if let Ok(kind) = verdict {
        let again = match kind {
            ProofKind::Inclusion { .. } => serde_json::from_str::<InclusionProofJson>(text)
                .map(|d| d.to_json_string())
                .expect("accepted inclusion proof parses"),
            ProofKind::Consistency { .. } => serde_json::from_str::<ConsistencyProofJson>(text)
                .map(|d| d.to_json_string())
                .expect("accepted consistency proof parses"),
        };
        assert_eq!(verify_proof_json(&again), Ok(kind));
    }
});
