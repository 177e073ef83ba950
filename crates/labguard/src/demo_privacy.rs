//! The demo's privacy story: three weeks of ordinary record work by the demo staff, then a
//! technologist who snoops (her namesake's record after hours, a co-worker's results, a
//! burst of records she has no work for), and a privacy scan, so `/privacy` opens on real
//! cases. Every access is a real, audited store read: the demo moves the store's own clock
//! (`DemoClock`) through the weeks instead of writing back-dated entries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use labguard_core::{Id, Patient, Role, Sex};
use labguard_privacy::Shift;
use labguard_store::{Actor, Clock, StaffPrivacyProfile, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The store's clock for the demo: real time, or a simulated instant while history plays.
#[derive(Clone, Default)]
pub struct DemoClock(Arc<AtomicI64>);

/// Marks "real time" in the atomic (no simulated instant is this far in the past).
const REAL: i64 = i64::MIN;

impl DemoClock {
    pub fn new() -> Self {
        DemoClock(Arc::new(AtomicI64::new(REAL)))
    }

    pub fn clock(&self) -> Clock {
        let at = self.0.clone();
        Arc::new(move || match at.load(Ordering::SeqCst) {
            REAL => Utc::now(),
            micros => DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now),
        })
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.0.store(t.timestamp_micros(), Ordering::SeqCst);
    }

    pub fn real(&self) {
        self.0.store(REAL, Ordering::SeqCst);
    }
}

/// Days of history the demo plays before today.
pub const HISTORY_DAYS: i64 = 21;

/// Where history starts: midnight UTC, `HISTORY_DAYS` ago.
pub fn history_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let day = (now - Duration::days(HISTORY_DAYS)).date_naive();
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The demo's day shift, 07:00-15:30 UTC, Monday to Friday.
fn day_shift() -> Shift {
    Shift {
        days: [true, true, true, true, true, false, false],
        start_minute: 7 * 60,
        end_minute: 15 * 60 + 30,
        utc_offset_minutes: 0,
    }
}

fn extra_patient(mrn: String, family: &str, given: &str, sex: Sex) -> Patient {
    Patient {
        id: Id::new_v4(),
        mrn,
        family: family.into(),
        given: given.into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1961, 4, 9).unwrap_or_default(),
        sex,
        phone: Some("+1-202-555-0199".into()),
        email: None,
        address: None,
    }
}

/// The demo's staff: id and role by username.
pub type StaffIds = HashMap<String, (Id, Role)>;

/// What the story needs from the seeded lab: staff ids by username, the patients with lab
/// work, and the store's clock.
pub struct Lab<'a> {
    pub store: &'a Store,
    pub clock: &'a DemoClock,
    pub staff: &'a StaffIds,
    pub patients: Vec<Id>,
}

impl Lab<'_> {
    fn actor(&self, username: &str) -> Result<Actor> {
        let (id, role) = self
            .staff
            .get(username)
            .ok_or_else(|| anyhow::anyhow!("demo staff member {username} missing"))?;
        Ok(Actor::staff(id.to_string(), *role))
    }
}

/// Plays the history and the snooping, then scans. Returns (alerts, cases touched).
pub fn play(lab: &Lab<'_>, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(u64, usize)> {
    let store = lab.store;
    let officer = lab.actor("sam.secure")?;
    let desk = lab.actor("fran.desk")?;
    let (tess, theo) = (lab.actor("tess.tech")?, lab.actor("theo.tech")?);
    let pia = lab.actor("pia.phleb")?;
    lab.clock.set(start + Duration::hours(6));

    // Records the story needs: Tess's namesake, Theo's own record (he is a patient here
    // too, with results), and patients registered but never drawn.
    let namesake = extra_patient("DEMO-900001".into(), "Pipette", "Ambrose", Sex::Male);
    store.add_patient(&desk, &namesake)?;
    let theo_record = lab
        .patients
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("the demo needs at least one patient"))?;
    let mut undrawn = vec![];
    for i in 0..30u32 {
        let p = extra_patient(
            format!("DEMO-9{:05}", 100 + i),
            ["Larkspur", "Fennimore", "Oakhart", "Brindle", "Sedgewick"][(i % 5) as usize],
            [
                "Orla",
                "Piers",
                "Wilhelmina",
                "Crispin",
                "Delphine",
                "Roderick",
            ][(i % 6) as usize],
            [Sex::Female, Sex::Male][(i % 2) as usize],
        );
        store.add_patient(&desk, &p)?;
        undrawn.push(p.id);
    }

    // HR import: surnames, shifts and departments (the analyzers stand in the core lab).
    let profile =
        |who: &Actor, surname: &str, department: &str, own: Option<Id>| StaffPrivacyProfile {
            staff_id: who.id.parse().unwrap_or_default(),
            surname: Some(surname.into()),
            address: None,
            department: Some(department.into()),
            shift: Some(day_shift()),
            own_patient: own,
        };
    store.set_staff_privacy_profile(&officer, &profile(&tess, "Pipette", "Core lab", None))?;
    store.set_staff_privacy_profile(
        &officer,
        &profile(&theo, "Centrifuge", "Core lab", Some(theo_record)),
    )?;
    store.set_staff_privacy_profile(&officer, &profile(&pia, "Venipuncta", "Draw room", None))?;

    // Ordinary weekdays: each of Pia, Theo and Tess opens two to four patients with lab
    // work an hour, in shift, until two days ago.
    let mut rng = StdRng::seed_from_u64(20261207);
    let last_day = now - Duration::days(2);
    let mut day = start + Duration::days(1);
    let pool: Vec<Id> = lab.patients.iter().skip(1).copied().collect();
    while day < last_day {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            for hour in 8..15 {
                for (who, results) in [(&pia, false), (&theo, true), (&tess, true)] {
                    for k in 0..rng.random_range(2..5) {
                        let Some(p) = pool.get(rng.random_range(0..pool.len().max(1))) else {
                            continue;
                        };
                        lab.clock
                            .set(day + Duration::hours(hour) + Duration::minutes(k * 12 + 3));
                        store.get_patient(who, *p)?;
                        if results {
                            store.results_for_patient(who, *p)?;
                        }
                    }
                }
            }
        }
        day += Duration::days(1);
    }

    // The snooping, three and two days ago: Tess opens her namesake's record and then her
    // co-worker Theo's results late in the evening, and the next morning skims thirty
    // records she has no work for in under an hour.
    let evening = (now - Duration::days(3))
        .with_hour(21)
        .and_then(|t| t.with_minute(40))
        .unwrap_or(now - Duration::days(3));
    lab.clock.set(evening);
    store.get_patient(&tess, namesake.id)?;
    lab.clock.set(evening + Duration::minutes(6));
    store.results_for_patient(&tess, theo_record)?;
    let morning = (now - Duration::days(2))
        .with_hour(10)
        .and_then(|t| t.with_minute(5))
        .unwrap_or(now - Duration::days(2));
    for (i, p) in undrawn.iter().enumerate() {
        lab.clock
            .set(morning + Duration::seconds(90 * i64::try_from(i).unwrap_or(0)));
        store.get_patient(&tess, *p)?;
    }

    lab.clock.real();
    let scan = store.privacy_scan(&officer, Utc::now())?;
    Ok((scan.alerts, scan.cases_touched.len()))
}
