//! Detector settings: lab-wide defaults and per-role tuning. Tuning only changes through
//! [`crate::Tuning`] records (who, why, when), which the store audits.

use std::collections::{BTreeMap, BTreeSet};

use labguard_core::Role;
use serde::{Deserialize, Serialize};

use crate::alert::Detector;

/// The volume detector's statistic (see [`crate::baseline`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeConfig {
    /// Threshold = median + k·max(MAD, min_mad), on both the user's and the role's history.
    pub k: f64,
    pub min_mad: f64,
    /// Completed active hours / days of the user's own history before it can fire.
    pub min_user_hours: usize,
    pub min_user_days: usize,
    /// Completed buckets the role's pooled history needs.
    pub min_role_buckets: usize,
    /// How many buckets each history keeps.
    pub user_history: usize,
    pub role_history: usize,
    /// Never fire below this many distinct patients in the bucket.
    pub min_count: u32,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        VolumeConfig {
            k: 5.0,
            min_mad: 1.0,
            min_user_hours: 40,
            min_user_days: 10,
            min_role_buckets: 20,
            user_history: 240,
            role_history: 2000,
            min_count: 10,
        }
    }
}

/// Per-role overrides, each set by a tuning record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleTuning {
    pub disabled: BTreeSet<Detector>,
    pub volume_k: Option<f64>,
    pub after_hours_grace_minutes: Option<u16>,
    pub relationship_before_hours: Option<u32>,
    pub dormant_after_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// A care event this many hours before the access links it.
    pub relationship_before_hours: u32,
    /// ... or this many after (a front-desk lookup just before the order is placed). The
    /// store scans only accesses older than this ([`Config::settled_before`]).
    pub relationship_after_hours: u32,
    /// A repeat of the same detector on the same user and patient within this many hours is
    /// linked to the first alert.
    pub repeat_window_hours: u32,
    /// A patient with no activity for this many days counts as dormant.
    pub dormant_after_days: u32,
    pub after_hours_grace_minutes: u16,
    /// The lab's offset from UTC, for the volume detector's day buckets.
    pub lab_utc_offset_minutes: i16,
    pub volume: VolumeConfig,
    pub roles: BTreeMap<Role, RoleTuning>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            relationship_before_hours: 30 * 24,
            relationship_after_hours: 24,
            repeat_window_hours: 24,
            dormant_after_days: 365,
            after_hours_grace_minutes: 60,
            lab_utc_offset_minutes: 0,
            volume: VolumeConfig::default(),
            roles: BTreeMap::new(),
        }
    }
}

impl Config {
    fn role(&self, role: Role) -> Option<&RoleTuning> {
        self.roles.get(&role)
    }

    pub fn enabled(&self, role: Role, d: Detector) -> bool {
        !self.role(role).is_some_and(|t| t.disabled.contains(&d))
    }

    pub fn volume_k(&self, role: Role) -> f64 {
        self.role(role)
            .and_then(|t| t.volume_k)
            .unwrap_or(self.volume.k)
    }

    pub fn after_hours_grace(&self, role: Role) -> u16 {
        self.role(role)
            .and_then(|t| t.after_hours_grace_minutes)
            .unwrap_or(self.after_hours_grace_minutes)
    }

    pub fn relationship_before(&self, role: Role) -> u32 {
        self.role(role)
            .and_then(|t| t.relationship_before_hours)
            .unwrap_or(self.relationship_before_hours)
    }

    pub fn dormant_after(&self, role: Role) -> u32 {
        self.role(role)
            .and_then(|t| t.dormant_after_days)
            .unwrap_or(self.dormant_after_days)
    }

    /// The newest access time the store should hand to [`crate::scan`] at `now`: later
    /// accesses may still gain a care link (an order placed after the lookup).
    pub fn settled_before(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        now - chrono::Duration::hours(i64::from(self.relationship_after_hours))
    }
}
