//! Periodic access review (HIPAA 164.308(a)(3)(ii)(B)–(C), (a)(4)): which enabled accounts
//! have gone unused and should be disabled, and which lack the MFA their role requires.
//!
//! Disabled accounts are listed for completeness but raise no findings: they cannot sign in.

use chrono::{DateTime, TimeDelta, Utc};
use labguard_core::{Id, Permission, Role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessReviewPolicy {
    /// An enabled account unused for this long is dormant. New accounts that never signed in
    /// get the same grace period from their creation.
    pub dormant_after: TimeDelta,
}

impl Default for AccessReviewPolicy {
    fn default() -> Self {
        AccessReviewPolicy {
            dormant_after: TimeDelta::days(90),
        }
    }
}

/// What the review needs to know about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    pub user: Id,
    pub username: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub mfa_enrolled: bool,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// No sign-in for at least the dormancy period (`last_sign_in` is `None` if never).
    Dormant {
        last_sign_in: Option<DateTime<Utc>>,
        days_inactive: i64,
    },
    /// The role sees patient data and labguard requires MFA for it.
    MissingMfaPhiRole,
    /// The role can grant access or manage keys, which reaches patient data indirectly.
    MissingMfaPrivilegedRole,
}

impl Finding {
    /// A sentence for the reviewer.
    pub fn describe(&self) -> String {
        match self {
            Finding::Dormant {
                last_sign_in: None,
                days_inactive,
            } => format!("never signed in; created {days_inactive} days ago; disable it"),
            Finding::Dormant { days_inactive, .. } => {
                format!("no sign-in for {days_inactive} days; disable it if no longer needed")
            }
            Finding::MissingMfaPhiRole => {
                "role can see patient data but MFA is not enrolled".to_owned()
            }
            Finding::MissingMfaPrivilegedRole => {
                "role manages accounts or keys but MFA is not enrolled".to_owned()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReview {
    pub user: Id,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCounts {
    pub total: usize,
    pub enabled: usize,
    pub disabled: usize,
    pub dormant: usize,
    pub missing_mfa: usize,
    /// Enabled accounts with at least one finding.
    pub needing_action: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessReviewReport {
    pub generated_at: DateTime<Utc>,
    pub dormant_after_days: i64,
    /// Sorted by username.
    pub accounts: Vec<AccountReview>,
    pub counts: ReviewCounts,
}

impl AccessReviewReport {
    /// Accounts with at least one finding.
    pub fn needing_action(&self) -> impl Iterator<Item = &AccountReview> {
        self.accounts.iter().filter(|a| !a.findings.is_empty())
    }
}

fn privileged(role: Role) -> bool {
    role.allows(Permission::AccountsManage) || role.allows(Permission::KeysManage)
}

impl AccessReviewPolicy {
    pub fn review(&self, accounts: &[AccountFacts], now: DateTime<Utc>) -> AccessReviewReport {
        let mut counts = ReviewCounts {
            total: accounts.len(),
            ..ReviewCounts::default()
        };
        let mut out: Vec<AccountReview> = accounts
            .iter()
            .map(|a| {
                let findings = if a.disabled {
                    counts.disabled += 1;
                    Vec::new()
                } else {
                    counts.enabled += 1;
                    self.findings(a, now)
                };
                if findings
                    .iter()
                    .any(|f| matches!(f, Finding::Dormant { .. }))
                {
                    counts.dormant += 1;
                }
                if findings
                    .iter()
                    .any(|f| !matches!(f, Finding::Dormant { .. }))
                {
                    counts.missing_mfa += 1;
                }
                if !findings.is_empty() {
                    counts.needing_action += 1;
                }
                AccountReview {
                    user: a.user,
                    username: a.username.clone(),
                    role: a.role,
                    disabled: a.disabled,
                    findings,
                }
            })
            .collect();
        out.sort_by(|x, y| x.username.cmp(&y.username).then(x.user.cmp(&y.user)));
        AccessReviewReport {
            generated_at: now,
            dormant_after_days: self.dormant_after.num_days(),
            accounts: out,
            counts,
        }
    }

    fn findings(&self, a: &AccountFacts, now: DateTime<Utc>) -> Vec<Finding> {
        let mut findings = Vec::new();
        let since = a.last_sign_in.unwrap_or(a.created_at);
        let idle = now - since;
        if idle >= self.dormant_after {
            findings.push(Finding::Dormant {
                last_sign_in: a.last_sign_in,
                days_inactive: idle.num_days(),
            });
        }
        if !a.mfa_enrolled {
            if a.role.sees_phi() {
                findings.push(Finding::MissingMfaPhiRole);
            } else if privileged(a.role) {
                findings.push(Finding::MissingMfaPrivilegedRole);
            }
        }
        findings
    }
}
