//! The listeners' view of enrollments: looked up on every handshake and message, refreshed
//! from the store (another process may enroll or revoke) and published to connections so
//! a revocation also ends connections already open.

use std::collections::HashMap;
use std::net::IpAddr;

use labguard_store::{Enrollment, Transport};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Registry {
    by_fp: HashMap<String, Enrollment>,
    legacy: Vec<Enrollment>,
}

impl Registry {
    pub fn new(all: Vec<Enrollment>) -> Registry {
        let mut r = Registry::default();
        for e in all {
            match (e.transport, &e.cert_fingerprint) {
                (Transport::Tls, Some(fp)) => {
                    r.by_fp.insert(fp.clone(), e);
                }
                (Transport::LegacyTcp, _) => r.legacy.push(e),
                (Transport::Tls, None) => {}
            }
        }
        r
    }

    /// The enrollment holding this certificate, revoked or not.
    pub fn by_fingerprint(&self, fp: &str) -> Option<&Enrollment> {
        self.by_fp.get(fp)
    }

    /// True when the certificate belongs to an enrolled, unrevoked device.
    pub fn certificate_active(&self, fp: &str) -> bool {
        self.by_fp.get(fp).is_some_and(Enrollment::is_active)
    }

    /// Active legacy enrollments allowing `addr` (IPv4-mapped IPv6 counts as IPv4).
    pub fn legacy_from(&self, addr: IpAddr) -> impl Iterator<Item = &Enrollment> {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        self.legacy
            .iter()
            .filter(move |e| e.is_active() && e.allow_from.contains(&addr))
    }
}
