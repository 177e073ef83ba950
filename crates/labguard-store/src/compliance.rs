//! HIPAA compliance records: operation runs (the raw material of evidence), evidence records,
//! score history, policy documents, BAAs, attestations, the risk register with its history,
//! and the incident register. None of it is patient data; every write is audited.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_compliance::attest::{Attestation, Baa, PolicyDocument};
use labguard_compliance::incident::Incident;
use labguard_compliance::report::{SafeguardScore, TrendPoint};
use labguard_compliance::risk::{Risk, RiskSnapshot};
use labguard_compliance::Evidence;
use labguard_core::{Permission, Role};
use serde::de::DeserializeOwned;

use crate::action::Action;
use crate::actor::{Actor, ActorKind};
use crate::backend::{Tx, Value};
pub(crate) use crate::codec::from_json;
use crate::codec::{parse_time, to_json};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// Kinds of recorded runs, with the codes stored in `compliance_runs.kind` (and as the
/// reason of their `run.record` audit entry): stable, never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    AuditVerify,
    BackupCreate,
    BackupVerify,
    /// A restore into a scratch location (drill) or in earnest; both prove recovery.
    BackupRestore,
    AccessReview,
    ServerStart,
    /// A compliance report was exported (who exported which report is on the record).
    ComplianceReport,
}

impl RunKind {
    pub const fn code(self) -> &'static str {
        match self {
            RunKind::AuditVerify => "audit.verify",
            RunKind::BackupCreate => "backup.create",
            RunKind::BackupVerify => "backup.verify",
            RunKind::BackupRestore => "backup.restore",
            RunKind::AccessReview => "access.review",
            RunKind::ServerStart => "server.start",
            RunKind::ComplianceReport => "compliance.report",
        }
    }
}

/// The run kinds under their older constant names, so callers keep reading the same.
pub mod run_kind {
    use super::RunKind;
    pub const AUDIT_VERIFY: RunKind = RunKind::AuditVerify;
    pub const BACKUP_CREATE: RunKind = RunKind::BackupCreate;
    pub const BACKUP_VERIFY: RunKind = RunKind::BackupVerify;
    pub const BACKUP_RESTORE: RunKind = RunKind::BackupRestore;
    pub const ACCESS_REVIEW: RunKind = RunKind::AccessReview;
    pub const SERVER_START: RunKind = RunKind::ServerStart;
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub duration_ms: Option<i64>,
    /// JSON; never PHI (counts, sizes, settings).
    pub detail: serde_json::Value,
    pub actor: String,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Store {
    fn compliance_write<T>(
        &self,
        actor: &Actor,
        action: Action,
        resource: &str,
        id: &str,
        reason: Option<String>,
        f: impl Fn(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.authorize(actor, Permission::ComplianceManage, action, resource, id)?;
        self.write(|tx, pending| {
            let out = f(tx)?;
            let mut e = self.entry(actor, action, resource, id, None, Outcome::Success)?;
            e.reason = reason.clone();
            pending.push(e);
            Ok(out)
        })
    }

    /// Records that an operation ran (verify, backup, restore drill, access review, server
    /// start). Any actor that ran the operation may record it; the record is audited.
    pub fn record_run(
        &self,
        actor: &Actor,
        kind: RunKind,
        ok: bool,
        duration_ms: Option<i64>,
        detail: &serde_json::Value,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let at = rfc3339(self.now());
        let detail_s = to_json(detail)?;
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO compliance_runs (id, kind, at, ok, duration_ms, detail, actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    kind.code().into(),
                    at.clone().into(),
                    Value::Int(i64::from(ok)),
                    duration_ms.into(),
                    detail_s.clone().into(),
                    actor.id.clone().into(),
                ],
            )?;
            let mut e = self.entry(actor, Action::RunRecord, "compliance_run", &id, None, if ok { Outcome::Success } else { Outcome::Error })?;
            e.reason = Some(kind.code().to_string());
            pending.push(e);
            Ok(())
        })?;
        Ok(id)
    }

    /// The newest run of `kind` (successful only, if `ok_only`).
    pub fn last_run(&self, kind: RunKind, ok_only: bool) -> Result<Option<RunRecord>, StoreError> {
        let mut tx = self.backend.begin()?;
        last_run_in(tx.as_mut(), kind, ok_only)
    }

    /// Saves evidence records; each gets its own audit entry carrying the record's SHA-256.
    pub fn save_evidence(&self, actor: &Actor, records: &[Evidence]) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::ComplianceManage,
            Action::EvidenceCollect,
            "compliance_evidence",
            "",
        )?;
        self.write(|tx, pending| {
            for ev in records {
                let id = new_id();
                tx.execute(
                    "INSERT INTO compliance_evidence (id, collector, status, collected_at, sha256, record) VALUES (?, ?, ?, ?, ?, ?)",
                    &[
                        id.clone().into(),
                        ev.collector.clone().into(),
                        ev.status.code().into(),
                        rfc3339(ev.collected_at).into(),
                        ev.sha256.clone().into(),
                        to_json(ev)?.into(),
                    ],
                )?;
                let mut e = self.entry(actor, Action::EvidenceCollect, "compliance_evidence", &id, None, Outcome::Success)?;
                e.reason = Some(format!("{} {} sha256={}", ev.collector, ev.status.code(), ev.sha256));
                pending.push(e);
            }
            Ok(())
        })
    }

    /// The newest evidence record of every collector (hash re-checked on read).
    pub fn latest_evidence(&self, actor: &Actor) -> Result<Vec<Evidence>, StoreError> {
        self.authorize(
            actor,
            Permission::ReportsRead,
            Action::EvidenceRead,
            "compliance_evidence",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT e.record FROM compliance_evidence e WHERE e.collected_at = \
             (SELECT MAX(x.collected_at) FROM compliance_evidence x WHERE x.collector = e.collector) ORDER BY e.collector",
            &[],
        )?;
        let mut out: Vec<Evidence> = Vec::with_capacity(rows.len());
        for r in rows {
            let ev: Evidence = from_json(r.first().unwrap_or(&Value::Null), "evidence")?;
            if !ev.intact() {
                return Err(StoreError::Corrupt(format!(
                    "evidence {} no longer matches its hash",
                    ev.collector
                )));
            }
            if out.last().is_none_or(|l| l.collector != ev.collector) {
                out.push(ev);
            }
        }
        Ok(out)
    }

    /// Appends a point to the score history.
    pub fn record_score(
        &self,
        actor: &Actor,
        overall: f64,
        safeguards: &[SafeguardScore],
    ) -> Result<(), StoreError> {
        let id = new_id();
        let at = rfc3339(self.now());
        let sg = to_json(&safeguards)?;
        self.compliance_write(actor, Action::ScoreRecord, "compliance_score", &id, Some(format!("{overall:.1}")), |tx| {
            tx.execute(
                "INSERT INTO compliance_scores (id, at, overall_x10, safeguards) VALUES (?, ?, ?, ?)",
                &[id.clone().into(), at.clone().into(), Value::Int((overall * 10.0).round() as i64), sg.clone().into()],
            )?;
            Ok(())
        })
    }

    /// The overall score over time, oldest first, with the per-safeguard scores.
    pub fn score_history(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(TrendPoint, Vec<SafeguardScore>)>, StoreError> {
        self.authorize(
            actor,
            Permission::ReportsRead,
            Action::ScoreRead,
            "compliance_score",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let mut out = vec![];
        for r in tx.query(
            "SELECT at, overall_x10, safeguards FROM compliance_scores ORDER BY at",
            &[],
        )? {
            let [at, x10, sg] = r.as_slice() else {
                return Err(StoreError::Corrupt("score row shape".into()));
            };
            out.push((
                TrendPoint {
                    at: parse_time(at)?,
                    score: x10.as_int()? as f64 / 10.0,
                },
                from_json(sg, "score")?,
            ));
        }
        Ok(out)
    }

    /// Adds a version of a policy; the previous version of the same subject and title is
    /// marked superseded on the new one's effective date.
    pub fn add_policy_version(
        &self,
        actor: &Actor,
        doc: &PolicyDocument,
    ) -> Result<(), StoreError> {
        let rec = to_json(doc)?;
        let subject = doc.subject.code();
        self.compliance_write(actor, Action::PolicyAdd, "policy_document", &doc.id, Some(format!("{subject} v{}", doc.version)), |tx| {
            let prev = tx.query(
                "SELECT id, record FROM policy_documents WHERE subject = ? AND title = ? AND superseded_on IS NULL",
                &[subject.into(), doc.title.clone().into()],
            )?;
            for r in prev {
                let [id, rec] = r.as_slice() else {
                    return Err(StoreError::Corrupt("policy row shape".into()));
                };
                let mut old: PolicyDocument = from_json(rec, "policy")?;
                old.superseded_on = Some(doc.effective_from);
                tx.execute(
                    "UPDATE policy_documents SET superseded_on = ?, record = ? WHERE id = ?",
                    &[doc.effective_from.to_string().into(), to_json(&old)?.into(), id.clone()],
                )?;
            }
            tx.execute(
                "INSERT INTO policy_documents (id, subject, title, version, superseded_on, record) VALUES (?, ?, ?, ?, NULL, ?)",
                &[doc.id.clone().into(), subject.into(), doc.title.clone().into(), Value::Int(i64::from(doc.version)), rec.clone().into()],
            )
            .map_err(|e| match e {
                StoreError::Conflict => StoreError::Corrupt("that policy version already exists".into()),
                e => e,
            })?;
            Ok(())
        })
    }

    pub fn list_policies(&self, actor: &Actor) -> Result<Vec<PolicyDocument>, StoreError> {
        self.read_records(
            actor,
            "SELECT record FROM policy_documents ORDER BY subject, title, version",
            "policy",
        )
    }

    pub fn add_baa(&self, actor: &Actor, baa: &Baa) -> Result<(), StoreError> {
        let rec = to_json(baa)?;
        self.compliance_write(actor, Action::BaaAdd, "baa", &baa.id, None, |tx| {
            tx.execute(
                "INSERT INTO baas (id, vendor, record) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, record = excluded.record",
                &[baa.id.clone().into(), baa.vendor.clone().into(), rec.clone().into()],
            )?;
            Ok(())
        })
    }

    pub fn list_baas(&self, actor: &Actor) -> Result<Vec<Baa>, StoreError> {
        self.read_records(actor, "SELECT record FROM baas ORDER BY vendor", "baa")
    }

    /// Stores an attestation. Only a signed-in security officer may sign: the caller must
    /// have re-authenticated them (password, and TOTP if enrolled) just before.
    pub fn attest(&self, actor: &Actor, a: &Attestation) -> Result<(), StoreError> {
        if actor.kind != ActorKind::Staff(Role::SecurityOfficer) || a.signed_by != actor.id {
            let e = self.entry(
                actor,
                Action::AttestationSign,
                "attestation",
                &a.id,
                None,
                Outcome::Denied,
            )?;
            self.append_entries(&[e])?;
            return Err(StoreError::Denied(
                "only the security officer signs attestations, as themself".into(),
            ));
        }
        let rec = to_json(a)?;
        self.compliance_write(actor, Action::AttestationSign, "attestation", &a.id, Some(a.subject.code().into()), |tx| {
            tx.execute(
                "INSERT INTO attestations (id, subject, signed_by, signed_at, record) VALUES (?, ?, ?, ?, ?)",
                &[a.id.clone().into(), a.subject.code().into(), a.signed_by.clone().into(), rfc3339(a.signed_at).into(), rec.clone().into()],
            )?;
            Ok(())
        })
    }

    pub fn list_attestations(&self, actor: &Actor) -> Result<Vec<Attestation>, StoreError> {
        self.read_records(
            actor,
            "SELECT record FROM attestations ORDER BY signed_at",
            "attestation",
        )
    }

    /// Adds or updates a risk and appends a history snapshot, in one transaction.
    pub fn upsert_risk(&self, actor: &Actor, r: &Risk) -> Result<(), StoreError> {
        r.validate()?;
        let rec = to_json(r)?;
        let now = self.now();
        let snap = RiskSnapshot::of(r, now);
        let at = rfc3339(now);
        let hid = new_id();
        self.compliance_write(actor, Action::RiskUpdate, "risk", &r.id, Some(format!("residual {}", r.residual_score())), |tx| {
            tx.execute(
                "INSERT INTO risks (id, threat, treatment, updated_at, record) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET threat = excluded.threat, treatment = excluded.treatment, updated_at = excluded.updated_at, record = excluded.record",
                &[r.id.clone().into(), r.threat.code().into(), r.treatment.code().into(), at.clone().into(), rec.clone().into()],
            )?;
            tx.execute(
                "INSERT INTO risk_history (id, risk_id, at, inherent, residual, treatment) VALUES (?, ?, ?, ?, ?, ?)",
                &[hid.clone().into(), r.id.clone().into(), at.clone().into(), Value::Int(snap.inherent.into()), Value::Int(snap.residual.into()), snap.treatment.code().into()],
            )?;
            Ok(())
        })
    }

    pub fn list_risks(&self, actor: &Actor) -> Result<Vec<Risk>, StoreError> {
        self.read_records(actor, "SELECT record FROM risks ORDER BY id", "risk")
    }

    pub fn risk_history(
        &self,
        actor: &Actor,
        risk_id: &str,
    ) -> Result<Vec<RiskSnapshot>, StoreError> {
        self.authorize(
            actor,
            Permission::ReportsRead,
            Action::RiskRead,
            "risk",
            risk_id,
        )?;
        let mut tx = self.backend.begin()?;
        let mut out = vec![];
        for r in tx.query("SELECT at, inherent, residual, treatment FROM risk_history WHERE risk_id = ? ORDER BY at", &[risk_id.into()])? {
            let [at, i, res, t] = r.as_slice() else {
                return Err(StoreError::Corrupt("risk history row shape".into()));
            };
            out.push(RiskSnapshot {
                risk_id: risk_id.into(),
                at: parse_time(at)?,
                inherent: u8::try_from(i.as_int()?).map_err(|_| StoreError::Corrupt("risk score".into()))?,
                residual: u8::try_from(res.as_int()?).map_err(|_| StoreError::Corrupt("risk score".into()))?,
                treatment: labguard_compliance::risk::Treatment::from_code(t.as_text()?)
                    .ok_or_else(|| StoreError::Corrupt("risk treatment".into()))?,
            });
        }
        Ok(out)
    }

    /// Adds or updates an incident (status, assessment, notices given).
    pub fn save_incident(&self, actor: &Actor, i: &Incident) -> Result<(), StoreError> {
        let rec = to_json(i)?;
        let at = rfc3339(self.now());
        self.compliance_write(actor, Action::IncidentSave, "incident", &i.id, Some(i.status.code().into()), |tx| {
            tx.execute(
                "INSERT INTO incidents (id, discovered_on, status, updated_at, record) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET discovered_on = excluded.discovered_on, status = excluded.status, updated_at = excluded.updated_at, record = excluded.record",
                &[i.id.clone().into(), i.discovered_on.to_string().into(), i.status.code().into(), at.clone().into(), rec.clone().into()],
            )?;
            Ok(())
        })
    }

    pub fn list_incidents(&self, actor: &Actor) -> Result<Vec<Incident>, StoreError> {
        self.read_records(
            actor,
            "SELECT record FROM incidents ORDER BY discovered_on, id",
            "incident",
        )
    }

    /// Records when a person's employment ended (for the leaver check).
    pub fn record_departure(
        &self,
        actor: &Actor,
        username: &str,
        left_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::AccountsManage,
            Action::AccountDeparture,
            "account",
            "",
        )?;
        let acc = self
            .account_by_username(username)?
            .ok_or_else(|| StoreError::NotFound("account".into()))?;
        let id = acc.staff.id.to_string();
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO staff_departures (user_id, left_at, recorded_at) VALUES (?, ?, ?)",
                &[
                    id.clone().into(),
                    rfc3339(left_at).into(),
                    now.clone().into(),
                ],
            )?;
            pending.push(self.entry(
                actor,
                Action::AccountDeparture,
                "account",
                &id,
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }

    /// Runs every collector: the store's own facts, training and device facts from `ext`,
    /// attestations, policies and the risk register. Saves each record (audited, with its
    /// hash) and the score, and returns the report as of now.
    pub fn collect_compliance(
        &self,
        actor: &Actor,
        ext: &dyn labguard_compliance::collect::ExternalFacts,
    ) -> Result<labguard_compliance::report::Report, StoreError> {
        let now = self.now();
        let facts = self.compliance_facts(actor)?;
        let mut ev = labguard_compliance::collect::collect_all(&facts, ext, now);
        ev.extend(labguard_compliance::attest::attestation_evidence(
            &self.list_attestations(actor)?,
            &self.list_baas(actor)?,
            now,
        ));
        ev.extend(labguard_compliance::attest::policy_evidence(
            &self.list_policies(actor)?,
            now,
        ));
        ev.push(labguard_compliance::risk::register_evidence(
            &self.list_risks(actor)?,
            now,
        ));
        self.save_evidence(actor, &ev)?;
        let r = self.compliance_report(actor, None)?;
        self.record_score(actor, r.overall, &r.safeguards)?;
        self.compliance_report(actor, None)
    }

    /// The audit report from the latest evidence, the score history, the risk register and
    /// the incident register, as of the store's clock.
    pub fn compliance_report(
        &self,
        actor: &Actor,
        lab: Option<String>,
    ) -> Result<labguard_compliance::report::Report, StoreError> {
        let lab = match lab {
            Some(l) => l,
            None => format!("labguard lab {}", self.meta("lab_id")?.unwrap_or_default()),
        };
        let trend: Vec<TrendPoint> = self
            .score_history(actor)?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        Ok(labguard_compliance::report::build(
            &lab,
            self.latest_evidence(actor)?,
            trend,
            self.list_risks(actor)?,
            &self.list_incidents(actor)?,
            self.now(),
        )
        .with_documents(
            self.list_attestations(actor)?,
            self.list_policies(actor)?,
            self.list_baas(actor)?,
        ))
    }

    /// Reads JSON records for people with `reports-read` (security officer, auditor).
    fn read_records<T: DeserializeOwned>(
        &self,
        actor: &Actor,
        sql: &str,
        what: &str,
    ) -> Result<Vec<T>, StoreError> {
        let action = match what {
            "policy" => Action::PolicyRead,
            "baa" => Action::BaaRead,
            "attestation" => Action::AttestationRead,
            "risk" => Action::RiskRead,
            _ => Action::IncidentRead,
        };
        self.authorize(actor, Permission::ReportsRead, action, what, "")?;
        let mut tx = self.backend.begin()?;
        tx.query(sql, &[])?
            .iter()
            .map(|r| from_json(r.first().unwrap_or(&Value::Null), what))
            .collect()
    }
}

/// The newest run of `kind` (successful only, if `ok_only`) inside `tx`.
pub(crate) fn last_run_in(
    tx: &mut dyn Tx,
    kind: RunKind,
    ok_only: bool,
) -> Result<Option<RunRecord>, StoreError> {
    let sql = if ok_only {
        "SELECT id, kind, at, ok, duration_ms, detail, actor FROM compliance_runs WHERE kind = ? AND ok = 1 ORDER BY at DESC LIMIT 1"
    } else {
        "SELECT id, kind, at, ok, duration_ms, detail, actor FROM compliance_runs WHERE kind = ? ORDER BY at DESC LIMIT 1"
    };
    let rows = tx.query(sql, &[kind.code().into()])?;
    rows.first().map(|r| decode_run(r)).transpose()
}

pub(crate) fn decode_run(r: &[Value]) -> Result<RunRecord, StoreError> {
    let [id, kind, at, ok, dur, detail, actor] = r else {
        return Err(StoreError::Corrupt("run row shape".into()));
    };
    Ok(RunRecord {
        id: id.as_text()?.into(),
        kind: kind.as_text()?.into(),
        at: parse_time(at)?,
        ok: ok.as_int()? != 0,
        duration_ms: match dur {
            Value::Null => None,
            v => Some(v.as_int()?),
        },
        detail: from_json(detail, "run")?,
        actor: actor.as_text()?.into(),
    })
}
