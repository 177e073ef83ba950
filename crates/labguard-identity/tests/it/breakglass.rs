use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use labguard_core::{Id, Role};
use labguard_identity::{BreakGlassError, BreakGlassPolicy, BreakGlassRequest};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 0).unwrap()
}

const USER: Id = Id::from_u128(0x11);
const PATIENT: Id = Id::from_u128(0x22);
const GRANT: Id = Id::from_u128(0x33);

fn request(role: Role, reason: &str) -> BreakGlassRequest {
    BreakGlassRequest {
        user: USER,
        role,
        patient_ref: PATIENT,
        reason: reason.into(),
    }
}

#[test]
fn grant_lasts_sixty_minutes() {
    let grant = BreakGlassPolicy::default()
        .grant(
            request(
                Role::LabTechnologist,
                "Critical potassium, on-call physician unreachable",
            ),
            GRANT,
            at(0),
        )
        .unwrap();
    assert_eq!(grant.grant_id, GRANT);
    assert_eq!(grant.granted_at, at(0));
    assert_eq!(grant.expires_at, at(0) + TimeDelta::minutes(60));
    assert!(grant.is_active(at(0)));
    assert!(grant.is_active(at(3599)));
    assert!(!grant.is_active(at(3600)));
    assert!(!grant.is_active(at(-1)));
    assert!(grant.covers(USER, PATIENT, at(10)));
    assert!(!grant.covers(USER, Id::from_u128(0x23), at(10)));
    assert!(!grant.covers(Id::from_u128(0x12), PATIENT, at(10)));
}

#[test]
fn reason_is_required_and_at_least_ten_characters() {
    let policy = BreakGlassPolicy::default();
    let try_reason = |r: &str| {
        policy
            .grant(request(Role::Phlebotomist, r), GRANT, at(0))
            .map(|g| g.reason)
    };
    assert_eq!(try_reason(""), Err(BreakGlassError::ReasonMissing));
    assert_eq!(try_reason(" \t\n "), Err(BreakGlassError::ReasonMissing));
    assert_eq!(
        try_reason("urgent"),
        Err(BreakGlassError::ReasonTooShort { min: 10, actual: 6 })
    );
    // Padding with spaces does not make a short reason long enough.
    assert_eq!(
        try_reason("so        urgent"),
        Err(BreakGlassError::ReasonTooShort { min: 10, actual: 9 })
    );
    assert_eq!(try_reason("  sepsis now "), Ok("sepsis now".to_owned()));
    assert_eq!(
        try_reason("bad\u{7}reason here"),
        Err(BreakGlassError::ReasonControl)
    );
    assert_eq!(
        try_reason(&"x".repeat(1001)),
        Err(BreakGlassError::ReasonTooLong {
            max: 1000,
            actual: 1001
        })
    );
    assert_eq!(
        BreakGlassError::ReasonTooShort { min: 10, actual: 6 }.to_string(),
        "the reason must be at least 10 characters (it has 6)"
    );
}

#[test]
fn only_patient_care_roles_may_break_glass() {
    let policy = BreakGlassPolicy::default();
    for role in [Role::Auditor, Role::SecurityOfficer, Role::Administrator] {
        assert_eq!(
            policy.grant(request(role, "need to see this record now"), GRANT, at(0)),
            Err(BreakGlassError::RoleNotEligible(role))
        );
    }
    for role in [
        Role::Phlebotomist,
        Role::FrontDesk,
        Role::LabTechnologist,
        Role::Pathologist,
    ] {
        assert!(policy
            .grant(request(role, "need to see this record now"), GRANT, at(0))
            .is_ok());
    }
    assert_eq!(
        BreakGlassError::RoleNotEligible(Role::Auditor).to_string(),
        "the auditor role cannot use break-glass access"
    );
}

#[test]
fn duration_is_configurable_and_grant_serializes() {
    let policy = BreakGlassPolicy {
        duration: TimeDelta::minutes(15),
        ..BreakGlassPolicy::default()
    };
    let grant = policy
        .grant(
            request(Role::Pathologist, "frozen section during surgery"),
            GRANT,
            at(0),
        )
        .unwrap();
    assert!(!grant.is_active(at(15 * 60)));
    let json = serde_json::to_value(&grant).unwrap();
    assert_eq!(json["role"], "pathologist");
    assert_eq!(json["reason"], "frozen section during surgery");
    let back: labguard_identity::BreakGlassGrant = serde_json::from_value(json).unwrap();
    assert_eq!(back, grant);
}
