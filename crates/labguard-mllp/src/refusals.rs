//! Refused deliveries, aggregated: at most one audit entry per peer, device and reason per
//! interval, carrying how many refusals it stands for, so a peer reconnecting in a loop
//! cannot grow the audit log without bound. Pure bookkeeping: the caller passes the time
//! and writes the entries this returns.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use labguard_core::Id;

/// Who was refused and why: one aggregation bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub addr: IpAddr,
    /// The enrolled device the refusal concerned, if any.
    pub device: Option<Id>,
    /// The audit actor (the device's, or `device:unknown:ADDR`).
    pub actor: String,
    pub why: &'static str,
}

#[derive(Debug)]
struct Slot {
    /// When the last entry for this bucket was written (the interval starts there).
    since: Instant,
    /// Refusals not yet written.
    pending: u64,
}

/// Buckets of recent refusals.
#[derive(Debug)]
pub struct Refusals {
    interval: Duration,
    max_buckets: usize,
    slots: HashMap<Key, Slot>,
}

/// The default aggregation interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Buckets kept at once; past it, new peers share one bucket per reason (address 0.0.0.0),
/// so a sweep over many addresses cannot grow memory or the log either.
const MAX_BUCKETS: usize = 4096;

impl Refusals {
    pub fn new(interval: Duration) -> Refusals {
        Refusals {
            interval,
            max_buckets: MAX_BUCKETS,
            slots: HashMap::new(),
        }
    }

    /// Counts one refusal at `now`. Returns `Some((key, count))` when an entry is due now
    /// (the first refusal of a quiet bucket, or one arriving after its interval ended, with
    /// the refusals held since).
    pub fn note(&mut self, key: Key, now: Instant) -> Option<(Key, u64)> {
        let key = if self.slots.len() >= self.max_buckets && !self.slots.contains_key(&key) {
            Key {
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                device: None,
                actor: "unknown:many-sources".into(),
                why: key.why,
            }
        } else {
            key
        };
        match self.slots.get_mut(&key) {
            None => {
                self.slots.insert(
                    key.clone(),
                    Slot {
                        since: now,
                        pending: 0,
                    },
                );
                Some((key, 1))
            }
            Some(s) if now.duration_since(s.since) >= self.interval => {
                let n = s.pending + 1;
                s.since = now;
                s.pending = 0;
                Some((key, n))
            }
            Some(s) => {
                s.pending += 1;
                None
            }
        }
    }

    /// Entries due at `now`: buckets whose interval ended with refusals held. Buckets whose
    /// interval ended quietly are forgotten.
    pub fn due(&mut self, now: Instant) -> Vec<(Key, u64)> {
        let interval = self.interval;
        let mut out = Vec::new();
        self.slots.retain(|k, s| {
            if now.duration_since(s.since) < interval {
                return true;
            }
            if s.pending == 0 {
                return false;
            }
            out.push((k.clone(), s.pending));
            s.since = now;
            s.pending = 0;
            true
        });
        out
    }

    /// Everything held, for shutdown.
    pub fn drain(&mut self) -> Vec<(Key, u64)> {
        self.slots
            .drain()
            .filter(|(_, s)| s.pending > 0)
            .map(|(k, s)| (k, s.pending))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last: u8) -> Key {
        Key {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            device: None,
            actor: format!("device:unknown:10.0.0.{last}"),
            why: "source-not-allowed",
        }
    }

    #[test]
    fn one_entry_per_interval_carrying_the_count() {
        let mut r = Refusals::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(r.note(key(1), t0), Some((key(1), 1)));
        for i in 1..=500u64 {
            assert_eq!(r.note(key(1), t0 + Duration::from_millis(i * 100)), None);
        }
        // Another peer is its own bucket.
        assert!(r.note(key(2), t0).is_some());
        assert!(r.due(t0 + Duration::from_secs(59)).is_empty());
        let at = t0 + Duration::from_secs(60);
        assert_eq!(r.due(at), vec![(key(1), 500)]);
        // The next refusal waits for the next interval.
        assert_eq!(r.note(key(1), at + Duration::from_secs(1)), None);
        assert_eq!(
            r.note(key(1), at + Duration::from_secs(60)),
            Some((key(1), 2))
        );
    }

    #[test]
    fn quiet_buckets_are_forgotten_and_many_peers_share_one() {
        let mut r = Refusals::new(Duration::from_secs(60));
        r.max_buckets = 3;
        let t0 = Instant::now();
        for i in 0..10 {
            let _ = r.note(key(i), t0);
        }
        assert_eq!(r.slots.len(), 4, "three peers and the overflow bucket");
        assert!(r.due(t0 + Duration::from_secs(61)).len() == 1);
        assert!(r.due(t0 + Duration::from_secs(200)).is_empty());
        assert!(r.slots.is_empty());
    }
}
