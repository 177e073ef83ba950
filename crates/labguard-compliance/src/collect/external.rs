//! Collectors over the facts other subsystems supply (training, phishing, devices). With
//! no facts connected they answer "needs a person", never "met".

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{DeviceFacts, TrainingFacts};
use crate::evidence::{Evidence, Status};

fn no_facts(
    collector: &str,
    title: &str,
    specs: &[&str],
    what: &str,
    now: DateTime<Utc>,
) -> Evidence {
    Evidence::new(
        collector,
        title,
        specs,
        Status::NeedsPerson,
        format!("no {what} data is connected: a person must provide the evidence"),
        json!({"connected": false}),
        now,
    )
}

pub fn training_completion(t: Option<&TrainingFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(5)(i)", "164.308(a)(5)(ii)(A)"];
    let (c, title) = (
        "training-completion",
        "Training completion and overdue by role",
    );
    let Some(t) = t else {
        return no_facts(c, title, &specs, "training", now);
    };
    let overdue: u32 = t.overdue_by_role.iter().map(|(_, n)| n).sum();
    let rate = if t.assigned == 0 {
        0.0
    } else {
        f64::from(t.completed) / f64::from(t.assigned)
    };
    let obs = json!({"as_of": t.as_of, "assigned": t.assigned, "completed": t.completed,
        "completion_rate": (rate * 1000.0).round() / 1000.0, "overdue_by_role": t.overdue_by_role,
        "last_reminder": t.last_reminder});
    let (status, summary) = if t.assigned == 0 {
        (Status::NotMet, "no training is assigned".to_string())
    } else if overdue == 0 && rate >= 0.95 {
        (
            Status::Met,
            format!(
                "{:.0}% of assigned training completed, none overdue",
                rate * 100.0
            ),
        )
    } else if rate >= 0.8 {
        (
            Status::PartlyMet,
            format!("{:.0}% completed, {overdue} overdue", rate * 100.0),
        )
    } else {
        (
            Status::NotMet,
            format!("only {:.0}% completed, {overdue} overdue", rate * 100.0),
        )
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn phishing(t: Option<&TrainingFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(5)(ii)(A)", "164.308(a)(5)(ii)(B)"];
    let (c, title) = ("phishing-rates", "Phishing click and report rates");
    let Some(t) = t else {
        return no_facts(c, title, &specs, "phishing", now);
    };
    let pct = |n: u32| {
        if t.phishing_sent == 0 {
            0.0
        } else {
            100.0 * f64::from(n) / f64::from(t.phishing_sent)
        }
    };
    let (click, report) = (pct(t.phishing_clicked), pct(t.phishing_reported));
    let obs = json!({"sent": t.phishing_sent, "clicked": t.phishing_clicked, "reported": t.phishing_reported});
    let (status, summary) = if t.phishing_sent == 0 {
        (
            Status::NotMet,
            "no phishing simulation in the last 12 months".to_string(),
        )
    } else if click <= 5.0 && report >= 50.0 {
        (
            Status::Met,
            format!("click rate {click:.1}%, report rate {report:.1}%"),
        )
    } else if click <= 15.0 {
        (
            Status::PartlyMet,
            format!("click rate {click:.1}%, report rate {report:.1}%"),
        )
    } else {
        (Status::NotMet, format!("click rate {click:.1}% is high"))
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn device_inventory(d: Option<&DeviceFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.310(d)(2)(iii)",
        "164.308(a)(1)(ii)(A)",
        "proposed-asset-inventory",
    ];
    let (c, title) = ("device-inventory", "Device inventory complete and reviewed");
    let Some(d) = d else {
        return no_facts(c, title, &specs, "device inventory", now);
    };
    let reviewed = d
        .inventory_reviewed_at
        .is_some_and(|t| now - t <= Duration::days(365));
    let obs = json!({"devices": d.devices, "complete": d.devices_complete, "reviewed_at": d.inventory_reviewed_at});
    let (status, summary) = if d.devices == 0 {
        (Status::NotMet, "the device inventory is empty".to_string())
    } else if d.devices_complete == d.devices && reviewed {
        (
            Status::Met,
            format!(
                "{} devices, all complete, reviewed within 12 months",
                d.devices
            ),
        )
    } else if reviewed || d.devices_complete == d.devices {
        (
            Status::PartlyMet,
            format!(
                "{} of {} devices complete; reviewed within 12 months: {reviewed}",
                d.devices_complete, d.devices
            ),
        )
    } else {
        (
            Status::NotMet,
            "inventory incomplete and not reviewed within 12 months".into(),
        )
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn device_assessments(d: Option<&DeviceFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.308(a)(8)",
        "164.308(a)(1)(ii)(A)",
        "proposed-vuln-scan",
        "proposed-pen-test",
    ];
    let (c, title) = (
        "device-assessments",
        "Device assessments, scans and pen tests current",
    );
    let Some(d) = d else {
        return no_facts(c, title, &specs, "device assessment", now);
    };
    let scan = d
        .last_vulnerability_scan
        .is_some_and(|t| now - t <= Duration::days(183));
    let pen = d
        .last_penetration_test
        .is_some_and(|t| now - t <= Duration::days(365));
    let obs = json!({"devices": d.devices, "assessments_current": d.assessments_current,
        "last_vulnerability_scan": d.last_vulnerability_scan, "last_penetration_test": d.last_penetration_test});
    let all = d.devices > 0 && d.assessments_current == d.devices;
    let (status, summary) = match (all, scan, pen) {
        (true, true, true) => (
            Status::Met,
            "every device assessed; scan within 6 months; pen test within 12".to_string(),
        ),
        (false, false, false) => (
            Status::NotMet,
            "assessments, scans and pen tests are out of date".into(),
        ),
        _ => (
            Status::PartlyMet,
            format!(
                "{} of {} devices assessed; scan current: {scan}; pen test current: {pen}",
                d.assessments_current, d.devices
            ),
        ),
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn vulnerabilities(d: Option<&DeviceFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(1)(ii)(B)", "164.308(a)(5)(ii)(B)"];
    let (c, title) = (
        "kev-critical-overdue",
        "Open KEV or critical vulnerabilities past deadline",
    );
    let Some(d) = d else {
        return no_facts(c, title, &specs, "vulnerability", now);
    };
    let obs = json!({"past_deadline": d.kev_or_critical_past_deadline});
    let (status, summary) = if d.kev_or_critical_past_deadline == 0 {
        (
            Status::Met,
            "no KEV or critical vulnerability is past its deadline".to_string(),
        )
    } else {
        (
            Status::NotMet,
            format!(
                "{} KEV or critical vulnerabilities are past their deadline",
                d.kev_or_critical_past_deadline
            ),
        )
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn training(completed: u32, overdue: u32, clicked: u32, reported: u32) -> TrainingFacts {
        TrainingFacts {
            as_of: now(),
            assigned: 20,
            completed,
            overdue_by_role: vec![("phlebotomist".into(), overdue)],
            phishing_sent: 40,
            phishing_clicked: clicked,
            phishing_reported: reported,
            last_reminder: None,
        }
    }

    fn devices(complete: u32, reviewed_days: i64, kev: u32, scan_days: i64) -> DeviceFacts {
        DeviceFacts {
            as_of: now(),
            devices: 5,
            devices_complete: complete,
            inventory_reviewed_at: Some(now() - Duration::days(reviewed_days)),
            assessments_current: 5,
            kev_or_critical_past_deadline: kev,
            last_vulnerability_scan: Some(now() - Duration::days(scan_days)),
            last_penetration_test: Some(now() - Duration::days(100)),
        }
    }

    #[test]
    fn training_and_phishing_hold_and_fail() {
        assert_eq!(
            training_completion(Some(&training(20, 0, 1, 30)), now()).status,
            Status::Met
        );
        assert_eq!(
            training_completion(Some(&training(10, 10, 1, 30)), now()).status,
            Status::NotMet
        );
        assert_eq!(training_completion(None, now()).status, Status::NeedsPerson);
        assert_eq!(
            phishing(Some(&training(20, 0, 1, 30)), now()).status,
            Status::Met
        );
        assert_eq!(
            phishing(Some(&training(20, 0, 12, 2)), now()).status,
            Status::NotMet
        );
        assert_eq!(phishing(None, now()).status, Status::NeedsPerson);
    }

    #[test]
    fn devices_hold_and_fail() {
        let good = devices(5, 30, 0, 30);
        assert_eq!(device_inventory(Some(&good), now()).status, Status::Met);
        assert_eq!(device_assessments(Some(&good), now()).status, Status::Met);
        assert_eq!(vulnerabilities(Some(&good), now()).status, Status::Met);
        let bad = devices(3, 400, 2, 200);
        assert_eq!(device_inventory(Some(&bad), now()).status, Status::NotMet);
        assert_eq!(
            device_assessments(Some(&bad), now()).status,
            Status::PartlyMet
        );
        assert_eq!(vulnerabilities(Some(&bad), now()).status, Status::NotMet);
        assert_eq!(device_inventory(None, now()).status, Status::NeedsPerson);
    }
}
