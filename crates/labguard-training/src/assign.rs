//! Who must take which course by when: assignment rules, recurrence, version changes,
//! reminders, escalation and per-person transcripts.
//!
//! Nothing is stored here. The caller loads staff, rules and completions, passes `now`, and
//! gets back the open assignments; running it again with the same inputs gives the same
//! answer, so a daily job can simply recompute instead of keeping assignment state in sync.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Months, Utc};
use labguard_core::{Id, Role, Staff};
use serde::{Deserialize, Serialize};

use crate::course::CourseRelease;

/// A member of staff with the HR facts assignments need (not in `labguard_core::Staff`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trainee {
    pub staff: Staff,
    pub hired_at: DateTime<Utc>,
    /// Who hears about overdue training; `None` sends escalations to the security officer.
    pub manager_id: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Target {
    AllStaff,
    Role(Role),
    Person(Id),
}

impl Target {
    fn matches(&self, s: &Staff) -> bool {
        match self {
            Target::AllStaff => true,
            Target::Role(r) => s.role == *r,
            Target::Person(id) => s.id == *id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recurrence {
    /// One completion (of an acceptable version) satisfies the rule for good.
    Once,
    /// Due again one year after the last completion (HIPAA 164.308(a)(5) refreshers).
    Annual,
}

/// What the lab wants when a course gets a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum VersionPolicy {
    /// Completions of older versions still count.
    KeepOld,
    /// Staff who completed an older version must take the new one within `within_days` of
    /// its release.
    Reassign { within_days: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum RuleKind {
    Standard,
    /// Created by a phishing campaign for someone who clicked or submitted.
    Remedial {
        campaign_id: Id,
    },
}

/// "Staff matching `target` must complete `course_id` within `due_within_days`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRule {
    pub id: Id,
    pub course_id: String,
    pub target: Target,
    pub recurrence: Recurrence,
    /// Days from the start (rule start, hire date, or re-opening) to the due date. For annual
    /// recurrence the assignment re-opens this many days before the anniversary.
    pub due_within_days: u32,
    /// The rule applies from here; staff hired later get `hired_at + due_within_days`.
    pub starts_at: DateTime<Utc>,
    pub version_policy: VersionPolicy,
    /// Completions before this instant do not count (remedial training after a click must be
    /// taken again even if the course was done last month).
    pub min_completed_at: Option<DateTime<Utc>>,
    pub kind: RuleKind,
}

/// A passed quiz, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub staff_id: Id,
    pub course_id: String,
    pub course_version: u32,
    pub completed_at: DateTime<Utc>,
    pub score_percent: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Initial,
    OnHire,
    Annual,
    NewVersion,
    Remedial,
}

/// An open (not yet satisfied) assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub rule_id: Id,
    pub staff_id: Id,
    pub manager_id: Option<Id>,
    pub course_id: String,
    /// The version the learner should take (the current one).
    pub course_version: u32,
    pub reason: Reason,
    pub due_at: DateTime<Utc>,
    /// Whole days past due; 0 when not overdue.
    pub overdue_days: i64,
}

fn days(d: u32) -> Duration {
    Duration::days(i64::from(d))
}

/// Default rules for a course from its audience: one rule for everyone, or one per role,
/// recurring as given. Labs start from these and add person rules or change due periods.
/// `rule_id` gives each rule its id (random, or derived for idempotent set-up).
pub fn rules_for_audience(
    course: &crate::course::Course,
    recurrence: Recurrence,
    due_within_days: u32,
    version_policy: VersionPolicy,
    starts_at: DateTime<Utc>,
    mut rule_id: impl FnMut(&Target) -> Id,
) -> Vec<AssignmentRule> {
    let targets: Vec<Target> = match &course.audience {
        crate::course::Audience::All => vec![Target::AllStaff],
        crate::course::Audience::Roles(rs) => rs.iter().map(|r| Target::Role(*r)).collect(),
    };
    targets
        .into_iter()
        .map(|target| AssignmentRule {
            id: rule_id(&target),
            course_id: course.id.clone(),
            target,
            recurrence,
            due_within_days,
            starts_at,
            version_policy,
            min_completed_at: None,
            kind: RuleKind::Standard,
        })
        .collect()
}

/// Open assignments at `now`, one per (person, course) keeping the earliest due date, sorted
/// by due date. Inactive staff and rules for courses missing from `releases` are skipped.
pub fn due_assignments(
    staff: &[Trainee],
    rules: &[AssignmentRule],
    releases: &[CourseRelease],
    completions: &[Completion],
    now: DateTime<Utc>,
) -> Vec<Assignment> {
    // Index completions once: a lab has far more completions than staff x rules.
    let mut by_person: BTreeMap<(Id, &str), Vec<&Completion>> = BTreeMap::new();
    for c in completions {
        by_person
            .entry((c.staff_id, c.course_id.as_str()))
            .or_default()
            .push(c);
    }
    let mut best: BTreeMap<(Id, String), Assignment> = BTreeMap::new();
    for t in staff.iter().filter(|t| t.staff.active) {
        for rule in rules.iter().filter(|r| r.target.matches(&t.staff)) {
            let Some(rel) = releases.iter().find(|r| r.course_id == rule.course_id) else {
                continue;
            };
            let done = by_person
                .get(&(t.staff.id, rule.course_id.as_str()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let Some((reason, due_at)) = evaluate(t, rule, rel, done, now) else {
                continue;
            };
            let a = Assignment {
                rule_id: rule.id,
                staff_id: t.staff.id,
                manager_id: t.manager_id,
                course_id: rule.course_id.clone(),
                course_version: rel.version,
                reason,
                due_at,
                overdue_days: if now > due_at {
                    (now - due_at).num_days()
                } else {
                    0
                },
            };
            let key = (t.staff.id, rule.course_id.clone());
            match best.get(&key) {
                Some(prev) if prev.due_at <= a.due_at => {}
                _ => {
                    best.insert(key, a);
                }
            }
        }
    }
    let mut out: Vec<Assignment> = best.into_values().collect();
    out.sort_by(|a, b| {
        (a.due_at, a.staff_id, &a.course_id).cmp(&(b.due_at, b.staff_id, &b.course_id))
    });
    out
}

/// `Some((reason, due))` when `rule` is open for trainee `t` at `now`.
fn evaluate(
    t: &Trainee,
    rule: &AssignmentRule,
    rel: &CourseRelease,
    done: &[&Completion],
    now: DateTime<Utc>,
) -> Option<(Reason, DateTime<Utc>)> {
    let start = rule.starts_at.max(t.hired_at);
    if now < start {
        return None;
    }
    let last = done
        .iter()
        .filter(|c| rule.min_completed_at.is_none_or(|m| c.completed_at >= m))
        .max_by_key(|c| c.completed_at);
    let remedial = matches!(rule.kind, RuleKind::Remedial { .. });
    let Some(last) = last else {
        let reason = if remedial {
            Reason::Remedial
        } else if t.hired_at > rule.starts_at {
            Reason::OnHire
        } else {
            Reason::Initial
        };
        return Some((reason, start + days(rule.due_within_days)));
    };
    let mut candidates: Vec<(Reason, DateTime<Utc>)> = Vec::new();
    if let VersionPolicy::Reassign { within_days } = rule.version_policy {
        if last.course_version < rel.version {
            candidates.push((
                Reason::NewVersion,
                rel.released_at.max(start) + days(within_days),
            ));
        }
    }
    if rule.recurrence == Recurrence::Annual {
        if let Some(next) = last.completed_at.checked_add_months(Months::new(12)) {
            if now >= next - days(rule.due_within_days) {
                candidates.push((Reason::Annual, next));
            }
        }
    }
    candidates.into_iter().min_by_key(|(_, d)| *d)
}

/// When to nudge: `days_before` the due date (0 = on the due day) and, once overdue by
/// `escalate_after_days`, a message to the manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSchedule {
    pub days_before: Vec<u32>,
    pub escalate_after_days: u32,
}

impl Default for ReminderSchedule {
    fn default() -> Self {
        ReminderSchedule {
            days_before: vec![7, 0],
            escalate_after_days: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ReminderStep {
    /// To the learner, `days` before the due date.
    Before { days: u32 },
    /// To the manager (or the security officer when `manager_id` is `None`).
    Escalation {
        manager_id: Option<Id>,
        overdue_days: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub staff_id: Id,
    pub course_id: String,
    pub due_at: DateTime<Utc>,
    pub step: ReminderStep,
    /// Stable identity of this reminder; store it when sent and pass it back in `sent`.
    pub key: String,
}

/// Reminders to send now. At most one learner reminder per assignment per call: if the job
/// did not run for a while, only the most recent step is sent rather than a burst. Keys in
/// `sent` are skipped, which makes the function safe to call as often as you like.
pub fn reminders(
    open: &[Assignment],
    schedule: &ReminderSchedule,
    sent: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Vec<Reminder> {
    let mut out = Vec::new();
    for a in open {
        let base = format!("{}:{}:{}", a.staff_id, a.course_id, a.due_at.timestamp());
        // Before-steps stop once the due day is over; escalation takes it from there.
        if now < a.due_at + Duration::days(1) {
            let step = schedule
                .days_before
                .iter()
                .copied()
                .filter(|d| now >= a.due_at - days(*d))
                .min();
            if let Some(d) = step {
                let key = format!("{base}:before-{d}");
                if !sent.contains(&key) {
                    out.push(Reminder {
                        staff_id: a.staff_id,
                        course_id: a.course_id.clone(),
                        due_at: a.due_at,
                        step: ReminderStep::Before { days: d },
                        key,
                    });
                }
            }
        }
        if now >= a.due_at + days(schedule.escalate_after_days) {
            let key = format!("{base}:escalation");
            if !sent.contains(&key) {
                out.push(Reminder {
                    staff_id: a.staff_id,
                    course_id: a.course_id.clone(),
                    due_at: a.due_at,
                    step: ReminderStep::Escalation {
                        manager_id: a.manager_id,
                        overdue_days: (now - a.due_at).num_days(),
                    },
                    key,
                });
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum TranscriptStatus {
    Completed {
        completed_at: DateTime<Utc>,
        course_version: u32,
        score_percent: u8,
    },
    Open {
        due_at: DateTime<Utc>,
        reason: Reason,
        overdue_days: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub course_id: String,
    #[serde(flatten)]
    pub status: TranscriptStatus,
}

/// One person's training record: open assignments first (earliest due first), then every
/// completion, newest first. This is the evidence an auditor asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    pub staff_id: Id,
    pub entries: Vec<TranscriptEntry>,
}

pub fn transcript(staff_id: Id, completions: &[Completion], open: &[Assignment]) -> Transcript {
    let mut opened: Vec<&Assignment> = open.iter().filter(|a| a.staff_id == staff_id).collect();
    opened.sort_by_key(|a| a.due_at);
    let mut done: Vec<&Completion> = completions
        .iter()
        .filter(|c| c.staff_id == staff_id)
        .collect();
    done.sort_by_key(|c| std::cmp::Reverse(c.completed_at));
    let entries = opened
        .into_iter()
        .map(|a| TranscriptEntry {
            course_id: a.course_id.clone(),
            status: TranscriptStatus::Open {
                due_at: a.due_at,
                reason: a.reason,
                overdue_days: a.overdue_days,
            },
        })
        .chain(done.into_iter().map(|c| TranscriptEntry {
            course_id: c.course_id.clone(),
            status: TranscriptStatus::Completed {
                completed_at: c.completed_at,
                course_version: c.course_version,
                score_percent: c.score_percent,
            },
        }))
        .collect();
    Transcript { staff_id, entries }
}
