//! The facts evidence collectors judge: gathered read-only by the store ([`Facts`]) or
//! supplied by the training and device subsystems through [`ExternalFacts`]. Counts and
//! dates only, never PHI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A recorded run of an operation (audit verify, backup, restore drill, access review).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub duration_ms: Option<i64>,
}

/// Key-management facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyFacts {
    /// When the active data key was created (None: no active key).
    pub active_data_key_created: Option<DateTime<Utc>>,
    pub active_data_key_version: Option<i64>,
    /// A rotation started and not finished, with its start time.
    pub rotation_started: Option<DateTime<Utc>>,
}

/// Account facts (counts only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountFacts {
    pub enabled: u32,
    pub enabled_with_mfa: u32,
    /// Enabled accounts whose role sees patient data.
    pub phi_enabled: u32,
    pub phi_enabled_with_mfa: u32,
    /// Enabled accounts with a generic name (admin, lab, shared, …).
    pub generic_names: Vec<String>,
    /// Enabled accounts sharing one e-mail address with another enabled account.
    pub shared_email_accounts: u32,
}

/// A recorded departure and when the account was disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaver {
    pub user: String,
    pub left_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Break-glass alerts and their reviews.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakGlassFacts {
    pub total: u32,
    /// Creation times of alerts not yet reviewed.
    pub unreviewed: Vec<DateTime<Utc>>,
}

/// Web server settings as last started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFacts {
    pub started_at: DateTime<Utc>,
    pub idle_timeout_secs: i64,
    pub tls: bool,
    pub min_tls: String,
}

/// Incident register facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub total: u32,
    pub open: u32,
    /// Open incidents older than 30 days without a breach assessment.
    pub unassessed_over_30_days: u32,
    /// Notification deadlines passed without the notice being recorded.
    pub overdue_notifications: u32,
}

/// Training and phishing numbers (issue 6's store fills this in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingFacts {
    pub as_of: DateTime<Utc>,
    pub assigned: u32,
    pub completed: u32,
    /// (role code, assignments overdue)
    pub overdue_by_role: Vec<(String, u32)>,
    /// Phishing simulations in the last 12 months.
    pub phishing_sent: u32,
    pub phishing_clicked: u32,
    pub phishing_reported: u32,
    /// Last security reminder sent to staff.
    pub last_reminder: Option<DateTime<Utc>>,
}

/// Device security numbers (issue 5's store fills this in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceFacts {
    pub as_of: DateTime<Utc>,
    pub devices: u32,
    /// Devices with owner, location, network and software recorded.
    pub devices_complete: u32,
    /// Last time a person reviewed the whole inventory and network map.
    pub inventory_reviewed_at: Option<DateTime<Utc>>,
    /// Devices whose last security assessment is within its interval.
    pub assessments_current: u32,
    /// Open KEV-listed or critical vulnerabilities past their remediation deadline.
    pub kev_or_critical_past_deadline: u32,
    pub last_vulnerability_scan: Option<DateTime<Utc>>,
    pub last_penetration_test: Option<DateTime<Utc>>,
}

/// Where training and device facts come from; the lead wires these to their stores.
pub trait ExternalFacts {
    fn training(&self) -> Option<TrainingFacts>;
    fn devices(&self) -> Option<DeviceFacts>;
}

/// No training or device subsystem connected.
pub struct NoExternalFacts;

impl ExternalFacts for NoExternalFacts {
    fn training(&self) -> Option<TrainingFacts> {
        None
    }
    fn devices(&self) -> Option<DeviceFacts> {
        None
    }
}

/// Everything the store-backed collectors need, gathered in one read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub keys: KeyFacts,
    pub last_verify: Option<Run>,
    pub last_good_backup: Option<Run>,
    pub last_restore_drill: Option<Run>,
    pub accounts: AccountFacts,
    pub server: Option<ServerFacts>,
    pub last_access_review: Option<Run>,
    pub leavers: Vec<Leaver>,
    pub break_glass: BreakGlassFacts,
    pub incidents: IncidentFacts,
    #[serde(default)]
    pub privacy: PrivacyFacts,
}

/// Privacy monitoring's case book (counts only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivacyFacts {
    /// Whether the scanner has examined any access yet.
    pub scanned: bool,
    pub cases: u32,
    pub closed: u32,
    /// Closed with a sanction (the sanction policy applied).
    pub sanctions: u32,
    pub referred: u32,
    /// Open cases first alerted over 30 days ago.
    pub open_over_30_days: u32,
}
