//! The volume detector: distinct patients per user per hour and per (lab-local) day,
//! against median + k·MAD of the user's own completed buckets and of the role's pooled
//! buckets. Fires once per bucket, on the access that first crosses both thresholds, and
//! only once the user has `min_user_*` and the role `min_role_buckets` completed buckets.

use std::collections::{HashMap, HashSet};

use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::alert::{Bucket, Facts};
use crate::baseline::History;
use crate::config::Config;
use crate::model::{local_day, Access};

/// Median and MAD of a history, cached until the history changes (k is applied at check
/// time, so a tuning takes effect at once).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Stat {
    median: f64,
    mad: f64,
}

impl Stat {
    fn of(h: &History) -> Option<Stat> {
        h.baseline(0.0, 0.0).map(|b| Stat {
            median: b.median,
            mad: b.mad,
        })
    }

    fn threshold(&self, k: f64, min_mad: f64) -> f64 {
        self.median + k * self.mad.max(min_mad)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Counter {
    bucket: i64,
    role: Role,
    #[serde(with = "crate::serde_maps::set")]
    seen: HashSet<u64>,
    fired: bool,
}

/// One bucket size's history and cached statistic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Series {
    history: History,
    stat: Option<Stat>,
    /// The history changed since `stat` was computed.
    stale: bool,
}

impl Series {
    fn push(&mut self, count: u32, cap: usize) {
        self.history.push(count, cap);
        self.stale = true;
    }

    fn stat(&mut self) -> Option<Stat> {
        if self.stale || self.stat.is_none() {
            self.stat = Stat::of(&self.history);
            self.stale = false;
        }
        self.stat
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct UserVolume {
    hour: Option<Counter>,
    day: Option<Counter>,
    hours: Series,
    days: Series,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RoleVolume {
    hours: Series,
    days: Series,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct VolumeState {
    #[serde(with = "crate::serde_maps::map")]
    users: HashMap<Id, UserVolume>,
    #[serde(with = "crate::serde_maps::map")]
    roles: HashMap<Role, RoleVolume>,
}

impl VolumeState {
    /// Counts `a` and returns the buckets whose threshold it crossed.
    pub(crate) fn observe(&mut self, a: &Access, cfg: &Config) -> Vec<(Bucket, Facts)> {
        let fp = a.patient.fingerprint();
        let user = self.users.entry(a.staff).or_default();
        let mut out = vec![];
        for bucket in [Bucket::Hour, Bucket::Day] {
            let index = match bucket {
                Bucket::Hour => a.at.timestamp().div_euclid(3600),
                Bucket::Day => local_day(a.at, cfg.lab_utc_offset_minutes),
            };
            let (counter, series) = match bucket {
                Bucket::Hour => (&mut user.hour, &mut user.hours),
                Bucket::Day => (&mut user.day, &mut user.days),
            };
            // A later bucket closes the current one; an earlier one (clock skew between
            // nodes) counts in the current one.
            if counter.as_ref().is_none_or(|c| index > c.bucket) {
                if let Some(done) = counter.take() {
                    let n = u32::try_from(done.seen.len()).unwrap_or(u32::MAX);
                    series.push(n, cfg.volume.user_history);
                    let role = self.roles.entry(done.role).or_default();
                    let rs = match bucket {
                        Bucket::Hour => &mut role.hours,
                        Bucket::Day => &mut role.days,
                    };
                    rs.push(n, cfg.volume.role_history);
                }
                *counter = Some(Counter {
                    bucket: index,
                    role: a.role,
                    seen: HashSet::new(),
                    fired: false,
                });
            }
            let Some(c) = counter.as_mut() else { continue };
            if !c.seen.insert(fp) || c.fired {
                continue;
            }
            let n = u32::try_from(c.seen.len()).unwrap_or(u32::MAX);
            let role = self.roles.entry(a.role).or_default();
            let role_series = match bucket {
                Bucket::Hour => &mut role.hours,
                Bucket::Day => &mut role.days,
            };
            if let Some(facts) = check(n, bucket, series, role_series, a.role, cfg) {
                c.fired = true;
                out.push((bucket, facts));
            }
        }
        out
    }

    /// Heap bytes held, roughly (hash-table capacity times entry size).
    pub(crate) fn bytes(&self) -> usize {
        let set = |c: &Option<Counter>| c.as_ref().map_or(0, |c| c.seen.capacity() * 9);
        let series = |s: &Series| s.history.bytes() + std::mem::size_of::<Series>();
        let users: usize = self
            .users
            .values()
            .map(|u| {
                std::mem::size_of::<(Id, UserVolume)>()
                    + set(&u.hour)
                    + set(&u.day)
                    + series(&u.hours)
                    + series(&u.days)
            })
            .sum();
        let roles: usize = self
            .roles
            .values()
            .map(|r| series(&r.hours) + series(&r.days))
            .sum();
        users + roles
    }
}

fn check(
    n: u32,
    bucket: Bucket,
    user: &mut Series,
    role: &mut Series,
    r: Role,
    cfg: &Config,
) -> Option<Facts> {
    let v = &cfg.volume;
    let min_user = match bucket {
        Bucket::Hour => v.min_user_hours,
        Bucket::Day => v.min_user_days,
    };
    if n < v.min_count || user.history.len() < min_user || role.history.len() < v.min_role_buckets {
        return None;
    }
    let k = cfg.volume_k(r);
    let us = user.stat()?;
    let user_t = us.threshold(k, v.min_mad);
    if f64::from(n) <= user_t {
        return None;
    }
    let rs = role.stat()?;
    let role_t = rs.threshold(k, v.min_mad);
    if f64::from(n) <= role_t {
        return None;
    }
    Some(Facts {
        count: Some(n),
        threshold: Some(user_t.max(role_t)),
        user_median: Some(us.median),
        role_median: Some(rs.median),
        ..Facts::default()
    })
}
