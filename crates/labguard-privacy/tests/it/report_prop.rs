//! Property test over generated logs: the patient access report lists exactly the accesses
//! to that patient's record in the period, in time order, each with its own role, staff
//! member, what was seen and why, and nothing of any other patient's.

use crate::common::*;
use chrono::Duration;
use labguard_core::Role;
use labguard_privacy::{Access, PatientAccessReport, Reason, Seen, StaffShown};
use proptest::prelude::*;

const PATIENTS: [&str; 4] = ["pt-a", "pt-b", "pt-c", "pt-d"];
const STAFF: [(u128, Role); 4] = [
    (11, Role::Phlebotomist),
    (12, Role::LabTechnologist),
    (13, Role::FrontDesk),
    (14, Role::Pathologist),
];
const SEEN: [Seen; 5] = [
    Seen::Demographics,
    Seen::Results,
    Seen::Specimen,
    Seen::Orders,
    Seen::SearchResult,
];

/// Accesses in audit order (sequence numbers increasing, times not always: nodes' clocks).
fn log() -> impl Strategy<Value = Vec<Access>> {
    prop::collection::vec(
        (
            -30i64..240,
            0usize..STAFF.len(),
            0usize..PATIENTS.len(),
            0usize..SEEN.len(),
            0u8..3,
        ),
        0..120,
    )
    .prop_map(|steps| {
        let mut at = t(2, 6, 0);
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (gap, who, p, seen, r))| {
                at += Duration::minutes(gap);
                let (staff, role) = STAFF[who];
                Access {
                    seq: 1 + i as u64,
                    at,
                    staff: id(staff),
                    role,
                    patient: pt(PATIENTS[p]),
                    what: SEEN[seen],
                    reason: match r {
                        0 => Reason::Unstated,
                        1 => Reason::Worklist,
                        _ => Reason::BreakGlass {
                            reason: format!("stat {i}"),
                        },
                    },
                }
            })
            .collect()
    })
}

fn name(s: &labguard_core::Id) -> Option<String> {
    STAFF
        .iter()
        .find(|(n, _)| id(*n) == *s)
        .map(|(n, _)| format!("Staff {n}"))
}

proptest! {
    #[test]
    fn the_report_is_exactly_that_patients_accesses_in_the_period(
        log in log(),
        who in 0usize..PATIENTS.len(),
        from_h in 0i64..200,
        len_h in 0i64..200,
        named in any::<bool>(),
    ) {
        let patient = pt(PATIENTS[who]);
        let from = t(2, 6, 0) + Duration::hours(from_h);
        let to = from + Duration::hours(len_h);
        let report =
            PatientAccessReport::build("subject", &patient, &log, (from, to), t(20, 0, 0), named, name);

        // What the log holds for this patient in the period, in time (then audit) order.
        let mut want: Vec<&Access> = log
            .iter()
            .filter(|a| a.patient == patient && a.at >= from && a.at < to)
            .collect();
        want.sort_by_key(|a| (a.at, a.seq));
        prop_assert_eq!(report.rows.len(), want.len());
        let mut numbered: Vec<labguard_core::Id> = vec![];
        for (row, a) in report.rows.iter().zip(&want) {
            prop_assert_eq!(row.at, a.at);
            prop_assert_eq!(row.role, a.role);
            prop_assert_eq!(&row.what, a.what.label());
            match &a.reason {
                Reason::BreakGlass { reason } => prop_assert!(row.why.ends_with(reason.as_str())),
                Reason::Worklist => prop_assert!(row.why.contains("worklist")),
                Reason::Unstated => prop_assert_eq!(&row.why, "no reason recorded"),
            }
            match &row.staff {
                StaffShown::Named(n) => {
                    prop_assert!(named);
                    prop_assert_eq!(Some(n.clone()), name(&a.staff));
                }
                StaffShown::Pseudonymous(label) => {
                    prop_assert!(!named);
                    // Numbered by first appearance in this report.
                    if !numbered.contains(&a.staff) {
                        numbered.push(a.staff);
                    }
                    let n = numbered.iter().position(|s| *s == a.staff).map_or(0, |p| p + 1);
                    prop_assert_eq!(label, &format!("Staff member {n}"));
                }
            }
        }
        // Nothing of anyone else's: no other patient's break-glass reason leaks in.
        let json = serde_json::to_string(&report).unwrap_or_default();
        for a in log.iter().filter(|a| a.patient != patient) {
            if let Reason::BreakGlass { reason } = &a.reason {
                let mine = want.iter().any(|w| matches!(&w.reason, Reason::BreakGlass { reason: r } if r == reason));
                let quoted = format!("\"emergency access: {reason}\"");
                prop_assert!(mine || !json.contains(&quoted), "another patient's access leaked");
            }
        }
    }
}
