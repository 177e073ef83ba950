use serde::{Deserialize, Serialize};

use crate::{DomainError, Id};

/// The jobs people do in a lab, each with the least privilege that job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Phlebotomist,
    FrontDesk,
    LabTechnologist,
    Pathologist,
    SecurityOfficer,
    Auditor,
    Administrator,
}

/// What an action needs. Checked in the service layer; the UI only hides what is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Name, date of birth, contact details: enough to identify the patient in front of you.
    DemographicsRead,
    DemographicsWrite,
    /// Today's draws to collect and the tubes each needs.
    CollectionListRead,
    /// Record a blood draw (specimen) and place orders for it.
    SpecimenRecord,
    ResultRead,
    ResultEnter,
    ResultVerify,
    AuditRead,
    ReportsRead,
    /// Review break-glass accesses and security alerts.
    AlertsReview,
    AccountsManage,
    KeysManage,
    BackupManage,
    DevicesRead,
    DevicesManage,
    TrainingManage,
    PhishingManage,
    /// Run evidence collection, keep the risk register, incidents, policies and BAAs, and
    /// sign attestations (HIPAA compliance program).
    ComplianceManage,
    /// Review privacy-monitoring alerts and cases (who opened which patient's record):
    /// the pseudonymous log joined to staff names and patient flags.
    PrivacyReview,
    /// The privacy dashboard's pseudonymous counts only (no names, no cases).
    PrivacyDashboardRead,
}

use Permission as P;

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Phlebotomist,
        Role::FrontDesk,
        Role::LabTechnologist,
        Role::Pathologist,
        Role::SecurityOfficer,
        Role::Auditor,
        Role::Administrator,
    ];

    /// The permission matrix (documented in docs/permissions.md; a test keeps them equal).
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Phlebotomist => &[
                P::DemographicsRead,
                P::CollectionListRead,
                P::SpecimenRecord,
            ],
            Role::FrontDesk => &[
                P::DemographicsRead,
                P::DemographicsWrite,
                P::CollectionListRead,
            ],
            Role::LabTechnologist => &[
                P::DemographicsRead,
                P::CollectionListRead,
                P::ResultRead,
                P::ResultEnter,
            ],
            Role::Pathologist => &[P::DemographicsRead, P::ResultRead, P::ResultVerify],
            Role::SecurityOfficer => &[
                P::AuditRead,
                P::ReportsRead,
                P::AlertsReview,
                P::KeysManage,
                P::BackupManage,
                P::DevicesRead,
                P::DevicesManage,
                P::TrainingManage,
                P::PhishingManage,
                P::ComplianceManage,
                P::PrivacyReview,
                P::PrivacyDashboardRead,
            ],
            Role::Auditor => &[
                P::AuditRead,
                P::ReportsRead,
                P::DevicesRead,
                P::PrivacyDashboardRead,
            ],
            Role::Administrator => &[
                P::AccountsManage,
                P::BackupManage,
                P::DevicesRead,
                P::DevicesManage,
                P::TrainingManage,
            ],
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    /// Roles whose work shows patient data; these must sign in with MFA.
    pub fn sees_phi(self) -> bool {
        self.permissions()
            .iter()
            .any(|p| matches!(p, P::DemographicsRead | P::ResultRead))
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Phlebotomist => "phlebotomist",
            Role::FrontDesk => "front-desk",
            Role::LabTechnologist => "lab-technologist",
            Role::Pathologist => "pathologist",
            Role::SecurityOfficer => "security-officer",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
        }
    }

    pub fn from_code(s: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| DomainError::Unknown {
                kind: "role",
                value: s.chars().take(32).collect(),
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A member of staff. Names of staff are not PHI; they are stored in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: Id,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub email: String,
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_necessary() {
        assert!(Role::FrontDesk.allows(P::DemographicsRead));
        assert!(!Role::FrontDesk.allows(P::ResultRead));
        assert!(Role::Phlebotomist.allows(P::SpecimenRecord));
        assert!(!Role::Phlebotomist.allows(P::ResultRead));
        assert!(Role::LabTechnologist.allows(P::ResultEnter));
        assert!(!Role::LabTechnologist.allows(P::ResultVerify));
        assert!(Role::Pathologist.allows(P::ResultVerify));
        assert!(Role::Auditor.allows(P::AuditRead));
        assert!(!Role::Auditor.sees_phi());
        assert!(!Role::Administrator.sees_phi());
        assert!(Role::Administrator.allows(P::AccountsManage));
    }

    #[test]
    fn role_codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()).unwrap(), r);
        }
        assert!(Role::from_code("root").is_err());
    }
}
