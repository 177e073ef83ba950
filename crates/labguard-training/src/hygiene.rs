//! Password and account hygiene panel: MFA coverage, blocklist failures, dormant accounts.
//!
//! The facts come from the identity crate; this only counts them, so the panel, the
//! compliance report and the CLI agree on the numbers.

use chrono::{DateTime, Duration, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

/// What identity knows about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    pub staff_id: Id,
    pub role: Role,
    pub active: bool,
    pub mfa_enrolled: bool,
    /// The password chosen at the last change was on the 800-63B blocklist (breached or
    /// common) and had to be rejected at least once.
    pub failed_blocklist_at_last_change: bool,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HygienePanel {
    pub active_accounts: usize,
    pub mfa_enrolled: usize,
    /// Percent of active accounts with MFA; 100 when there are no active accounts.
    pub mfa_coverage_percent: f64,
    /// Active accounts without MFA whose role sees patient data: fix these first.
    pub phi_without_mfa: Vec<Id>,
    pub blocklist_failures: Vec<Id>,
    /// Active accounts with no sign-in for `dormant_after_days` (counted from creation when
    /// they never signed in): candidates for disabling.
    pub dormant: Vec<Id>,
}

pub fn hygiene_panel(
    accounts: &[AccountFacts],
    dormant_after_days: u32,
    now: DateTime<Utc>,
) -> HygienePanel {
    let active: Vec<&AccountFacts> = accounts.iter().filter(|a| a.active).collect();
    let mfa = active.iter().filter(|a| a.mfa_enrolled).count();
    let cutoff = now - Duration::days(i64::from(dormant_after_days));
    let ids = |f: &dyn Fn(&AccountFacts) -> bool| -> Vec<Id> {
        let mut v: Vec<Id> = active.iter().filter(|a| f(a)).map(|a| a.staff_id).collect();
        v.sort();
        v
    };
    HygienePanel {
        active_accounts: active.len(),
        mfa_enrolled: mfa,
        mfa_coverage_percent: if active.is_empty() {
            100.0
        } else {
            mfa as f64 * 100.0 / active.len() as f64
        },
        phi_without_mfa: ids(&|a| !a.mfa_enrolled && a.role.sees_phi()),
        blocklist_failures: ids(&|a| a.failed_blocklist_at_last_change),
        dormant: ids(&|a| a.last_sign_in.unwrap_or(a.created_at) < cutoff),
    }
}
