//! Audit actions: every action the store writes to the audit log, each with the stable
//! string code entries carry. The codes are part of the signed log (existing logs must keep
//! verifying and reading the same), so a code is never changed, only added.

/// One kind of audited operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `privacy.access-report`
    PrivacyAccessReport,
    /// `privacy.case.false-positive`
    PrivacyCaseFalsePositive,
    /// `privacy.scan`
    PrivacyScan,
    /// `privacy.case.read`
    PrivacyCaseRead,
    /// `privacy.case.open`: the scan opened a case (or moved one from the old JSON book).
    PrivacyCaseOpen,
    /// `privacy.case.assign`
    PrivacyCaseAssign,
    /// `privacy.case.note`
    PrivacyCaseNote,
    /// `privacy.case.close`
    PrivacyCaseClose,
    /// `privacy.flag`
    PrivacyFlag,
    /// `privacy.profile`
    PrivacyProfile,
    /// `privacy.dashboard`
    PrivacyDashboard,
    /// `privacy.tune`
    PrivacyTune,
    /// `qc.material.set`
    QcMaterialSet,
    /// `qc.file`
    QcFile,
    /// `qc.read`
    QcRead,
    /// `qc.recall`: a rejected QC run recalled a filed result for review.
    QcRecall,
    /// `qc.recall.decide`
    QcRecallDecide,
    /// The SIEM forwarder started for a sink.
    SiemForward,
    /// A sink's collector is unreachable and events are queuing (alert raised).
    SiemBacklog,
    /// A sink's queue drained after a backlog.
    SiemRecovered,
    /// An ad-hoc export of SIEM events (`labguard siem export`).
    SiemExport,
    /// `phishing.report.read`
    PhishingReportRead,
    /// `phishing.campaign.list`
    PhishingCampaignList,
    /// `training.assignments.read`
    TrainingAssignmentsRead,
    /// `staff.list`
    StaffList,
    /// `training.read`
    TrainingRead,
    /// `access.review`
    AccessReview,
    /// `account.create`
    AccountCreate,
    /// `account.departure`
    AccountDeparture,
    /// `account.disable`
    AccountDisable,
    /// `account.list`
    AccountList,
    /// `account.password`
    AccountPassword,
    /// `account.reset-password`
    AccountResetPassword,
    /// `advisory.import`
    AdvisoryImport,
    /// `advisory.read`
    AdvisoryRead,
    /// `alert.create`
    AlertCreate,
    /// `alert.list`
    AlertList,
    /// `alert.raise`
    AlertRaise,
    /// `alert.review`
    AlertReview,
    /// `api-token.create`
    ApiTokenCreate,
    /// `api-token.list`
    ApiTokenList,
    /// `api-token.revoke`
    ApiTokenRevoke,
    /// `assessment.read`
    AssessmentRead,
    /// `assessment.record`
    AssessmentRecord,
    /// `assessment.sign-off`
    AssessmentSignOff,
    /// `attestation.read`
    AttestationRead,
    /// `attestation.sign`
    AttestationSign,
    /// `audit.read`
    AuditRead,
    /// `audit.verify`
    AuditVerify,
    /// `auth.lock`
    AuthLock,
    /// `auth.password`
    AuthPassword,
    /// `auth.recovery-code`
    AuthRecoveryCode,
    /// `auth.sign-in`
    AuthSignIn,
    /// `auth.sign-in-failure`
    AuthSignInFailure,
    /// `auth.sign-out`
    AuthSignOut,
    /// `auth.throttled`
    AuthThrottled,
    /// `auth.sso.sign-in`
    AuthSsoSignIn,
    /// `auth.sso.refused`
    AuthSsoRefused,
    /// `auth.sso.session-ended`
    AuthSsoSessionEnded,
    /// `auth.unlock`
    AuthUnlock,
    /// `baa.add`
    BaaAdd,
    /// `baa.read`
    BaaRead,
    /// `backup.create`
    BackupCreate,
    /// `backup.restore`
    BackupRestore,
    /// `backup.verify`
    BackupVerify,
    /// `break-glass.grant`
    BreakGlassGrant,
    /// `break-glass.read`
    BreakGlassRead,
    /// `device.control.add`
    DeviceControlAdd,
    /// `device.create`
    DeviceCreate,
    /// `device.link.add`
    DeviceLinkAdd,
    /// `device.read`
    DeviceRead,
    /// `device.scan`
    DeviceScan,
    /// `device.update`
    DeviceUpdate,
    /// `evidence.collect`
    EvidenceCollect,
    /// `evidence.read`
    EvidenceRead,
    /// `finding.read`
    FindingRead,
    /// `finding.record`
    FindingRecord,
    /// `finding.snapshot`
    FindingSnapshot,
    /// `held-result.create`
    HeldResultCreate,
    /// `held-result.read`
    HeldResultRead,
    /// `held-result.rejected`
    HeldResultRejected,
    /// `held-result.released`
    HeldResultReleased,
    /// `incident.read`
    IncidentRead,
    /// `incident.save`
    IncidentSave,
    /// `instrument.enroll`
    InstrumentEnroll,
    /// `instrument.revoke`
    InstrumentRevoke,
    /// `kev.import`
    KevImport,
    /// `keys.rotate`
    KeysRotate,
    /// `keys.rotate.finish`
    KeysRotateFinish,
    /// `keys.rotate.row`
    KeysRotateRow,
    /// `keys.rotate.start`
    KeysRotateStart,
    /// `keys.seal`
    KeysSeal,
    /// `lab.set-domains`
    LabSetDomains,
    /// `message.receive`
    MessageReceive,
    /// `message.refuse`
    MessageRefuse,
    /// `mfa.change`
    MfaChange,
    /// `mfa.enroll`
    MfaEnroll,
    /// `mfa.enroll-start`
    MfaEnrollStart,
    /// `order.create`
    OrderCreate,
    /// `patient.create`
    PatientCreate,
    /// `patient.list`
    PatientList,
    /// `patient.read`
    PatientRead,
    /// `patient.search`
    PatientSearch,
    /// `phishing.campaign.create`
    PhishingCampaignCreate,
    /// `phishing.campaign.launch`
    PhishingCampaignLaunch,
    /// `phishing.event.clicked`
    PhishingEventClicked,
    /// `phishing.event.opened`
    PhishingEventOpened,
    /// `phishing.event.reported`
    PhishingEventReported,
    /// `phishing.event.sent`
    PhishingEventSent,
    /// `phishing.event.submitted`
    PhishingEventSubmitted,
    /// `phishing.send`
    PhishingSend,
    /// `phishing.send.claim`
    PhishingSendClaim,
    /// `phishing.send.fail`
    PhishingSendFail,
    /// `phishing.send.retry`
    PhishingSendRetry,
    /// `phishing.send.unconfirmed`
    PhishingSendUnconfirmed,
    /// `policy.add`
    PolicyAdd,
    /// `policy.read`
    PolicyRead,
    /// `result.create`
    ResultCreate,
    /// `result.read`
    ResultRead,
    /// `result.verify`
    ResultVerify,
    /// `risk.read`
    RiskRead,
    /// `risk.update`
    RiskUpdate,
    /// `run.record`
    RunRecord,
    /// `sbom.import`
    SbomImport,
    /// `sbom.read`
    SbomRead,
    /// `score.read`
    ScoreRead,
    /// `score.record`
    ScoreRecord,
    /// `server.start`
    ServerStart,
    /// `session.revoke`
    SessionRevoke,
    /// `specimen.create`
    SpecimenCreate,
    /// `specimen.list`
    SpecimenList,
    /// `specimen.read`
    SpecimenRead,
    /// `specimen.search`
    SpecimenSearch,
    /// `staff.create`
    StaffCreate,
    /// `training.assign`
    TrainingAssign,
    /// `training.assign.remedial`
    TrainingAssignRemedial,
    /// `training.attempt.start`
    TrainingAttemptStart,
    /// `training.attempt.submit`
    TrainingAttemptSubmit,
    /// `training.complete`
    TrainingComplete,
    /// `training.course.add`
    TrainingCourseAdd,
    /// `training.remind`
    TrainingRemind,
    /// `vex.import`
    VexImport,
}

impl Action {
    /// Every action, for listing and for the uniqueness check.
    pub const ALL: &'static [Action] = &[
        Action::PrivacyAccessReport,
        Action::PrivacyCaseFalsePositive,
        Action::PrivacyScan,
        Action::PrivacyCaseRead,
        Action::PrivacyCaseOpen,
        Action::PrivacyCaseAssign,
        Action::PrivacyCaseNote,
        Action::PrivacyCaseClose,
        Action::PrivacyFlag,
        Action::PrivacyProfile,
        Action::PrivacyDashboard,
        Action::PrivacyTune,
        Action::QcMaterialSet,
        Action::QcFile,
        Action::QcRead,
        Action::QcRecall,
        Action::QcRecallDecide,
        Action::SiemForward,
        Action::SiemBacklog,
        Action::SiemRecovered,
        Action::SiemExport,
        Action::PhishingReportRead,
        Action::PhishingCampaignList,
        Action::TrainingAssignmentsRead,
        Action::StaffList,
        Action::TrainingRead,
        Action::AccessReview,
        Action::AccountCreate,
        Action::AccountDeparture,
        Action::AccountDisable,
        Action::AccountList,
        Action::AccountPassword,
        Action::AccountResetPassword,
        Action::AdvisoryImport,
        Action::AdvisoryRead,
        Action::AlertCreate,
        Action::AlertList,
        Action::AlertRaise,
        Action::AlertReview,
        Action::ApiTokenCreate,
        Action::ApiTokenList,
        Action::ApiTokenRevoke,
        Action::AssessmentRead,
        Action::AssessmentRecord,
        Action::AssessmentSignOff,
        Action::AttestationRead,
        Action::AttestationSign,
        Action::AuditRead,
        Action::AuditVerify,
        Action::AuthLock,
        Action::AuthPassword,
        Action::AuthRecoveryCode,
        Action::AuthSignIn,
        Action::AuthSignInFailure,
        Action::AuthSignOut,
        Action::AuthThrottled,
        Action::AuthSsoSignIn,
        Action::AuthSsoRefused,
        Action::AuthSsoSessionEnded,
        Action::AuthUnlock,
        Action::BaaAdd,
        Action::BaaRead,
        Action::BackupCreate,
        Action::BackupRestore,
        Action::BackupVerify,
        Action::BreakGlassGrant,
        Action::BreakGlassRead,
        Action::DeviceControlAdd,
        Action::DeviceCreate,
        Action::DeviceLinkAdd,
        Action::DeviceRead,
        Action::DeviceScan,
        Action::DeviceUpdate,
        Action::EvidenceCollect,
        Action::EvidenceRead,
        Action::FindingRead,
        Action::FindingRecord,
        Action::FindingSnapshot,
        Action::HeldResultCreate,
        Action::HeldResultRead,
        Action::HeldResultRejected,
        Action::HeldResultReleased,
        Action::IncidentRead,
        Action::IncidentSave,
        Action::InstrumentEnroll,
        Action::InstrumentRevoke,
        Action::KevImport,
        Action::KeysRotate,
        Action::KeysRotateFinish,
        Action::KeysRotateRow,
        Action::KeysRotateStart,
        Action::KeysSeal,
        Action::LabSetDomains,
        Action::MessageReceive,
        Action::MessageRefuse,
        Action::MfaChange,
        Action::MfaEnroll,
        Action::MfaEnrollStart,
        Action::OrderCreate,
        Action::PatientCreate,
        Action::PatientList,
        Action::PatientRead,
        Action::PatientSearch,
        Action::PhishingCampaignCreate,
        Action::PhishingCampaignLaunch,
        Action::PhishingEventClicked,
        Action::PhishingEventOpened,
        Action::PhishingEventReported,
        Action::PhishingEventSent,
        Action::PhishingEventSubmitted,
        Action::PhishingSend,
        Action::PhishingSendClaim,
        Action::PhishingSendFail,
        Action::PhishingSendRetry,
        Action::PhishingSendUnconfirmed,
        Action::PolicyAdd,
        Action::PolicyRead,
        Action::ResultCreate,
        Action::ResultRead,
        Action::ResultVerify,
        Action::RiskRead,
        Action::RiskUpdate,
        Action::RunRecord,
        Action::SbomImport,
        Action::SbomRead,
        Action::ScoreRead,
        Action::ScoreRecord,
        Action::ServerStart,
        Action::SessionRevoke,
        Action::SpecimenCreate,
        Action::SpecimenList,
        Action::SpecimenRead,
        Action::SpecimenSearch,
        Action::StaffCreate,
        Action::TrainingAssign,
        Action::TrainingAssignRemedial,
        Action::TrainingAttemptStart,
        Action::TrainingAttemptSubmit,
        Action::TrainingComplete,
        Action::TrainingCourseAdd,
        Action::TrainingRemind,
        Action::VexImport,
    ];

    /// The code written to the audit log.
    pub const fn code(self) -> &'static str {
        match self {
            Action::PrivacyScan => "privacy.scan",
            Action::PrivacyCaseRead => "privacy.case.read",
            Action::PrivacyCaseOpen => "privacy.case.open",
            Action::PrivacyCaseAssign => "privacy.case.assign",
            Action::PrivacyCaseNote => "privacy.case.note",
            Action::PrivacyCaseClose => "privacy.case.close",
            Action::PrivacyFlag => "privacy.flag",
            Action::PrivacyProfile => "privacy.profile",
            Action::PrivacyDashboard => "privacy.dashboard",
            Action::PrivacyTune => "privacy.tune",
            Action::PrivacyAccessReport => "privacy.access-report",
            Action::PrivacyCaseFalsePositive => "privacy.case.false-positive",
            Action::QcMaterialSet => "qc.material.set",
            Action::QcFile => "qc.file",
            Action::QcRead => "qc.read",
            Action::QcRecall => "qc.recall",
            Action::QcRecallDecide => "qc.recall.decide",
            Action::SiemForward => "siem.forward",
            Action::SiemBacklog => "siem.backlog",
            Action::SiemRecovered => "siem.recovered",
            Action::SiemExport => "siem.export",
            Action::PhishingReportRead => "phishing.report.read",
            Action::PhishingCampaignList => "phishing.campaign.list",
            Action::TrainingAssignmentsRead => "training.assignments.read",
            Action::StaffList => "staff.list",
            Action::TrainingRead => "training.read",
            Action::AccessReview => "access.review",
            Action::AccountCreate => "account.create",
            Action::AccountDeparture => "account.departure",
            Action::AccountDisable => "account.disable",
            Action::AccountList => "account.list",
            Action::AccountPassword => "account.password",
            Action::AccountResetPassword => "account.reset-password",
            Action::AdvisoryImport => "advisory.import",
            Action::AdvisoryRead => "advisory.read",
            Action::AlertCreate => "alert.create",
            Action::AlertList => "alert.list",
            Action::AlertRaise => "alert.raise",
            Action::AlertReview => "alert.review",
            Action::ApiTokenCreate => "api-token.create",
            Action::ApiTokenList => "api-token.list",
            Action::ApiTokenRevoke => "api-token.revoke",
            Action::AssessmentRead => "assessment.read",
            Action::AssessmentRecord => "assessment.record",
            Action::AssessmentSignOff => "assessment.sign-off",
            Action::AttestationRead => "attestation.read",
            Action::AttestationSign => "attestation.sign",
            Action::AuditRead => "audit.read",
            Action::AuditVerify => "audit.verify",
            Action::AuthLock => "auth.lock",
            Action::AuthPassword => "auth.password",
            Action::AuthRecoveryCode => "auth.recovery-code",
            Action::AuthSignIn => "auth.sign-in",
            Action::AuthSignInFailure => "auth.sign-in-failure",
            Action::AuthSignOut => "auth.sign-out",
            Action::AuthThrottled => "auth.throttled",
            Action::AuthSsoSignIn => "auth.sso.sign-in",
            Action::AuthSsoRefused => "auth.sso.refused",
            Action::AuthSsoSessionEnded => "auth.sso.session-ended",
            Action::AuthUnlock => "auth.unlock",
            Action::BaaAdd => "baa.add",
            Action::BaaRead => "baa.read",
            Action::BackupCreate => "backup.create",
            Action::BackupRestore => "backup.restore",
            Action::BackupVerify => "backup.verify",
            Action::BreakGlassGrant => "break-glass.grant",
            Action::BreakGlassRead => "break-glass.read",
            Action::DeviceControlAdd => "device.control.add",
            Action::DeviceCreate => "device.create",
            Action::DeviceLinkAdd => "device.link.add",
            Action::DeviceRead => "device.read",
            Action::DeviceScan => "device.scan",
            Action::DeviceUpdate => "device.update",
            Action::EvidenceCollect => "evidence.collect",
            Action::EvidenceRead => "evidence.read",
            Action::FindingRead => "finding.read",
            Action::FindingRecord => "finding.record",
            Action::FindingSnapshot => "finding.snapshot",
            Action::HeldResultCreate => "held-result.create",
            Action::HeldResultRead => "held-result.read",
            Action::HeldResultRejected => "held-result.rejected",
            Action::HeldResultReleased => "held-result.released",
            Action::IncidentRead => "incident.read",
            Action::IncidentSave => "incident.save",
            Action::InstrumentEnroll => "instrument.enroll",
            Action::InstrumentRevoke => "instrument.revoke",
            Action::KevImport => "kev.import",
            Action::KeysRotate => "keys.rotate",
            Action::KeysRotateFinish => "keys.rotate.finish",
            Action::KeysRotateRow => "keys.rotate.row",
            Action::KeysRotateStart => "keys.rotate.start",
            Action::KeysSeal => "keys.seal",
            Action::LabSetDomains => "lab.set-domains",
            Action::MessageReceive => "message.receive",
            Action::MessageRefuse => "message.refuse",
            Action::MfaChange => "mfa.change",
            Action::MfaEnroll => "mfa.enroll",
            Action::MfaEnrollStart => "mfa.enroll-start",
            Action::OrderCreate => "order.create",
            Action::PatientCreate => "patient.create",
            Action::PatientList => "patient.list",
            Action::PatientRead => "patient.read",
            Action::PatientSearch => "patient.search",
            Action::PhishingCampaignCreate => "phishing.campaign.create",
            Action::PhishingCampaignLaunch => "phishing.campaign.launch",
            Action::PhishingEventClicked => "phishing.event.clicked",
            Action::PhishingEventOpened => "phishing.event.opened",
            Action::PhishingEventReported => "phishing.event.reported",
            Action::PhishingEventSent => "phishing.event.sent",
            Action::PhishingEventSubmitted => "phishing.event.submitted",
            Action::PhishingSend => "phishing.send",
            Action::PhishingSendClaim => "phishing.send.claim",
            Action::PhishingSendFail => "phishing.send.fail",
            Action::PhishingSendRetry => "phishing.send.retry",
            Action::PhishingSendUnconfirmed => "phishing.send.unconfirmed",
            Action::PolicyAdd => "policy.add",
            Action::PolicyRead => "policy.read",
            Action::ResultCreate => "result.create",
            Action::ResultRead => "result.read",
            Action::ResultVerify => "result.verify",
            Action::RiskRead => "risk.read",
            Action::RiskUpdate => "risk.update",
            Action::RunRecord => "run.record",
            Action::SbomImport => "sbom.import",
            Action::SbomRead => "sbom.read",
            Action::ScoreRead => "score.read",
            Action::ScoreRecord => "score.record",
            Action::ServerStart => "server.start",
            Action::SessionRevoke => "session.revoke",
            Action::SpecimenCreate => "specimen.create",
            Action::SpecimenList => "specimen.list",
            Action::SpecimenRead => "specimen.read",
            Action::SpecimenSearch => "specimen.search",
            Action::StaffCreate => "staff.create",
            Action::TrainingAssign => "training.assign",
            Action::TrainingAssignRemedial => "training.assign.remedial",
            Action::TrainingAttemptStart => "training.attempt.start",
            Action::TrainingAttemptSubmit => "training.attempt.submit",
            Action::TrainingComplete => "training.complete",
            Action::TrainingCourseAdd => "training.course.add",
            Action::TrainingRemind => "training.remind",
            Action::VexImport => "vex.import",
        }
    }

    /// The action for a code, for reading entries back.
    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.code() == code)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(seen.insert(a.code()), "{} twice", a.code());
            assert_eq!(Action::from_code(a.code()), Some(*a));
        }
        assert_eq!(
            Action::PhishingSendUnconfirmed.code(),
            "phishing.send.unconfirmed"
        );
    }
}
