//! The patient access report (HIPAA 164.528 accounting): rows, names, JSON and HTML.

use crate::common::*;
use labguard_core::Role;
use labguard_privacy::{Access, PatientAccessReport, Reason, Seen, StaffShown};

fn accesses() -> Vec<Access> {
    let mut v = vec![
        // Out of order on purpose: the report sorts by time.
        Access {
            what: Seen::Results,
            ..access(
                3,
                t(4, 9, 0),
                BOB,
                Role::LabTechnologist,
                "pt-1",
                Reason::Worklist,
            )
        },
        access(
            1,
            t(2, 10, 0),
            ALICE,
            Role::Phlebotomist,
            "pt-1",
            Reason::Unstated,
        ),
        access(
            2,
            t(3, 10, 0),
            CAROL,
            Role::Phlebotomist,
            "pt-2",
            Reason::Unstated,
        ),
        access(
            4,
            t(5, 9, 0),
            ALICE,
            Role::Phlebotomist,
            "pt-1",
            Reason::BreakGlass {
                reason: "<script>alert(1)</script> & co".into(),
            },
        ),
    ];
    // Outside the period.
    v.push(access(
        5,
        t(9, 9, 0),
        ALICE,
        Role::Phlebotomist,
        "pt-1",
        Reason::Unstated,
    ));
    v
}

fn name(s: &labguard_core::Id) -> Option<String> {
    if *s == id(ALICE) {
        Some("Alice \"Al\" O'Neil".into())
    } else {
        None
    }
}

#[test]
fn rows_are_this_patients_in_the_period_in_time_order() {
    let r = PatientAccessReport::build(
        "Pat Example",
        &pt("pt-1"),
        &accesses(),
        (t(2, 0, 0), t(9, 0, 0)),
        t(10, 8, 0),
        true,
        name,
    );
    let when: Vec<_> = r.rows.iter().map(|r| r.at).collect();
    assert_eq!(when, vec![t(2, 10, 0), t(4, 9, 0), t(5, 9, 0)]);
    assert_eq!(
        r.rows[0].staff,
        StaffShown::Named("Alice \"Al\" O'Neil".into())
    );
    // Bob has no name on file: pseudonymous even with names shown.
    assert_eq!(
        r.rows[1].staff,
        StaffShown::Pseudonymous("Staff member 1".into())
    );
    assert_eq!(r.rows[1].role, Role::LabTechnologist);
    assert_eq!(r.rows[1].what, "results");
    assert_eq!(r.rows[0].why, "no reason recorded");
    assert_eq!(r.rows[1].why, "assigned work (worklist)");
    assert_eq!(
        r.rows[2].why,
        "emergency access: <script>alert(1)</script> & co"
    );
}

#[test]
fn pseudonymous_setting_numbers_staff_by_first_appearance() {
    let r = PatientAccessReport::build(
        "Pat Example",
        &pt("pt-1"),
        &accesses(),
        (t(2, 0, 0), t(9, 0, 0)),
        t(10, 8, 0),
        false,
        name,
    );
    let labels: Vec<_> = r.rows.iter().map(|r| r.staff.label().to_string()).collect();
    assert_eq!(
        labels,
        vec!["Staff member 1", "Staff member 2", "Staff member 1"]
    );
    let json = r.to_json().unwrap();
    assert!(!json.contains("Alice"));
    assert!(!json.contains(&id(ALICE).to_string()));
    let back: PatientAccessReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn html_is_escaped_and_has_no_script_or_style() {
    let r = PatientAccessReport::build(
        "Pat <b>Example</b>",
        &pt("pt-1"),
        &accesses(),
        (t(2, 0, 0), t(9, 0, 0)),
        t(10, 8, 0),
        true,
        name,
    );
    let h = r.to_html();
    assert!(h.contains("<h1>Record access report: Pat &lt;b&gt;Example&lt;/b&gt;</h1>"));
    assert!(h.contains("<td>Alice &quot;Al&quot; O&#39;Neil</td>"));
    assert!(h.contains("<td>emergency access: &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</td>"));
    assert!(h.contains("<td>2026-03-04T09:00:00Z</td><td>lab-technologist</td><td>Staff member 1</td><td>results</td>"));
    assert!(!h.contains("<script") && !h.contains("style") && !h.contains("<b>"));
    assert_eq!(h.matches("<tr>").count(), 4); // header + 3 rows
}

#[test]
fn an_empty_period_says_so() {
    let r = PatientAccessReport::build(
        "P",
        &pt("pt-9"),
        &accesses(),
        (t(2, 0, 0), t(9, 0, 0)),
        t(10, 8, 0),
        true,
        name,
    );
    assert!(r.rows.is_empty());
    assert!(r
        .to_html()
        .contains("No one opened this record in the period."));
}

#[test]
fn debug_output_names_neither_patient_nor_pseudonym() {
    let r = PatientAccessReport::build(
        "Pat Example",
        &pt("pt-1"),
        &accesses(),
        (t(2, 0, 0), t(9, 0, 0)),
        t(10, 8, 0),
        true,
        name,
    );
    let d = format!("{r:?} {:?}", accesses()[0]);
    assert!(!d.contains("Pat Example") && !d.contains("pt-1"), "{d}");
    assert!(d.contains("rows: 3"));
}
