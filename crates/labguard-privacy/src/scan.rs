//! The incremental scanner: a fold over accesses in audit-sequence order. The state (cursor,
//! volume baselines, recent alerts for repeat-linking) is plain data the store saves between
//! runs, so each entry is examined once, and scanning a stream in any number of batches
//! gives the same alerts as one pass (tests/scan_split.rs).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use labguard_core::Id;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertId, Bucket, Detector, Facts};
use crate::config::Config;
use crate::detect::findings;
use crate::model::{Access, Reason, ScanContext};
use crate::volume::VolumeState;

/// What repeats are linked on: the same user, detector, break-glass or not, and patient
/// (fingerprint; 0 for after-hours and volume, which link per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct RepeatKey {
    staff: Id,
    detector: Detector,
    break_glass: bool,
    slot: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Repeat {
    first: AlertId,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanState {
    /// The last audit sequence number examined; entries at or below it are skipped.
    pub cursor: Option<u64>,
    /// Accesses examined so far (skipped ones not counted).
    pub examined: u64,
    volume: VolumeState,
    #[serde(with = "crate::serde_maps::map")]
    repeats: HashMap<RepeatKey, Repeat>,
    /// The hour (since the epoch) repeats were last pruned in.
    pruned_hour: i64,
}

impl ScanState {
    /// Heap and inline bytes the state holds, roughly: what the bench reports as memory.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.volume.bytes()
            + self.repeats.capacity() * (std::mem::size_of::<(RepeatKey, Repeat)>() + 1)
    }

    fn examine(&mut self, a: &Access, ctx: &impl ScanContext, cfg: &Config, out: &mut Vec<Alert>) {
        self.prune(a.at, cfg);
        let break_glass = matches!(a.reason, Reason::BreakGlass { .. });
        for f in findings(ctx, a, cfg) {
            let slot = match f.detector {
                Detector::AfterHours => 0,
                _ => a.patient.fingerprint(),
            };
            let id = AlertId {
                seq: a.seq,
                detector: f.detector,
                bucket: None,
            };
            out.push(self.alert(a, id, slot, f.facts, break_glass, cfg));
        }
        if cfg.enabled(a.role, Detector::Volume) {
            for (bucket, facts) in self.volume.observe(a, cfg) {
                out.push(volume_alert(a, bucket, facts, break_glass));
            }
        } else {
            // Keep counting so the baseline is there if the detector is turned back on.
            let _ = self.volume.observe(a, cfg);
        }
        self.examined += 1;
    }

    fn alert(
        &mut self,
        a: &Access,
        id: AlertId,
        slot: u64,
        facts: Facts,
        break_glass: bool,
        cfg: &Config,
    ) -> Alert {
        let key = RepeatKey {
            staff: a.staff,
            detector: id.detector,
            break_glass,
            slot,
        };
        let window = chrono::Duration::hours(i64::from(cfg.repeat_window_hours));
        let linked_to = match self.repeats.get(&key) {
            Some(r) if a.at - r.at < window => Some(r.first),
            _ => {
                self.repeats.insert(
                    key,
                    Repeat {
                        first: id,
                        at: a.at,
                    },
                );
                None
            }
        };
        Alert {
            id,
            detector: id.detector,
            seq: a.seq,
            at: a.at,
            staff: a.staff,
            role: a.role,
            patient: Some(a.patient.clone()),
            facts,
            linked_to,
            break_glass,
        }
    }

    /// Drops repeat entries past the window, once per hour of access time: memory only,
    /// an expired entry is never linked to anyway.
    fn prune(&mut self, at: DateTime<Utc>, cfg: &Config) {
        let hour = at.timestamp().div_euclid(3600);
        if hour <= self.pruned_hour {
            return;
        }
        self.pruned_hour = hour;
        let window = chrono::Duration::hours(i64::from(cfg.repeat_window_hours));
        self.repeats.retain(|_, r| at - r.at < window);
    }
}

fn volume_alert(a: &Access, bucket: Bucket, facts: Facts, break_glass: bool) -> Alert {
    let id = AlertId {
        seq: a.seq,
        detector: Detector::Volume,
        bucket: Some(bucket),
    };
    Alert {
        id,
        detector: Detector::Volume,
        seq: a.seq,
        at: a.at,
        staff: a.staff,
        role: a.role,
        patient: None,
        facts,
        linked_to: None,
        break_glass,
    }
}

/// Examines every access in `batch` after the state's cursor, in order, and returns the
/// new state and the alerts raised. `batch` must be in sequence order (the store reads it
/// so); an entry at or below the cursor, re-delivered or out of order, is skipped.
pub fn scan(
    mut state: ScanState,
    batch: &[Access],
    ctx: &impl ScanContext,
    cfg: &Config,
) -> (ScanState, Vec<Alert>) {
    let mut alerts = vec![];
    for a in batch {
        if state.cursor.is_some_and(|c| a.seq <= c) {
            continue;
        }
        state.examine(a, ctx, cfg, &mut alerts);
        state.cursor = Some(a.seq);
    }
    (state, alerts)
}

/// The on-demand scan: replays `accesses` (from the start of the history the baseline
/// should see) from a fresh state and keeps the alerts raised in `from..to`. Equal to the
/// incremental scanner's alerts for that period over the same entries.
pub fn rescan(
    accesses: &[Access],
    ctx: &impl ScanContext,
    cfg: &Config,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Alert> {
    let (_, alerts) = scan(ScanState::default(), accesses, ctx, cfg);
    alerts
        .into_iter()
        .filter(|a| a.at >= from && a.at < to)
        .collect()
}
