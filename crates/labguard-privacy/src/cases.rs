//! Review cases: a user's alerts in one period, worked by a reviewer through a validated
//! state machine. Every transition names who and when; the store saves and audits them.
//!
//! ```text
//!   Open ──assign──► Assigned ──note──► Noted ──close(outcome, text)──► Closed
//!     │                 └────────close───────────────────────────────────┘  │
//!     └─(assign again: reassign; note/close need an assignee)   reopen(text)┘
//! ```

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertId};
use crate::tuning::FalsePositive;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub u64);

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "case-{}", self.0)
    }
}

/// How alerts are grouped: per user and lab-local day or week (Monday first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    Day,
    Week,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The accesses were part of the user's job (alerts may be labelled false positives).
    Appropriate,
    Sanction,
    Referred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "outcome")]
pub enum CaseStatus {
    Open,
    Assigned,
    Noted,
    Closed(Outcome),
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CaseEvent {
    Assigned {
        by: Id,
        to: Id,
        at: DateTime<Utc>,
    },
    Noted {
        by: Id,
        text: String,
        at: DateTime<Utc>,
    },
    Closed {
        by: Id,
        outcome: Outcome,
        text: String,
        at: DateTime<Utc>,
    },
    Reopened {
        by: Id,
        text: String,
        at: DateTime<Utc>,
    },
}

impl std::fmt::Debug for CaseEvent {
    // Reviewers' notes may name the patient: debug output shows the event kind only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            CaseEvent::Assigned { .. } => "Assigned",
            CaseEvent::Noted { .. } => "Noted",
            CaseEvent::Closed { .. } => "Closed",
            CaseEvent::Reopened { .. } => "Reopened",
        };
        write!(f, "CaseEvent::{kind}(..)")
    }
}

/// Why a transition was refused. No case content in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("the case is closed")]
    Closed,
    #[error("the case is not closed")]
    NotClosed,
    #[error("the case has no assignee yet")]
    NotAssigned,
    #[error("{0} needs text")]
    EmptyText(&'static str),
    #[error("a user may not review or be assigned their own case")]
    SelfReview,
    #[error("that alert is not in this case")]
    UnknownAlert,
    #[error("that alert is already labelled")]
    AlreadyLabelled,
    #[error("a case closed with a sanction or referral has no false positives")]
    Contradiction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    /// The user whose accesses are reviewed.
    pub staff: Id,
    pub role: Role,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// Time of the first alert filed.
    pub opened_at: DateTime<Utc>,
    pub status: CaseStatus,
    pub assignee: Option<Id>,
    pub alerts: Vec<Alert>,
    pub history: Vec<CaseEvent>,
    pub false_positives: Vec<FalsePositive>,
}

fn text(what: &'static str, t: &str) -> Result<String, CaseError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(CaseError::EmptyText(what));
    }
    Ok(t.to_string())
}

impl Case {
    pub fn is_closed(&self) -> bool {
        matches!(self.status, CaseStatus::Closed(_))
    }

    /// Alerts that count (first of their kind, not break-glass): the unexplained accesses.
    pub fn counted(&self) -> usize {
        self.alerts.iter().filter(|a| a.counts()).count()
    }

    fn open_for(&self, by: Id) -> Result<(), CaseError> {
        if self.is_closed() {
            return Err(CaseError::Closed);
        }
        if by == self.staff {
            return Err(CaseError::SelfReview);
        }
        Ok(())
    }

    /// Assigns (or reassigns) the case to `to`.
    pub fn assign(&mut self, by: Id, to: Id, at: DateTime<Utc>) -> Result<(), CaseError> {
        self.open_for(by)?;
        if to == self.staff {
            return Err(CaseError::SelfReview);
        }
        self.assignee = Some(to);
        if self.status == CaseStatus::Open {
            self.status = CaseStatus::Assigned;
        }
        self.history.push(CaseEvent::Assigned { by, to, at });
        Ok(())
    }

    pub fn note(&mut self, by: Id, note: &str, at: DateTime<Utc>) -> Result<(), CaseError> {
        self.open_for(by)?;
        let text = text("a note", note)?;
        if self.assignee.is_none() {
            return Err(CaseError::NotAssigned);
        }
        self.status = CaseStatus::Noted;
        self.history.push(CaseEvent::Noted { by, text, at });
        Ok(())
    }

    /// Closes with an outcome and the reviewer's reasoning; a closed case stays closed
    /// until reopened.
    pub fn close(
        &mut self,
        by: Id,
        outcome: Outcome,
        why: &str,
        at: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        self.open_for(by)?;
        let text = text("closing", why)?;
        if self.assignee.is_none() {
            return Err(CaseError::NotAssigned);
        }
        if outcome != Outcome::Appropriate && !self.false_positives.is_empty() {
            return Err(CaseError::Contradiction);
        }
        self.status = CaseStatus::Closed(outcome);
        self.history.push(CaseEvent::Closed {
            by,
            outcome,
            text,
            at,
        });
        Ok(())
    }

    pub fn reopen(&mut self, by: Id, why: &str, at: DateTime<Utc>) -> Result<(), CaseError> {
        if !self.is_closed() {
            return Err(CaseError::NotClosed);
        }
        if by == self.staff {
            return Err(CaseError::SelfReview);
        }
        let text = text("reopening", why)?;
        self.status = CaseStatus::Noted;
        self.history.push(CaseEvent::Reopened { by, text, at });
        Ok(())
    }

    /// Labels one of the case's alerts a false positive. The label is returned for the
    /// store to save and audit; it changes no setting (see [`crate::propose_tunings`]).
    pub fn label_false_positive(
        &mut self,
        alert: AlertId,
        by: Id,
        why: &str,
        at: DateTime<Utc>,
    ) -> Result<FalsePositive, CaseError> {
        if by == self.staff {
            return Err(CaseError::SelfReview);
        }
        if matches!(
            self.status,
            CaseStatus::Closed(Outcome::Sanction | Outcome::Referred)
        ) {
            return Err(CaseError::Contradiction);
        }
        let why = text("a false-positive label", why)?;
        let a = self
            .alerts
            .iter()
            .find(|a| a.id == alert)
            .ok_or(CaseError::UnknownAlert)?;
        if self.false_positives.iter().any(|f| f.alert == alert) {
            return Err(CaseError::AlreadyLabelled);
        }
        let fp = FalsePositive {
            case: self.id,
            alert,
            detector: a.detector,
            role: a.role,
            by,
            why,
            at,
        };
        self.false_positives.push(fp.clone());
        Ok(fp)
    }
}

/// The lab's cases and the rule that files alerts into them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseBook {
    pub period: Period,
    pub utc_offset_minutes: i16,
    next_id: u64,
    pub cases: Vec<Case>,
}

impl CaseBook {
    pub fn new(period: Period, utc_offset_minutes: i16) -> Self {
        CaseBook {
            period,
            utc_offset_minutes,
            next_id: 1,
            cases: vec![],
        }
    }

    pub fn get(&self, id: CaseId) -> Option<&Case> {
        self.cases.iter().find(|c| c.id == id)
    }

    pub fn get_mut(&mut self, id: CaseId) -> Option<&mut Case> {
        self.cases.iter_mut().find(|c| c.id == id)
    }

    /// The period containing `at`, as UTC instants.
    pub fn period_of(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let offset = Duration::minutes(i64::from(self.utc_offset_minutes));
        let local = (at + offset).date_naive();
        let (start, len) = match self.period {
            Period::Day => (local, 1),
            Period::Week => (
                local - Duration::days(i64::from(local.weekday().num_days_from_monday())),
                7,
            ),
        };
        let start = Utc.from_utc_datetime(&start.and_time(chrono::NaiveTime::MIN)) - offset;
        (start, start + Duration::days(len))
    }

    /// Files alerts: into the user's not-yet-closed case for the alert's period, else into
    /// a new case if the alert counts. Linked and break-glass alerts never open a case on
    /// their own (the first alert, or the break-glass review, already has one).
    pub fn file(&mut self, alerts: &[Alert]) -> Vec<CaseId> {
        let mut touched = vec![];
        for a in alerts {
            let (start, end) = self.period_of(a.at);
            let open = self
                .cases
                .iter_mut()
                .find(|c| c.staff == a.staff && c.period_start == start && !c.is_closed());
            let id = match open {
                Some(c) => {
                    c.alerts.push(a.clone());
                    c.id
                }
                None if a.counts() => {
                    let id = CaseId(self.next_id);
                    self.next_id += 1;
                    self.cases.push(Case {
                        id,
                        staff: a.staff,
                        role: a.role,
                        period_start: start,
                        period_end: end,
                        opened_at: a.at,
                        status: CaseStatus::Open,
                        assignee: None,
                        alerts: vec![a.clone()],
                        history: vec![],
                        false_positives: vec![],
                    });
                    id
                }
                None => continue,
            };
            if !touched.contains(&id) {
                touched.push(id);
            }
        }
        touched
    }
}
