//! One framed message as the listener sees it, from an enrolled TLS device and from an
//! allow-listed legacy address: decode, parse, sender checks, mapping, plausibility and
//! every ACK variant (original and enhanced mode). Any panic is a bug.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use chrono::{TimeZone, Utc};
use labguard_core::Id;
use labguard_mllp::handler::{handle, Decision, Peer};
use labguard_mllp::registry::Registry;
use labguard_store::{Enrollment, Transport};
use libfuzzer_sys::fuzz_target;

fn enrollment(name: &str, transport: Transport) -> Enrollment {
    Enrollment {
        id: Id::from_u128(name.len() as u128),
        name: name.into(),
        sending_app: "CHEM".into(),
        sending_facility: "LAB".into(),
        analytes: vec!["2345-7".into()],
        transport,
        cert_serial: Some("01".into()),
        cert_fingerprint: (transport == Transport::Tls).then(|| "fp".to_string()),
        allow_from: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        enrolled_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        revoked_at: None,
        protocol: labguard_store::Protocol::Hl7,
    }
}

fuzz_target!(|data: &[u8]| {
    let reg = Registry::new(vec![
        enrollment("tls", Transport::Tls),
        enrollment("legacy-1", Transport::LegacyTcp),
    ]);
    let peers = [
        Peer::Tls { addr: IpAddr::V4(Ipv4Addr::LOCALHOST), fingerprint: "fp".into() },
        Peer::Tcp { addr: IpAddr::V4(Ipv4Addr::LOCALHOST) },
    ];
    for peer in &peers {
        match handle(data, peer, &reg) {
            Decision::Reply { ack, .. } => assert!(ack.len() <= 1),
            Decision::Store { inbound, accept, error, reject } => {
                assert_eq!(inbound.raw, data);
                assert_eq!(inbound.holds.len(), inbound.results.len());
                assert!(accept.len() <= 2 && error.len() <= 1 && reject.len() <= 1);
            }
        }
    }
});
