//! Incidents and breaches: the 45 CFR 164.402 breach risk assessment (three exclusions, four
//! factors) and the notification clocks of 164.404–164.408.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// 164.402(1): what is not a breach even though PHI went somewhere it should not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exclusion {
    /// (i) Unintentional, good-faith access by a workforce member within their authority,
    /// not further used or disclosed.
    UnintentionalWorkforceAccess,
    /// (ii) Inadvertent disclosure between people authorized at the same entity or OHCA.
    InadvertentInternalDisclosure,
    /// (iii) Good-faith belief the recipient could not reasonably have retained it.
    RecipientCouldNotRetain,
}

/// Rating of one factor of the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Low,
    Medium,
    High,
}

/// The four-factor assessment of 164.402(2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreachAssessment {
    pub exclusion: Option<Exclusion>,
    /// The PHI was encrypted per HHS guidance (so not "unsecured" PHI) and the key was not
    /// compromised.
    pub secured: bool,
    /// (i) Nature and extent of the PHI (identifiers, sensitivity, likelihood of re-identification).
    pub nature_and_extent: Level,
    /// (ii) The unauthorized person who used it or to whom it went.
    pub unauthorized_person: Level,
    /// (iii) Whether the PHI was actually acquired or viewed.
    pub acquired_or_viewed: Level,
    /// (iv) Extent to which the risk has been mitigated (Low = well mitigated).
    pub mitigation: Level,
    pub notes: String,
}

/// What the assessment concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Determination {
    Excluded,
    /// Not unsecured PHI: no notification duty.
    Secured,
    /// All four factors show a low probability the PHI was compromised.
    LowProbability,
    /// Presumed breach: notify.
    Breach,
}

impl BreachAssessment {
    pub fn determination(&self) -> Determination {
        if self.exclusion.is_some() {
            Determination::Excluded
        } else if self.secured {
            Determination::Secured
        } else if [
            self.nature_and_extent,
            self.unauthorized_person,
            self.acquired_or_viewed,
            self.mitigation,
        ]
        .iter()
        .all(|l| *l == Level::Low)
        {
            Determination::LowProbability
        } else {
            Determination::Breach
        }
    }
}

/// Who must be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recipient {
    Individuals,
    Hhs,
    /// Annual log of breaches under 500 to HHS.
    HhsAnnualLog,
    Media,
}

impl Recipient {
    pub fn label(self) -> &'static str {
        match self {
            Recipient::Individuals => "affected individuals (164.404)",
            Recipient::Hhs => "HHS (164.408, 500 or more)",
            Recipient::HhsAnnualLog => "HHS annual log (164.408(c))",
            Recipient::Media => "media in the state (164.406)",
        }
    }
}

/// One notification deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub recipient: Recipient,
    pub due: NaiveDate,
    /// For media notice: the states with more than 500 residents affected.
    pub states: Vec<String>,
}

/// The notification clocks for a breach discovered on `discovered`. Affected counts are
/// totals; `by_state` counts residents per state.
pub fn deadlines(
    discovered: NaiveDate,
    affected: u32,
    by_state: &BTreeMap<String, u32>,
) -> Vec<Deadline> {
    let sixty = discovered + Duration::days(60);
    let mut out = vec![Deadline {
        recipient: Recipient::Individuals,
        due: sixty,
        states: vec![],
    }];
    if affected >= 500 {
        out.push(Deadline {
            recipient: Recipient::Hhs,
            due: sixty,
            states: vec![],
        });
    } else {
        out.push(Deadline {
            recipient: Recipient::HhsAnnualLog,
            due: annual_log_due(discovered.year()),
            states: vec![],
        });
    }
    let states: Vec<String> = by_state
        .iter()
        .filter(|(_, n)| **n > 500)
        .map(|(s, _)| s.clone())
        .collect();
    if !states.is_empty() {
        out.push(Deadline {
            recipient: Recipient::Media,
            due: sixty,
            states,
        });
    }
    out
}

/// "Not later than 60 days after the end of each calendar year": 60 days after 31 December
/// of the year of discovery (1 March, or 29 February when the next year is a leap year).
pub fn annual_log_due(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX) + Duration::days(60)
}

/// A reminder that a deadline is near or passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub recipient: Recipient,
    pub due: NaiveDate,
    /// Negative when overdue.
    pub days_left: i64,
}

/// Reminders due on `today`: 30, 14, 7, 3 and 1 days before, on the day, and every day after.
pub fn reminders(deadlines: &[Deadline], done: &[Recipient], today: NaiveDate) -> Vec<Reminder> {
    deadlines
        .iter()
        .filter(|d| !done.contains(&d.recipient))
        .filter_map(|d| {
            let left = (d.due - today).num_days();
            (matches!(left, 30 | 14 | 7 | 3 | 1) || left <= 0).then_some(Reminder {
                recipient: d.recipient,
                due: d.due,
                days_left: left,
            })
        })
        .collect()
}

/// Incident lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentStatus {
    Open,
    Contained,
    Closed,
}

impl IncidentStatus {
    pub fn code(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Closed => "closed",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Open, Self::Contained, Self::Closed]
            .into_iter()
            .find(|x| x.code() == s)
    }
}

/// One incident in the register. Descriptions must not carry PHI (the register is for
/// the security officer and auditor, who do not see patient data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub discovered_on: NaiveDate,
    pub status: IncidentStatus,
    pub affected: u32,
    pub by_state: BTreeMap<String, u32>,
    pub assessment: Option<BreachAssessment>,
    /// Notices already given.
    pub notified: Vec<Recipient>,
}

impl Incident {
    /// Clocks run only for a breach (or while unassessed: the presumption is a breach).
    pub fn deadlines(&self) -> Vec<Deadline> {
        match self
            .assessment
            .as_ref()
            .map(BreachAssessment::determination)
        {
            Some(Determination::Breach) | None => {
                deadlines(self.discovered_on, self.affected, &self.by_state)
            }
            Some(_) => vec![],
        }
    }

    pub fn overdue(&self, today: NaiveDate) -> Vec<Deadline> {
        self.deadlines()
            .into_iter()
            .filter(|d| !self.notified.contains(&d.recipient) && d.due < today)
            .collect()
    }

    /// Records are kept six years after the incident is closed (164.530(j), 164.316(b)(2)).
    pub fn retain_until(&self, closed_on: NaiveDate) -> NaiveDate {
        // From 29 February, six years on is the next 1 March (never shorter than six years).
        closed_on
            .with_year(closed_on.year() + 6)
            .unwrap_or_else(|| {
                NaiveDate::from_ymd_opt(closed_on.year() + 6, 3, 1).unwrap_or(NaiveDate::MAX)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn due(ds: &[Deadline], r: Recipient) -> Option<NaiveDate> {
        ds.iter().find(|x| x.recipient == r).map(|x| x.due)
    }

    #[test]
    fn clocks_across_year_end_into_a_common_year() {
        let ds = deadlines(d(2028, 12, 31), 10, &BTreeMap::new());
        // 2028-12-31 + 60 days: Jan 31 + Feb 28 (2029 is common) + 1 = 1 March 2029.
        assert_eq!(due(&ds, Recipient::Individuals), Some(d(2029, 3, 1)));
        // Under 500: the annual log for 2028 is due 60 days after 2028-12-31.
        assert_eq!(due(&ds, Recipient::HhsAnnualLog), Some(d(2029, 3, 1)));
        assert_eq!(due(&ds, Recipient::Hhs), None);
        assert_eq!(due(&ds, Recipient::Media), None);
    }

    #[test]
    fn annual_log_into_a_leap_year() {
        // The year after 2023 is a leap year: 31 Dec 2023 + 60 days = 29 Feb 2024.
        assert_eq!(annual_log_due(2023), d(2024, 2, 29));
        assert_eq!(annual_log_due(2024), d(2025, 3, 1));
        let ds = deadlines(d(2023, 1, 1), 1, &BTreeMap::new());
        assert_eq!(due(&ds, Recipient::HhsAnnualLog), Some(d(2024, 2, 29)));
    }

    #[test]
    fn clocks_from_a_leap_day_and_month_ends() {
        let ds = deadlines(d(2024, 2, 29), 500, &BTreeMap::new());
        assert_eq!(due(&ds, Recipient::Individuals), Some(d(2024, 4, 29)));
        assert_eq!(due(&ds, Recipient::Hhs), Some(d(2024, 4, 29)));
        assert_eq!(due(&ds, Recipient::HhsAnnualLog), None);
        // Through a leap February vs a common one.
        assert_eq!(
            deadlines(d(2024, 1, 31), 1, &BTreeMap::new())[0].due,
            d(2024, 3, 31)
        );
        assert_eq!(
            deadlines(d(2025, 1, 31), 1, &BTreeMap::new())[0].due,
            d(2025, 4, 1)
        );
        assert_eq!(
            deadlines(d(2026, 10, 31), 1, &BTreeMap::new())[0].due,
            d(2026, 12, 30)
        );
        assert_eq!(
            deadlines(d(2026, 11, 30), 1, &BTreeMap::new())[0].due,
            d(2027, 1, 29)
        );
    }

    #[test]
    fn media_only_over_500_in_a_state() {
        let mut s = BTreeMap::new();
        s.insert("NY".to_string(), 500);
        s.insert("NJ".to_string(), 501);
        let ds = deadlines(d(2026, 6, 1), 1001, &s);
        let media = ds.iter().find(|x| x.recipient == Recipient::Media).unwrap();
        assert_eq!(media.states, vec!["NJ".to_string()]);
        assert_eq!(media.due, d(2026, 7, 31));
        s.insert("NJ".to_string(), 500);
        assert!(deadlines(d(2026, 6, 1), 1000, &s)
            .iter()
            .all(|x| x.recipient != Recipient::Media));
    }

    #[test]
    fn four_factors_and_exclusions() {
        let mut a = BreachAssessment {
            exclusion: None,
            secured: false,
            nature_and_extent: Level::Low,
            unauthorized_person: Level::Low,
            acquired_or_viewed: Level::Low,
            mitigation: Level::Low,
            notes: String::new(),
        };
        assert_eq!(a.determination(), Determination::LowProbability);
        a.acquired_or_viewed = Level::Medium;
        assert_eq!(a.determination(), Determination::Breach);
        a.secured = true;
        assert_eq!(a.determination(), Determination::Secured);
        a.exclusion = Some(Exclusion::RecipientCouldNotRetain);
        assert_eq!(a.determination(), Determination::Excluded);
    }

    #[test]
    fn reminders_and_overdue() {
        let ds = deadlines(d(2028, 12, 31), 10, &BTreeMap::new());
        let r = reminders(&ds, &[], d(2029, 1, 30));
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.days_left == 30));
        assert!(reminders(&ds, &[], d(2029, 1, 31)).is_empty());
        let late = reminders(&ds, &[Recipient::HhsAnnualLog], d(2029, 3, 3));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].days_left, -2);
        let inc = Incident {
            id: "i".into(),
            title: "t".into(),
            kind: "lost-laptop".into(),
            discovered_on: d(2024, 2, 29),
            status: IncidentStatus::Open,
            affected: 3,
            by_state: BTreeMap::new(),
            assessment: None,
            notified: vec![Recipient::Individuals],
        };
        assert!(inc.overdue(d(2024, 4, 29)).is_empty());
        assert_eq!(inc.retain_until(d(2024, 2, 29)), d(2030, 3, 1));
        assert_eq!(inc.retain_until(d(2024, 3, 31)), d(2030, 3, 31));
    }
}
