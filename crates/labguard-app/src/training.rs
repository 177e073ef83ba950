//! Training and phishing services shared by the API, the web UI and the CLI: the course
//! catalog (built-in plus lab courses), open assignments, transcripts, quiz attempts, the
//! campaign report and the account hygiene panel. Rules live in `labguard-training`; this
//! module loads what they need from the store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use labguard_core::{Id, Role};
use labguard_store::{Actor, Store, StoreError};
use labguard_training::phishing::{campaign_report, CampaignReport};
use labguard_training::{
    builtin_courses, certificate, due_assignments, hygiene_panel, quiz, transcript, AccountFacts,
    Assignment, Course, CourseRelease, HygienePanel, RuleKind, Target, Trainee, Transcript,
};
use serde::Serialize;

/// Quiz attempts allowed per course version before an administrator must reset them.
pub const MAX_ATTEMPTS: u32 = 5;
/// Days without sign-in after which the hygiene panel calls an account dormant.
pub const DORMANT_DAYS: u32 = 90;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Every course staff can take: the built-in ones, and the newest stored version of each lab
/// course (a lab course with a built-in id replaces the built-in when its version is higher).
pub fn catalog(store: &Store, actor: &Actor) -> Result<Vec<Course>, StoreError> {
    let mut by_id: BTreeMap<String, Course> = BTreeMap::new();
    for c in builtin_courses().map_err(|(f, _)| corrupt(&format!("built-in course {f}")))? {
        by_id.insert(c.id.clone(), c);
    }
    for stored in store.lab_courses(actor)? {
        let c = Course::parse_markdown(&stored.source)
            .map_err(|_| corrupt(&format!("lab course {}", stored.course_id)))?;
        match by_id.get(&c.id) {
            Some(old) if old.version >= c.version => {}
            _ => {
                by_id.insert(c.id.clone(), c);
            }
        }
    }
    Ok(by_id.into_values().collect())
}

pub fn course(store: &Store, actor: &Actor, id: &str) -> Result<Course, StoreError> {
    catalog(store, actor)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "course {}",
                id.chars().take(64).collect::<String>()
            ))
        })
}

/// Everyone who takes training (or only `only`: a learner may read their own record).
pub fn trainees(
    store: &Store,
    actor: &Actor,
    only: Option<Id>,
) -> Result<Vec<Trainee>, StoreError> {
    let since: BTreeMap<Id, DateTime<Utc>> = store.staff_since(actor, only)?.into_iter().collect();
    let staff = match only {
        Some(id) => vec![store.staff_member(actor, id)?],
        None => store.list_staff(actor)?,
    };
    Ok(staff
        .into_iter()
        .map(|s| Trainee {
            hired_at: since.get(&s.id).copied().unwrap_or(DateTime::UNIX_EPOCH),
            staff: s,
            // No manager field yet: escalations go to the security officer.
            manager_id: None,
        })
        .collect())
}

/// Open assignments for everyone (or one person), earliest due first.
pub fn open_assignments(
    store: &Store,
    actor: &Actor,
    staff: Option<Id>,
    now: DateTime<Utc>,
) -> Result<Vec<Assignment>, StoreError> {
    let releases: Vec<CourseRelease> = catalog(store, actor)?.iter().map(Course::release).collect();
    let people = trainees(store, actor, staff)?;
    let rules = store.training_rules(actor)?;
    let done = store.completions(actor, staff)?;
    Ok(due_assignments(&people, &rules, &releases, &done, now))
}

pub fn staff_transcript(
    store: &Store,
    actor: &Actor,
    staff: Id,
    now: DateTime<Utc>,
) -> Result<Transcript, StoreError> {
    let open = open_assignments(store, actor, Some(staff), now)?;
    let done = store.completions(actor, Some(staff))?;
    Ok(transcript(staff, &done, &open))
}

/// A new quiz attempt: the stored seed fixes the question order the learner sees.
pub fn start_quiz(
    store: &Store,
    actor: &Actor,
    staff: Id,
    course_id: &str,
) -> Result<(Id, quiz::LearnerQuiz), StoreError> {
    let c = course(store, actor, course_id)?;
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| StoreError::Io(format!("random: {e}")))?;
    let seed = u64::from_le_bytes(b);
    let id = store.start_attempt_within(actor, staff, &c.id, c.version, seed, MAX_ATTEMPTS)?;
    Ok((id, quiz::present(&c, seed)))
}

#[derive(Debug, Clone, Serialize)]
pub struct QuizOutcome {
    pub grade: quiz::Grade,
    pub certificate: Option<certificate::Certificate>,
}

/// Why a quiz submission failed: storage, or answers that do not fit the quiz.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Quiz(#[from] quiz::QuizError),
}

/// Grades an attempt once; a pass is stored with a certificate signed with `cert_key`.
pub fn submit_quiz(
    store: &Store,
    actor: &Actor,
    attempt: Id,
    answers: &quiz::Answers,
    cert_key: &[u8],
    now: DateTime<Utc>,
) -> Result<QuizOutcome, SubmitError> {
    let a = store.attempt(actor, attempt)?;
    if a.submitted_at.is_some() {
        return Err(StoreError::Conflict.into());
    }
    let c = course(store, actor, &a.course_id)?;
    if c.version != a.course_version {
        return Err(StoreError::NotFound("this course changed; start a new attempt".into()).into());
    }
    let grade = quiz::grade(&c, a.seed, answers)?;
    let cert = if grade.passed {
        let name = store.staff_member(actor, a.staff_id)?.display_name;
        Some(certificate::issue_certificate(
            cert_key,
            certificate::CertificateFields {
                staff_id: a.staff_id,
                staff_name: name,
                course_id: c.id.clone(),
                course_title: c.title.clone(),
                course_version: c.version,
                score_percent: grade.score_percent,
                completed_at: now,
            },
        ))
    } else {
        None
    };
    let cert_json = cert
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| corrupt(&format!("certificate: {e}")))?;
    store.finish_attempt_within(
        actor,
        &a,
        grade.score_percent,
        grade.passed,
        cert_json.as_deref(),
        MAX_ATTEMPTS,
    )?;
    Ok(QuizOutcome {
        grade,
        certificate: cert,
    })
}

/// Someone assigned the phishing course by this campaign.
#[derive(Debug, Clone, Serialize)]
pub struct RemedialEntry {
    pub staff_id: Id,
    pub username: String,
    pub role: Role,
    pub course_id: String,
    pub assigned_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliverySummary {
    pub recipients: usize,
    pub sent: usize,
    pub failed: usize,
    /// Handed to the server without confirmation; never re-sent.
    pub unconfirmed: usize,
    pub pending: usize,
    /// Accepted by the SMTP server in the clear (it offered no STARTTLS). Counted per
    /// recipient; the mails carried tracking links, so the lab should fix its relay or set
    /// `?tls=required` on the campaign's SMTP URL.
    pub sent_without_tls: usize,
    pub failures: Vec<DeliveryFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryFailure {
    pub username: String,
    pub email: String,
    pub attempts: u32,
    pub error: Option<String>,
}

/// The campaign report: counts from `labguard-training` plus delivery and remedial details.
#[derive(Debug, Clone, Serialize)]
pub struct PhishingReport {
    pub campaign_id: Id,
    pub name: String,
    pub template: String,
    pub launched: bool,
    pub sent: usize,
    pub opened: usize,
    pub clicked: usize,
    pub submitted: usize,
    pub reported: usize,
    pub time_to_first_report_secs: Option<i64>,
    pub median_time_to_report_secs: Option<i64>,
    pub by_role: BTreeMap<Role, labguard_training::phishing::Counts>,
    pub delivery: DeliverySummary,
    pub remedial_assigned: Vec<RemedialEntry>,
    #[serde(skip)]
    pub report: CampaignReport,
}

/// The check before reading phishing campaigns or reports (`action` names it in the audit
/// log): the security officer who runs them, or whoever reads the lab's reports.
pub fn may_read_phishing(
    store: &Store,
    actor: &Actor,
    action: labguard_store::Action,
) -> Result<(), StoreError> {
    store.require_any(
        actor,
        &[
            labguard_core::Permission::PhishingManage,
            labguard_core::Permission::ReportsRead,
        ],
        action,
        "phishing_campaign",
    )
}

pub fn phishing_report(store: &Store, actor: &Actor, id: Id) -> Result<PhishingReport, StoreError> {
    let c = store.campaign(actor, id)?;
    let recs = store.campaign_recipients(actor, id)?;
    let recipients: Vec<labguard_training::phishing::Recipient> = recs
        .iter()
        .map(|r| labguard_training::phishing::Recipient {
            staff_id: r.staff_id,
            role: r.role,
            email: r.email.clone(),
            display_name: r.display_name.clone(),
            token_digest: String::new(),
        })
        .collect();
    let events = store.campaign_events(actor, id)?;
    let launched_at = c.launched_at.unwrap_or(c.created_at);
    let report = campaign_report(id, &c.name, launched_at, &recipients, &events);
    let staff = store.list_staff(actor)?;
    let who = |sid: Id| staff.iter().find(|s| s.id == sid);
    let remedial_assigned = store
        .training_rules(actor)?
        .into_iter()
        .filter(|r| r.kind == RuleKind::Remedial { campaign_id: id })
        .filter_map(|r| match r.target {
            Target::Person(p) => {
                let s = who(p)?;
                Some(RemedialEntry {
                    staff_id: p,
                    username: s.username.clone(),
                    role: s.role,
                    course_id: r.course_id.clone(),
                    assigned_at: r.starts_at,
                    due_at: r.starts_at + chrono::Duration::days(i64::from(r.due_within_days)),
                })
            }
            _ => None,
        })
        .collect();
    use labguard_store::DeliveryStatus as D;
    let count = |st: D| recs.iter().filter(|r| r.status == st).count();
    let plain: std::collections::BTreeSet<Id> = store
        .campaign_deliveries(actor, id)?
        .into_iter()
        .filter(|d| d.transport == Some(labguard_store::MailTransport::Plain))
        .map(|d| d.recipient_id)
        .collect();
    let failures = recs
        .iter()
        .filter(|r| matches!(r.status, D::Failed | D::Sending) || r.last_error.is_some())
        .filter(|r| r.status != D::Sent)
        .map(|r| DeliveryFailure {
            username: who(r.staff_id)
                .map(|s| s.username.clone())
                .unwrap_or_default(),
            email: r.email.clone(),
            attempts: r.attempts,
            error: r.last_error.clone(),
        })
        .collect();
    Ok(PhishingReport {
        campaign_id: id,
        name: c.name.clone(),
        template: c.template_id.clone(),
        launched: c.launched_at.is_some(),
        sent: report.totals.sent,
        opened: report.totals.opened,
        clicked: report.totals.clicked,
        submitted: report.totals.submitted,
        reported: report.totals.reported,
        time_to_first_report_secs: report.time_to_first_report_secs,
        median_time_to_report_secs: report.median_time_to_report_secs,
        by_role: report.by_role.clone(),
        delivery: DeliverySummary {
            recipients: recs.len(),
            sent: count(D::Sent),
            failed: count(D::Failed),
            unconfirmed: count(D::Sending),
            pending: count(D::Pending),
            sent_without_tls: plain.len(),
            failures,
        },
        remedial_assigned,
        report,
    })
}

/// Every launched campaign's report, oldest first (for the trend chart).
pub fn all_reports(store: &Store, actor: &Actor) -> Result<Vec<CampaignReport>, StoreError> {
    store
        .list_campaigns(actor)?
        .into_iter()
        .filter(|c| c.launched_at.is_some())
        .map(|c| phishing_report(store, actor, c.id).map(|r| r.report))
        .collect()
}

/// MFA coverage, blocklist failures and dormant accounts.
pub fn hygiene(
    store: &Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<HygienePanel, StoreError> {
    let facts: Vec<AccountFacts> = store
        .list_accounts(actor)?
        .into_iter()
        .map(|a| AccountFacts {
            staff_id: a.staff.id,
            role: a.staff.role,
            active: !a.is_disabled(),
            mfa_enrolled: a.mfa_enrolled,
            failed_blocklist_at_last_change: a.blocklist_failed,
            last_sign_in: a.last_sign_in,
            created_at: a.created_at,
        })
        .collect();
    Ok(hygiene_panel(&facts, DORMANT_DAYS, now))
}
