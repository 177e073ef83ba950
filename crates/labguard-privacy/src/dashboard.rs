//! The privacy officer's dashboard, computed from cases and alerts: open cases, counted
//! alerts per detector per day (chart series), users with the most unexplained accesses,
//! and how old the backlog is. In pseudonymous mode (for auditors) users are "User A",
//! "User B" by rank: no names, no ids.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Detector};
use crate::baseline::median;
use crate::cases::{CaseBook, CaseStatus};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorSeries {
    pub detector: Detector,
    /// One point per lab-local day in the range, zeros included.
    pub points: Vec<(NaiveDate, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardUser {
    /// A display name, or "User A"… in pseudonymous mode.
    pub label: String,
    /// None in pseudonymous mode.
    pub staff: Option<Id>,
    pub role: Role,
    /// Distinct accesses with a counted no-relationship, restricted or dormant alert.
    pub unexplained: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacklogAge {
    pub open: usize,
    pub unassigned: usize,
    pub oldest_hours: Option<i64>,
    pub median_hours: Option<f64>,
    pub older_than_week: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub as_of: DateTime<Utc>,
    pub pseudonymous: bool,
    pub open_cases: usize,
    pub per_detector: Vec<DetectorSeries>,
    pub top_users: Vec<DashboardUser>,
    pub backlog: BacklogAge,
}

/// Gives a member of staff's display name; `None` as a whole means pseudonymous mode.
pub type Names<'a> = &'a dyn Fn(&Id) -> Option<String>;

const UNEXPLAINED: [Detector; 3] = [
    Detector::NoRelationship,
    Detector::Restricted,
    Detector::Dormant,
];

/// "A", …, "Z", "AA", "AB", …
fn letters(mut n: usize) -> String {
    let mut s = vec![];
    loop {
        s.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl Dashboard {
    /// `days` is the chart's inclusive lab-local date range. `names` is `None` for the
    /// pseudonymous (auditor) view.
    pub fn compute(
        book: &CaseBook,
        alerts: &[Alert],
        days: (NaiveDate, NaiveDate),
        as_of: DateTime<Utc>,
        top_n: usize,
        names: Option<Names<'_>>,
    ) -> Dashboard {
        let offset = Duration::minutes(i64::from(book.utc_offset_minutes));
        let open: Vec<_> = book.cases.iter().filter(|c| !c.is_closed()).collect();
        let mut ages: Vec<i64> = open
            .iter()
            .map(|c| (as_of - c.opened_at).num_hours().max(0))
            .collect();
        ages.sort_unstable();
        let agesf: Vec<f64> = ages.iter().map(|h| *h as f64).collect();
        let backlog = BacklogAge {
            open: open.len(),
            unassigned: open.iter().filter(|c| c.status == CaseStatus::Open).count(),
            oldest_hours: ages.last().copied(),
            median_hours: median(&agesf),
            older_than_week: ages.iter().filter(|h| **h > 7 * 24).count(),
        };
        Dashboard {
            as_of,
            pseudonymous: names.is_none(),
            open_cases: open.len(),
            per_detector: series(alerts, days, offset),
            top_users: top_users(alerts, top_n, names),
            backlog,
        }
    }
}

fn series(
    alerts: &[Alert],
    (first, last): (NaiveDate, NaiveDate),
    offset: Duration,
) -> Vec<DetectorSeries> {
    let mut counts: HashMap<(Detector, NaiveDate), u32> = HashMap::new();
    for a in alerts.iter().filter(|a| a.counts()) {
        *counts
            .entry((a.detector, (a.at + offset).date_naive()))
            .or_default() += 1;
    }
    let dates: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    Detector::ALL
        .iter()
        .map(|d| DetectorSeries {
            detector: *d,
            points: dates
                .iter()
                .map(|day| (*day, counts.get(&(*d, *day)).copied().unwrap_or(0)))
                .collect(),
        })
        .collect()
}

fn top_users(alerts: &[Alert], top_n: usize, names: Option<Names<'_>>) -> Vec<DashboardUser> {
    let mut per: BTreeMap<Id, (Role, BTreeSet<u64>)> = BTreeMap::new();
    for a in alerts
        .iter()
        .filter(|a| a.counts() && UNEXPLAINED.contains(&a.detector))
    {
        per.entry(a.staff)
            .or_insert_with(|| (a.role, BTreeSet::new()))
            .1
            .insert(a.seq);
    }
    let mut ranked: Vec<(Id, Role, u32)> = per
        .into_iter()
        .map(|(id, (role, seqs))| (id, role, u32::try_from(seqs.len()).unwrap_or(u32::MAX)))
        .collect();
    // Most first; ties by id so the order is stable.
    ranked.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)));
    ranked
        .into_iter()
        .take(top_n)
        .enumerate()
        .map(|(i, (id, role, unexplained))| match names {
            Some(name) => DashboardUser {
                label: name(&id).unwrap_or_else(|| id.to_string()),
                staff: Some(id),
                role,
                unexplained,
            },
            None => DashboardUser {
                label: format!("User {}", letters(i)),
                staff: None,
                role,
                unexplained,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn letters_run_like_spreadsheet_columns() {
        assert_eq!(super::letters(0), "A");
        assert_eq!(super::letters(25), "Z");
        assert_eq!(super::letters(26), "AA");
        assert_eq!(super::letters(27), "AB");
        assert_eq!(super::letters(26 + 26 * 26), "AAA");
    }
}
