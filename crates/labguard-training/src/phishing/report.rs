//! Campaign events, the campaign report, the trend across campaigns and remedial training.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use super::campaign::{PhishingError, Recipient, TrackingToken};
use crate::assign::{AssignmentRule, Recurrence, RuleKind, Target, VersionPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Sent,
    Opened,
    Clicked,
    /// The landing-page form was submitted. There is deliberately no field for what was
    /// typed: the type cannot carry it.
    Submitted,
    Reported,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhishEvent {
    pub campaign_id: Id,
    pub staff_id: Id,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
}

/// Turn a token from a tracking URL into an event for this campaign. The token is matched by
/// digest against this campaign's recipients only, so a token from another campaign (or a
/// guessed one) records nothing and returns [`PhishingError::UnknownToken`].
pub fn record_event(
    campaign_id: Id,
    recipients: &[Recipient],
    token: &str,
    kind: EventKind,
    at: DateTime<Utc>,
) -> Result<PhishEvent, PhishingError> {
    let digest = TrackingToken::parse(token)?.digest();
    let r = recipients
        .iter()
        .find(|r| r.token_digest == digest)
        .ok_or(PhishingError::UnknownToken)?;
    Ok(PhishEvent {
        campaign_id,
        staff_id: r.staff_id,
        kind,
        at,
    })
}

/// Unique-recipient counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub recipients: usize,
    pub sent: usize,
    /// Pixel loaded, or clicked/submitted (mail clients often block images, and a click
    /// proves the mail was opened).
    pub opened: usize,
    pub clicked: usize,
    pub submitted: usize,
    pub reported: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignReport {
    pub campaign_id: Id,
    pub name: String,
    pub launched_at: DateTime<Utc>,
    pub totals: Counts,
    pub by_role: BTreeMap<Role, Counts>,
    /// From launch to the first report by anyone: how fast the lab as a whole notices.
    pub time_to_first_report_secs: Option<i64>,
    /// Median over reporters of (their report - their send).
    pub median_time_to_report_secs: Option<i64>,
    /// Staff who clicked or submitted, sorted: each gets remedial training.
    pub remedial: Vec<Id>,
}

#[derive(Default)]
struct Person {
    sent: Option<DateTime<Utc>>,
    opened: bool,
    clicked: bool,
    submitted: bool,
    reported: Option<DateTime<Utc>>,
}

/// Aggregate events (any order, duplicates allowed) for one campaign. Events from other
/// campaigns or for people not among `recipients` are ignored.
pub fn campaign_report(
    campaign_id: Id,
    name: &str,
    launched_at: DateTime<Utc>,
    recipients: &[Recipient],
    events: &[PhishEvent],
) -> CampaignReport {
    let mut people: BTreeMap<Id, Person> = recipients
        .iter()
        .map(|r| (r.staff_id, Person::default()))
        .collect();
    for e in events.iter().filter(|e| e.campaign_id == campaign_id) {
        let Some(p) = people.get_mut(&e.staff_id) else {
            continue;
        };
        match e.kind {
            EventKind::Sent => p.sent = Some(p.sent.map_or(e.at, |s| s.min(e.at))),
            EventKind::Opened => p.opened = true,
            EventKind::Clicked => p.clicked = true,
            EventKind::Submitted => p.submitted = true,
            EventKind::Reported => p.reported = Some(p.reported.map_or(e.at, |r| r.min(e.at))),
        }
    }
    let mut totals = Counts::default();
    let mut by_role: BTreeMap<Role, Counts> = BTreeMap::new();
    let mut remedial = Vec::new();
    let mut report_delays = Vec::new();
    let mut first_report: Option<DateTime<Utc>> = None;
    for r in recipients {
        let Some(p) = people.get(&r.staff_id) else {
            continue;
        };
        let role = by_role.entry(r.role).or_default();
        for c in [&mut totals, role] {
            c.recipients += 1;
            c.sent += usize::from(p.sent.is_some());
            c.opened += usize::from(p.opened || p.clicked || p.submitted);
            c.clicked += usize::from(p.clicked || p.submitted);
            c.submitted += usize::from(p.submitted);
            c.reported += usize::from(p.reported.is_some());
        }
        if p.clicked || p.submitted {
            remedial.push(r.staff_id);
        }
        if let Some(rep) = p.reported {
            first_report = Some(first_report.map_or(rep, |f| f.min(rep)));
            if let Some(sent) = p.sent {
                report_delays.push((rep - sent).num_seconds().max(0));
            }
        }
    }
    // The same person listed twice must not be double-counted in remedial training.
    remedial.sort();
    remedial.dedup();
    report_delays.sort_unstable();
    let median = match report_delays.len() {
        0 => None,
        n if n % 2 == 1 => Some(report_delays[n / 2]),
        n => Some((report_delays[n / 2 - 1] + report_delays[n / 2]) / 2),
    };
    CampaignReport {
        campaign_id,
        name: name.to_string(),
        launched_at,
        totals,
        by_role,
        time_to_first_report_secs: first_report.map(|f| (f - launched_at).num_seconds().max(0)),
        median_time_to_report_secs: median,
        remedial,
    }
}

/// One point of the trend chart, rates in percent of recipients sent to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub campaign_id: Id,
    pub name: String,
    pub launched_at: DateTime<Utc>,
    pub click_rate: f64,
    pub submit_rate: f64,
    pub report_rate: f64,
}

fn rate(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

/// Campaign reports in launch order as rates: is the lab getting better?
pub fn trend(reports: &[CampaignReport]) -> Vec<TrendPoint> {
    let mut v: Vec<TrendPoint> = reports
        .iter()
        .map(|r| TrendPoint {
            campaign_id: r.campaign_id,
            name: r.name.clone(),
            launched_at: r.launched_at,
            click_rate: rate(r.totals.clicked, r.totals.sent),
            submit_rate: rate(r.totals.submitted, r.totals.sent),
            report_rate: rate(r.totals.reported, r.totals.sent),
        })
        .collect();
    v.sort_by_key(|p| p.launched_at);
    v
}

/// Click rate per role (percent of sent) for the per-role chart.
pub fn click_rate_by_role(report: &CampaignReport) -> Vec<(Role, f64)> {
    report
        .by_role
        .iter()
        .map(|(role, c)| (*role, rate(c.clicked, c.sent)))
        .collect()
}

/// Remedial assignment rules for everyone who clicked or submitted and has no remedial rule
/// for this campaign in `existing` yet (so re-running after late clicks adds only the new
/// people). The phishing course is due `due_within_days` after `now`, and only a completion
/// after `now` counts. `rule_id` derives each rule's id from the person (e.g. UUIDv5 of
/// campaign+person, or random) so the caller controls idempotency.
pub fn remedial_rules(
    report: &CampaignReport,
    existing: &[AssignmentRule],
    course_id: &str,
    due_within_days: u32,
    now: DateTime<Utc>,
    mut rule_id: impl FnMut(Id) -> Id,
) -> Vec<AssignmentRule> {
    let this = RuleKind::Remedial {
        campaign_id: report.campaign_id,
    };
    let have: BTreeSet<Id> = existing
        .iter()
        .filter(|r| r.kind == this)
        .filter_map(|r| match r.target {
            Target::Person(id) => Some(id),
            _ => None,
        })
        .collect();
    report
        .remedial
        .iter()
        .filter(|id| !have.contains(id))
        .map(|&staff_id| AssignmentRule {
            id: rule_id(staff_id),
            course_id: course_id.to_string(),
            target: Target::Person(staff_id),
            recurrence: Recurrence::Once,
            due_within_days,
            starts_at: now,
            version_policy: VersionPolicy::KeepOld,
            min_completed_at: Some(now),
            kind: this.clone(),
        })
        .collect()
}
