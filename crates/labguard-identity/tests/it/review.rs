use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use labguard_core::{Id, Role};
use labguard_identity::{AccessReviewPolicy, AccountFacts, Finding};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn days_ago(d: i64) -> DateTime<Utc> {
    now() - TimeDelta::days(d)
}

fn account(n: u128, username: &str, role: Role) -> AccountFacts {
    AccountFacts {
        user: Id::from_u128(n),
        username: username.into(),
        role,
        created_at: days_ago(400),
        last_sign_in: Some(days_ago(1)),
        mfa_enrolled: true,
        disabled: false,
    }
}

fn findings_for(facts: AccountFacts) -> Vec<Finding> {
    AccessReviewPolicy::default()
        .review(&[facts], now())
        .accounts
        .remove(0)
        .findings
}

#[test]
fn dormant_after_ninety_days() {
    let mut a = account(1, "jsmith", Role::LabTechnologist);
    a.last_sign_in = Some(days_ago(89));
    assert_eq!(findings_for(a.clone()), vec![]);
    a.last_sign_in = Some(days_ago(90));
    assert_eq!(
        findings_for(a),
        vec![Finding::Dormant {
            last_sign_in: Some(days_ago(90)),
            days_inactive: 90
        }]
    );
}

#[test]
fn never_signed_in_counts_from_creation() {
    let mut a = account(1, "newhire", Role::FrontDesk);
    a.last_sign_in = None;
    a.created_at = days_ago(10);
    assert_eq!(findings_for(a.clone()), vec![]);
    a.created_at = days_ago(120);
    let f = findings_for(a);
    assert_eq!(
        f,
        vec![Finding::Dormant {
            last_sign_in: None,
            days_inactive: 120
        }]
    );
    assert_eq!(
        f[0].describe(),
        "never signed in; created 120 days ago; disable it"
    );
}

#[test]
fn phi_roles_without_mfa_are_flagged() {
    for role in [
        Role::Phlebotomist,
        Role::FrontDesk,
        Role::LabTechnologist,
        Role::Pathologist,
    ] {
        let mut a = account(1, "x", role);
        a.mfa_enrolled = false;
        assert_eq!(findings_for(a), vec![Finding::MissingMfaPhiRole], "{role}");
    }
    // The auditor neither sees PHI nor manages accounts or keys.
    let mut auditor = account(2, "audit", Role::Auditor);
    auditor.mfa_enrolled = false;
    assert_eq!(findings_for(auditor), vec![]);
}

#[test]
fn privileged_roles_without_mfa_are_flagged() {
    for role in [Role::Administrator, Role::SecurityOfficer] {
        let mut a = account(1, "root", role);
        a.mfa_enrolled = false;
        assert_eq!(
            findings_for(a),
            vec![Finding::MissingMfaPrivilegedRole],
            "{role}"
        );
    }
}

#[test]
fn disabled_accounts_raise_nothing() {
    let mut a = account(1, "gone", Role::Pathologist);
    a.disabled = true;
    a.mfa_enrolled = false;
    a.last_sign_in = Some(days_ago(500));
    assert_eq!(findings_for(a), vec![]);
}

#[test]
fn report_counts_and_order() {
    let mut dormant_no_mfa = account(1, "zoe", Role::Pathologist);
    dormant_no_mfa.mfa_enrolled = false;
    dormant_no_mfa.last_sign_in = Some(days_ago(200));
    let fine = account(2, "adam", Role::Auditor);
    let mut disabled = account(3, "mia", Role::FrontDesk);
    disabled.disabled = true;
    let mut no_mfa = account(4, "bob", Role::Administrator);
    no_mfa.mfa_enrolled = false;

    let report =
        AccessReviewPolicy::default().review(&[dormant_no_mfa, fine, disabled, no_mfa], now());
    let names: Vec<&str> = report
        .accounts
        .iter()
        .map(|a| a.username.as_str())
        .collect();
    assert_eq!(names, ["adam", "bob", "mia", "zoe"]);
    let c = &report.counts;
    assert_eq!(
        (
            c.total,
            c.enabled,
            c.disabled,
            c.dormant,
            c.missing_mfa,
            c.needing_action
        ),
        (4, 3, 1, 1, 2, 2)
    );
    let needing: Vec<&str> = report
        .needing_action()
        .map(|a| a.username.as_str())
        .collect();
    assert_eq!(needing, ["bob", "zoe"]);
    assert_eq!(report.dormant_after_days, 90);
    assert_eq!(report.generated_at, now());

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["accounts"][3]["findings"][0]["finding"], "dormant");
    assert_eq!(
        json["accounts"][3]["findings"][1]["finding"],
        "missing-mfa-phi-role"
    );
}

#[test]
fn dormancy_period_is_configurable() {
    let policy = AccessReviewPolicy {
        dormant_after: TimeDelta::days(30),
    };
    let mut a = account(1, "jsmith", Role::LabTechnologist);
    a.last_sign_in = Some(days_ago(45));
    let report = policy.review(&[a], now());
    assert_eq!(report.counts.dormant, 1);
    assert_eq!(report.dormant_after_days, 30);
}
