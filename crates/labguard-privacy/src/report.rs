//! The patient access report: for one patient and period, who (by role, and by name where
//! the lab's setting shows staff) saw what and why, the accounting a patient can ask for
//! under HIPAA 164.528 and the access report of the proposed 164.528(b). Rendered as JSON
//! and as a plain HTML fragment (every value escaped, no script, no style attributes).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::model::{Access, PatientRef, Reason};

/// How a row names the member of staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "shown", content = "label")]
pub enum StaffShown {
    Named(String),
    /// "Staff member N": numbered by first appearance in this report only, so two reports
    /// cannot be joined on it.
    Pseudonymous(String),
}

impl StaffShown {
    pub fn label(&self) -> &str {
        match self {
            StaffShown::Named(s) | StaffShown::Pseudonymous(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    pub at: DateTime<Utc>,
    pub role: Role,
    pub staff: StaffShown,
    pub what: String,
    pub why: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientAccessReport {
    /// The heading the caller gives (the patient's name on the copy handed to them).
    pub subject: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub rows: Vec<AccessRow>,
}

impl std::fmt::Debug for PatientAccessReport {
    // The subject is the patient's name on the copy handed to them: never in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientAccessReport")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

fn why(r: &Reason) -> String {
    match r {
        Reason::Worklist => "assigned work (worklist)".into(),
        Reason::BreakGlass { reason } => format!("emergency access: {}", reason.trim()),
        Reason::Unstated => "no reason recorded".into(),
    }
}

impl PatientAccessReport {
    /// The rows for `patient` in `from..to` from `accesses` (any order). `name` gives a
    /// member of staff's display name; with `show_staff` false (or no name known) rows say
    /// "Staff member N" instead.
    pub fn build(
        subject: &str,
        patient: &PatientRef,
        accesses: &[Access],
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        generated_at: DateTime<Utc>,
        show_staff: bool,
        name: impl Fn(&Id) -> Option<String>,
    ) -> PatientAccessReport {
        let mut mine: Vec<&Access> = accesses
            .iter()
            .filter(|a| &a.patient == patient && a.at >= from && a.at < to)
            .collect();
        mine.sort_by_key(|a| (a.at, a.seq));
        let mut ordinals: HashMap<Id, usize> = HashMap::new();
        let rows = mine
            .into_iter()
            .map(|a| {
                let named = if show_staff { name(&a.staff) } else { None };
                let staff = match named {
                    Some(n) => StaffShown::Named(n),
                    None => {
                        let next = ordinals.len() + 1;
                        let n = *ordinals.entry(a.staff).or_insert(next);
                        StaffShown::Pseudonymous(format!("Staff member {n}"))
                    }
                };
                AccessRow {
                    at: a.at,
                    role: a.role,
                    staff,
                    what: a.what.label().to_string(),
                    why: why(&a.reason),
                }
            })
            .collect();
        PatientAccessReport {
            subject: subject.to_string(),
            from,
            to,
            generated_at,
            rows,
        }
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// A self-contained HTML fragment (a section with a table) for the UI to place in its
    /// page; no scripts, no inline styles, every value escaped.
    pub fn to_html(&self) -> String {
        let t = |d: &DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut h = String::new();
        h.push_str("<section class=\"access-report\">\n");
        h.push_str(&format!(
            "<h1>Record access report: {}</h1>\n<p>From {} to {}, generated {}.</p>\n",
            escape(&self.subject),
            t(&self.from),
            t(&self.to),
            t(&self.generated_at)
        ));
        if self.rows.is_empty() {
            h.push_str("<p>No one opened this record in the period.</p>\n</section>\n");
            return h;
        }
        h.push_str("<table>\n<thead><tr><th>When (UTC)</th><th>Role</th><th>Staff</th><th>What was seen</th><th>Why</th></tr></thead>\n<tbody>\n");
        for r in &self.rows {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                t(&r.at),
                escape(r.role.code()),
                escape(r.staff.label()),
                escape(&r.what),
                escape(&r.why)
            ));
        }
        h.push_str("</tbody>\n</table>\n</section>\n");
        h
    }
}

/// HTML text and attribute escaping (the five characters that matter).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
