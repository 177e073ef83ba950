//! A hand-built lab for the detector, scanner and case tests.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use labguard_core::{Id, Role};
use labguard_privacy::{
    Access, Alert, BlindKey, CareEvent, CareKind, Config, Detector, MemoryContext, PatientProfile,
    PatientRef, Reason, Seen, Shift, StaffProfile,
};

/// 2026-03-`day` (2 March 2026 is a Monday) at `h:m` UTC.
pub fn t(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, h, m, 0)
        .single()
        .expect("valid test date")
}

pub fn id(n: u128) -> Id {
    Id::from_u128(n)
}

pub fn key(b: u8) -> BlindKey {
    BlindKey([b; 32])
}

pub fn pt(s: &str) -> PatientRef {
    PatientRef::new(s)
}

/// Alice: phlebotomist in "draw", Mon-Fri 08:00-16:00 UTC, surname key 1, address key 2.
pub const ALICE: u128 = 1;
/// Bob: lab technologist in "chem", also a patient (pt-bob).
pub const BOB: u128 = 2;
/// Carol: phlebotomist in "draw", no shift on file.
pub const CAROL: u128 = 3;

pub fn weekdays(start_h: u16, end_h: u16) -> Shift {
    Shift {
        days: [true, true, true, true, true, false, false],
        start_minute: start_h * 60,
        end_minute: end_h * 60,
        utc_offset_minutes: 0,
    }
}

pub fn staff(n: u128, role: Role, dept: &str) -> StaffProfile {
    StaffProfile {
        id: id(n),
        role,
        department: Some(dept.into()),
        surname_key: None,
        address_key: None,
        is_also_patient: None,
        shift: None,
    }
}

pub fn patient(r: &str) -> PatientProfile {
    PatientProfile {
        patient: pt(r),
        surname_key: Some(key(90)),
        address_key: Some(key(91)),
        restricted: false,
        deceased: false,
        last_activity: Some(t(1, 8, 0)),
    }
}

pub fn lab() -> MemoryContext {
    let mut c = MemoryContext::new();
    c.add_staff(StaffProfile {
        surname_key: Some(key(1)),
        address_key: Some(key(2)),
        shift: Some(weekdays(8, 16)),
        ..staff(ALICE, Role::Phlebotomist, "draw")
    });
    c.add_staff(StaffProfile {
        is_also_patient: Some(pt("pt-bob")),
        ..staff(BOB, Role::LabTechnologist, "chem")
    });
    c.add_staff(staff(CAROL, Role::Phlebotomist, "draw"));
    for p in ["pt-1", "pt-2", "pt-bob"] {
        c.add_patient(patient(p));
    }
    c.add_patient(PatientProfile {
        surname_key: Some(key(1)),
        ..patient("pt-relative")
    });
    c.add_patient(PatientProfile {
        address_key: Some(key(2)),
        ..patient("pt-housemate")
    });
    c.add_patient(PatientProfile {
        restricted: true,
        ..patient("pt-vip")
    });
    c.add_patient(PatientProfile {
        deceased: true,
        last_activity: Some(t(1, 8, 0) - chrono::Duration::days(10)),
        ..patient("pt-deceased")
    });
    c.add_patient(PatientProfile {
        last_activity: Some(t(2, 8, 0) - chrono::Duration::days(730)),
        ..patient("pt-old")
    });
    c.add_patient(PatientProfile {
        last_activity: Some(t(2, 8, 0) - chrono::Duration::days(100)),
        ..patient("pt-recent")
    });
    // pt-1 was drawn by Alice on Monday morning.
    c.add_event(CareEvent {
        at: t(2, 8, 30),
        patient: pt("pt-1"),
        kind: CareKind::Draw,
        staff: Some(id(ALICE)),
        department: Some("draw".into()),
    });
    c
}

pub fn access(
    seq: u64,
    at: DateTime<Utc>,
    who: u128,
    role: Role,
    p: &str,
    reason: Reason,
) -> Access {
    Access {
        seq,
        at,
        staff: id(who),
        role,
        patient: pt(p),
        what: Seen::Demographics,
        reason,
    }
}

/// Alice, on Monday 10:00, no reason given.
pub fn alice_opens(seq: u64, p: &str) -> Access {
    access(
        seq,
        t(2, 10, 0),
        ALICE,
        Role::Phlebotomist,
        p,
        Reason::Unstated,
    )
}

pub fn detectors(alerts: &[Alert]) -> Vec<Detector> {
    alerts.iter().map(|a| a.detector).collect()
}

pub fn one(ctx: &MemoryContext, a: Access) -> Vec<Alert> {
    labguard_privacy::scan(Default::default(), &[a], ctx, &Config::default()).1
}
