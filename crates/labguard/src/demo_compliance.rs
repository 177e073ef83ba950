//! The demo lab's compliance program, part-way done: a risk register being worked, policies
//! (one superseded, one overdue for review), BAAs (one lapsed), an unassessed incident, a
//! verified audit log, and no backup or access review yet, so the dashboard has real
//! findings to act on. Every name is fictional.

use anyhow::Result;
use chrono::{Duration, Utc};
use labguard_compliance::attest::{Baa, PolicyDocument, Subject};
use labguard_compliance::evidence::sha256_hex;
use labguard_compliance::incident::{Incident, IncidentStatus};
use labguard_compliance::risk::{Risk, Threat, Treatment};
use labguard_store::{run_kind, Actor, Store};

pub fn seed(store: &Store) -> Result<()> {
    let op = Actor::operator();
    let today = Utc::now().date_naive();
    let owner = "demo-security-officer";
    for t in Threat::ALL {
        let mut r = Risk::starter(t, owner, Some(today + Duration::days(90)));
        match t {
            Threat::Ransomware => {
                r.residual_likelihood = 2;
                r.treatment = Treatment::Mitigating;
            }
            Threat::TamperedResults => {
                r.residual_likelihood = 1;
                r.treatment = Treatment::Accepted;
            }
            // Past due: something to act on.
            Threat::UnpatchedAnalyzer => r.due = Some(today - Duration::days(14)),
            _ => {}
        }
        store.upsert_risk(&op, &r)?;
    }
    let policy = |id: &str, subject, title: &str, version, from, review| PolicyDocument {
        id: id.into(),
        subject,
        title: title.into(),
        version,
        owner: owner.into(),
        sha256: sha256_hex(format!("{title} v{version} (fictional demo text)").as_bytes()),
        effective_from: from,
        superseded_on: None,
        review_due: review,
    };
    let y = Duration::days(365);
    store.add_policy_version(
        &op,
        &policy(
            "demo-pol-1",
            Subject::SecurityPolicies,
            "Information security policy",
            1,
            today - y - y,
            today - y,
        ),
    )?;
    store.add_policy_version(
        &op,
        &policy(
            "demo-pol-2",
            Subject::SecurityPolicies,
            "Information security policy",
            2,
            today - Duration::days(200),
            today + Duration::days(165),
        ),
    )?;
    store.add_policy_version(
        &op,
        &policy(
            "demo-pol-3",
            Subject::SanctionPolicy,
            "Sanction policy",
            1,
            today - y - y,
            today - Duration::days(30),
        ),
    )?;
    store.add_baa(
        &op,
        &Baa {
            id: "demo-baa-1".into(),
            vendor: "Speedy Specimen Couriers (fictional)".into(),
            services: "specimen transport".into(),
            signed_on: today - y,
            expires_on: Some(today + y),
            terminated_on: None,
        },
    )?;
    store.add_baa(
        &op,
        &Baa {
            id: "demo-baa-2".into(),
            vendor: "Old LIS Hosting Ltd (fictional)".into(),
            services: "former LIS hosting".into(),
            signed_on: today - y - y - y,
            expires_on: Some(today - Duration::days(40)),
            terminated_on: None,
        },
    )?;
    store.save_incident(
        &op,
        &Incident {
            id: "inc-demo-1".into(),
            title: "USB stick with a worklist export misplaced (fictional)".into(),
            kind: "lost-media".into(),
            discovered_on: today - Duration::days(20),
            status: IncidentStatus::Open,
            affected: 37,
            by_state: [("NJ".to_string(), 37)].into_iter().collect(),
            assessment: None,
            notified: vec![],
        },
    )?;
    let verified = store.verify(&mut |_, _| {}).is_ok();
    store.record_run(
        &op,
        run_kind::AUDIT_VERIFY,
        verified,
        None,
        &serde_json::json!({"demo": true}),
    )?;
    let r = crate::compliance_cmd::collect(store, &op)?;
    println!(
        "compliance program part-way: score {:.1}% (see /compliance or `labguard compliance status`)",
        r.overall
    );
    Ok(())
}
