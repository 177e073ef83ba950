//! Break-glass: time-boxed emergency access to one patient's record outside a user's normal
//! duties (e.g. a critical result at night with no one else on shift).
//!
//! This module only decides whether a request is acceptable and for how long the grant runs.
//! The server **must** write an audit event when a grant is made and for every record access
//! made under it, and **must** raise an alert to the security officer (who reviews each one
//! with the `AlertsReview` permission) at the moment of the grant — break-glass is trusted
//! precisely because every use is seen and reviewed after the fact.

use chrono::{DateTime, TimeDelta, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassPolicy {
    /// How long a grant lasts.
    pub duration: TimeDelta,
    /// Minimum length of the stated reason, in characters, after trimming.
    pub min_reason_chars: usize,
    pub max_reason_chars: usize,
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        BreakGlassPolicy {
            duration: TimeDelta::minutes(60),
            min_reason_chars: 10,
            max_reason_chars: 1000,
        }
    }
}

/// What the user asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassRequest {
    pub user: Id,
    pub role: Role,
    pub patient_ref: Id,
    /// Free text shown to the reviewer. It may itself mention clinical details, so store it
    /// with the same protection as other PHI.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakGlassError {
    #[error("a reason is required")]
    ReasonMissing,
    #[error("the reason must be at least {min} characters (it has {actual})")]
    ReasonTooShort { min: usize, actual: usize },
    #[error("the reason must be at most {max} characters (it has {actual})")]
    ReasonTooLong { max: usize, actual: usize },
    #[error("the reason must not contain control characters")]
    ReasonControl,
    /// Break-glass widens patient-care access; roles that never handle patient data
    /// (auditor, security officer, administrator) have no clinical emergency to answer.
    #[error("the {0} role cannot use break-glass access")]
    RoleNotEligible(Role),
}

/// An accepted request: access to `patient_ref` for `user` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassGrant {
    /// Chosen by the caller (e.g. a fresh UUID) so audit events can refer to the grant.
    pub grant_id: Id,
    pub user: Id,
    pub role: Role,
    pub patient_ref: Id,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl BreakGlassGrant {
    /// True from `granted_at` up to (not including) `expires_at`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.granted_at <= now && now < self.expires_at
    }

    /// True when the grant is active and for this user and patient.
    pub fn covers(&self, user: Id, patient_ref: Id, now: DateTime<Utc>) -> bool {
        self.is_active(now) && self.user == user && self.patient_ref == patient_ref
    }
}

impl BreakGlassPolicy {
    /// Validates `request` and grants access from `now` for the policy's duration.
    pub fn grant(
        &self,
        request: BreakGlassRequest,
        grant_id: Id,
        now: DateTime<Utc>,
    ) -> Result<BreakGlassGrant, BreakGlassError> {
        if !request.role.sees_phi() {
            return Err(BreakGlassError::RoleNotEligible(request.role));
        }
        // Runs of whitespace count once, so padding cannot stretch a short reason.
        let reason = request
            .reason
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let actual = reason.chars().count();
        if actual == 0 {
            return Err(BreakGlassError::ReasonMissing);
        }
        if reason.chars().any(char::is_control) {
            return Err(BreakGlassError::ReasonControl);
        }
        if actual < self.min_reason_chars {
            return Err(BreakGlassError::ReasonTooShort {
                min: self.min_reason_chars,
                actual,
            });
        }
        if actual > self.max_reason_chars {
            return Err(BreakGlassError::ReasonTooLong {
                max: self.max_reason_chars,
                actual,
            });
        }
        Ok(BreakGlassGrant {
            grant_id,
            user: request.user,
            role: request.role,
            patient_ref: request.patient_ref,
            reason,
            granted_at: now,
            expires_at: now + self.duration,
        })
    }
}
