//! Connection admission: a global cap and a per-source cap, counted with RAII permits.
//!
//! Shared by the HTTPS listener and both MLLP listeners. Pure bookkeeping (no sockets, no
//! clock): the listener asks for a [`Permit`] right after `accept` and, when refused, closes
//! the socket without reading from it. Dropping the permit frees both slots.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The listener already holds its maximum number of connections.
    Global,
    /// This source address already holds its maximum number of connections.
    PerSource,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Global => "connection-cap",
            Refused::PerSource => "per-source-connection-cap",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Inner {
    max_total: usize,
    max_per_source: usize,
    counts: Mutex<Counts>,
}

/// The caps for one listener (or several sharing one budget). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Admission(Arc<Inner>);

/// An admitted connection; its slots are released on drop.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
    source: IpAddr,
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts as the IPv4 address, so a dual-stack socket
/// cannot double a host's allowance.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Admission {
    /// `max_total` connections in all, at most `max_per_source` from one address.
    pub fn new(max_total: usize, max_per_source: usize) -> Admission {
        Admission(Arc::new(Inner {
            max_total,
            max_per_source,
            counts: Mutex::new(Counts::default()),
        }))
    }

    /// Takes a slot for a connection from `source`, or says which cap is reached.
    pub fn try_admit(&self, source: IpAddr) -> Result<Permit, Refused> {
        let source = canonical(source);
        // The counters stay consistent under a poisoned lock: every update is one step.
        let mut c = self.0.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if c.total >= self.0.max_total {
            return Err(Refused::Global);
        }
        let n = c.by_source.entry(source).or_insert(0);
        if *n >= self.0.max_per_source {
            return Err(Refused::PerSource);
        }
        *n += 1;
        c.total += 1;
        Ok(Permit {
            inner: Arc::clone(&self.0),
            source,
        })
    }

    /// Connections held now.
    pub fn total(&self) -> usize {
        self.0
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    /// Connections held now from `source`.
    pub fn from_source(&self, source: IpAddr) -> usize {
        let c = self.0.counts.lock().unwrap_or_else(PoisonError::into_inner);
        c.by_source.get(&canonical(source)).copied().unwrap_or(0)
    }

    pub fn max_total(&self) -> usize {
        self.0.max_total
    }

    pub fn max_per_source(&self) -> usize {
        self.0.max_per_source
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = self
            .inner
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        // Forget sources with no connection left, so the map stays as small as the load.
        if let Some(n) = c.by_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn per_source_cap_refuses_past_its_limit_and_frees_on_drop() {
        let a = Admission::new(100, 2);
        let p1 = a.try_admit(ip(1)).unwrap();
        let _p2 = a.try_admit(ip(1)).unwrap();
        assert_eq!(a.try_admit(ip(1)).unwrap_err(), Refused::PerSource);
        // Another source is unaffected.
        let _q = a.try_admit(ip(2)).unwrap();
        drop(p1);
        assert!(a.try_admit(ip(1)).is_ok());
        assert_eq!(a.from_source(ip(1)), 1);
    }

    #[test]
    fn global_cap_refuses_every_source_once_full() {
        let a = Admission::new(3, 2);
        let held: Vec<_> = (1..=3).map(|i| a.try_admit(ip(i)).unwrap()).collect();
        assert_eq!(a.try_admit(ip(9)).unwrap_err(), Refused::Global);
        assert_eq!(a.total(), 3);
        drop(held);
        assert_eq!(a.total(), 0);
        assert_eq!(a.from_source(ip(1)), 0);
    }

    #[test]
    fn ipv4_mapped_ipv6_shares_the_ipv4_allowance() {
        let a = Admission::new(10, 1);
        let _p = a.try_admit(ip(7)).unwrap();
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 7).to_ipv6_mapped());
        assert_eq!(a.try_admit(mapped).unwrap_err(), Refused::PerSource);
        assert!(a.try_admit(IpAddr::V6(Ipv6Addr::LOCALHOST)).is_ok());
    }
}
