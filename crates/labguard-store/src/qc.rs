//! Quality control: the lab's control materials (target mean and SD per lot, level and
//! analyte), the control measurements instruments report, and the Westgard verdict on each
//! run, kept with the points so a chart shows what the rules said when the run was filed.
//!
//! A device whose latest QC run of an analyte was rejected has its patient results of that
//! analyte held (`qc-rejected`) until a run passes, and those it filed since its last
//! accepted run recalled for review (qc_recall.rs): results measured on an instrument that
//! is out of control (or tampered with) must not reach a patient's record unreviewed.
//! QC data is not patient data: stored in the clear, every change audited.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, LoincCode, Permission};
use labguard_qc::{ControlMaterial, ControlSeries, QcPoint, WestgardConfig};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Row, Tx, Value};
use crate::codec::{parse_id, parse_time};
use crate::store::{rfc3339, Pending, Store};
use crate::StoreError;

/// Reason code: the device's latest QC run of the analyte was rejected.
pub const QC_REJECTED: &str = "qc-rejected";

/// Points of one material read back to evaluate a new run (10-x needs the last 10).
const HISTORY: i64 = 30;

/// One control measurement as an instrument reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct QcReading {
    pub lot: String,
    pub level: String,
    pub analyte: LoincCode,
    pub units: String,
    pub value: f64,
    pub observed_at: DateTime<Utc>,
}

/// A stored control measurement with the rules' verdict at filing time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QcRecord {
    pub id: Id,
    pub device_id: Id,
    pub lot: String,
    pub level: String,
    pub analyte: String,
    pub units: String,
    pub value: f64,
    pub run: u64,
    pub observed_at: DateTime<Utc>,
    /// Westgard rule codes this point's run violated (`1-2s` is a warning).
    pub violations: Vec<String>,
    pub rejects: bool,
}

/// What filing a delivery's QC readings concluded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QcOutcome {
    pub filed: u64,
    /// Analytes whose run was rejected.
    pub rejected: Vec<String>,
    /// Readings with no target on file (stored, not evaluated).
    pub unconfigured: u64,
    /// Patient results filed before a rejected run and recalled by it (qc_recall.rs).
    pub recalled: u64,
}

/// Who may read QC records and charts: result readers and verifiers, and whoever keeps
/// the device fleet.
const QC_READERS: &[Permission] = &[
    Permission::ResultRead,
    Permission::ResultVerify,
    Permission::DevicesRead,
];

impl Store {
    /// Records (or replaces) the target of a control material. Audited.
    pub fn set_qc_material(&self, actor: &Actor, m: &ControlMaterial) -> Result<(), StoreError> {
        let key = format!("{}/{}/{}", m.analyte.as_str(), m.lot, m.level);
        self.authorize(
            actor,
            Permission::ResultVerify,
            Action::QcMaterialSet,
            "qc-material",
            &key,
        )?;
        if !(m.sd.is_finite() && m.sd > 0.0 && m.mean.is_finite()) {
            return Err(labguard_core::DomainError::Invalid {
                field: "control material",
                why: "needs a finite mean and a positive SD",
            }
            .into());
        }
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "DELETE FROM qc_materials WHERE lot = ? AND level = ? AND analyte = ?",
                &[m.lot.clone().into(), m.level.clone().into(), m.analyte.as_str().into()],
            )?;
            tx.execute(
                "INSERT INTO qc_materials (lot, level, analyte, units, mean, sd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                &[
                    m.lot.clone().into(),
                    m.level.clone().into(),
                    m.analyte.as_str().into(),
                    m.units.clone().into(),
                    m.mean.to_string().into(),
                    m.sd.to_string().into(),
                    now.clone().into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::QcMaterialSet, "qc-material", &key, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// A device's control measurements of `analyte`, oldest first. Audited.
    pub fn qc_records(
        &self,
        actor: &Actor,
        device: Id,
        analyte: &LoincCode,
    ) -> Result<Vec<QcRecord>, StoreError> {
        self.require_any(actor, QC_READERS, Action::QcRead, "qc")?;
        self.write(|tx, pending| {
            let rows = tx.query(
                "SELECT id, device_id, lot, level, analyte, units, value, run, observed_at, violations, rejects FROM qc_observations WHERE device_id = ? AND analyte = ? ORDER BY observed_at, level, lot, id",
                &[device.to_string().into(), analyte.as_str().into()],
            )?;
            pending.push(self.entry(actor, Action::QcRead, "qc", &device.to_string(), None, Outcome::Success)?);
            rows.into_iter().map(qc_record).collect()
        })
    }

    /// The analytes `device` has reported control measurements of (not audited: codes of
    /// tests a device runs, no patient or QC values).
    pub fn qc_analytes(&self, actor: &Actor, device: Id) -> Result<Vec<String>, StoreError> {
        self.require_any(actor, QC_READERS, Action::QcRead, "qc")?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT DISTINCT analyte FROM qc_observations WHERE device_id = ? ORDER BY analyte",
            &[device.to_string().into()],
        )?;
        rows.iter()
            .map(|r| Ok(crate::codec::text(r, 0)?.unwrap_or_default()))
            .collect()
    }

    /// The targets of every material of `analyte`.
    pub fn qc_materials(
        &self,
        actor: &Actor,
        analyte: &LoincCode,
    ) -> Result<Vec<ControlMaterial>, StoreError> {
        self.require_any(actor, QC_READERS, Action::QcRead, "qc-material")?;
        let mut tx = self.backend.begin()?;
        materials(tx.as_mut(), analyte)
    }

    /// Files a delivery's QC readings as one run per analyte and judges each run by the
    /// Westgard rules against the material's history on this device (inside the filing
    /// transaction, so patient results of the same delivery see the verdict).
    pub(crate) fn file_qc(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        actor: &Actor,
        device: Id,
        readings: &[QcReading],
    ) -> Result<QcOutcome, StoreError> {
        let mut out = QcOutcome::default();
        let mut analytes: Vec<&LoincCode> = readings.iter().map(|r| &r.analyte).collect();
        analytes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        analytes.dedup();
        let now = rfc3339(self.now());
        for analyte in analytes {
            let run = next_run(tx, device, analyte)?;
            let mats = materials(tx, analyte)?;
            let mut series = Vec::new();
            for m in &mats {
                let mut points = history(tx, device, m)?;
                for r in readings
                    .iter()
                    .filter(|r| &r.analyte == analyte && r.lot == m.lot && r.level == m.level)
                {
                    points.push(QcPoint {
                        run,
                        at: r.observed_at,
                        value: r.value,
                    });
                }
                series.push(ControlSeries {
                    material: m.clone(),
                    points,
                });
            }
            // Targets are checked when set, so an error here means stored data is off.
            let violations = labguard_qc::evaluate_run(&series, &WestgardConfig::default(), run)
                .map_err(|e| StoreError::Corrupt(format!("QC evaluation: {e}")))?;
            let rejects = labguard_qc::run_rejected(&violations, run);
            let mut codes: Vec<String> = violations.iter().map(|v| v.code.to_string()).collect();
            codes.sort();
            codes.dedup();
            for r in readings.iter().filter(|r| &r.analyte == analyte) {
                let configured = mats.iter().any(|m| m.lot == r.lot && m.level == r.level);
                if !configured {
                    out.unconfigured += 1;
                }
                let id = Id::new_v4();
                tx.execute(
                    "INSERT INTO qc_observations (id, device_id, lot, level, analyte, units, value, run, observed_at, violations, rejects, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &[
                        id.to_string().into(),
                        device.to_string().into(),
                        r.lot.clone().into(),
                        r.level.clone().into(),
                        analyte.as_str().into(),
                        r.units.clone().into(),
                        r.value.to_string().into(),
                        Value::Int(i64::try_from(run).unwrap_or(i64::MAX)),
                        rfc3339(r.observed_at).into(),
                        if configured { codes.join(",") } else { "no-target".into() }.into(),
                        Value::Int(i64::from(rejects && configured)),
                        now.clone().into(),
                    ],
                )?;
                out.filed += 1;
            }
            pending.push(self.entry(
                actor,
                Action::QcFile,
                "qc-run",
                &format!("{device}/{}/{run}", analyte.as_str()),
                None,
                Outcome::Success,
            )?);
            if rejects {
                out.rejected.push(analyte.as_str().to_string());
                let alert = Id::new_v4().to_string();
                let recalled =
                    self.recall_since_last_good(tx, pending, actor, device, analyte, run, &alert)?;
                out.recalled += recalled.results;
                let detail = format!(
                    "{}: {}; {}{} result(s) filed since the last accepted run recalled for review",
                    analyte.as_str(),
                    codes.join(","),
                    if recalled.truncated { "at least " } else { "" },
                    recalled.results
                );
                tx.execute(
                    "INSERT INTO instrument_alerts (id, kind, device_id, message_id, held_result_id, detail, created_at) VALUES (?, 'qc-rejected', ?, NULL, NULL, ?, ?)",
                    &[alert.clone().into(), device.to_string().into(), detail.into(), now.clone().into()],
                )?;
                pending.push(self.entry(
                    actor,
                    Action::AlertCreate,
                    "alert",
                    &alert,
                    None,
                    Outcome::Success,
                )?);
            }
        }
        Ok(out)
    }

    /// The analytes whose latest QC run on `device` was rejected (the device's patient
    /// results of those analytes are then held). One query per delivery, not per result.
    pub(crate) fn qc_locked_analytes(
        &self,
        tx: &mut dyn Tx,
        device: Id,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows = tx.query(
            "SELECT DISTINCT o.analyte FROM qc_observations o WHERE o.device_id = ? AND o.rejects > 0 AND o.run = (SELECT MAX(l.run) FROM qc_observations l WHERE l.device_id = o.device_id AND l.analyte = o.analyte)",
            &[device.to_string().into()],
        )?;
        rows.iter()
            .map(|r| Ok(crate::codec::text(r, 0)?.unwrap_or_default()))
            .collect()
    }
}

fn next_run(tx: &mut dyn Tx, device: Id, analyte: &LoincCode) -> Result<u64, StoreError> {
    let r = query_one(
        tx,
        "SELECT MAX(run) FROM qc_observations WHERE device_id = ? AND analyte = ?",
        &[device.to_string().into(), analyte.as_str().into()],
    )?;
    Ok(match r.as_deref() {
        Some([Value::Int(n)]) => u64::try_from(*n).unwrap_or(0) + 1,
        _ => 1,
    })
}

fn materials(tx: &mut dyn Tx, analyte: &LoincCode) -> Result<Vec<ControlMaterial>, StoreError> {
    tx.query(
        "SELECT lot, level, units, mean, sd FROM qc_materials WHERE analyte = ? ORDER BY level, lot",
        &[analyte.as_str().into()],
    )?
    .into_iter()
    .map(|r| {
        let [lot, level, units, mean, sd] = r.as_slice() else {
            return Err(StoreError::Corrupt("qc material row shape".into()));
        };
        Ok(ControlMaterial {
            lot: lot.as_text()?.into(),
            level: level.as_text()?.into(),
            analyte: analyte.clone(),
            units: units.as_text()?.into(),
            mean: number(mean)?,
            sd: number(sd)?,
        })
    })
    .collect()
}

fn history(tx: &mut dyn Tx, device: Id, m: &ControlMaterial) -> Result<Vec<QcPoint>, StoreError> {
    let rows = tx.query(
        &format!("SELECT run, observed_at, value FROM qc_observations WHERE device_id = ? AND analyte = ? AND lot = ? AND level = ? ORDER BY run DESC LIMIT {HISTORY}"),
        &[device.to_string().into(), m.analyte.as_str().into(), m.lot.clone().into(), m.level.clone().into()],
    )?;
    let mut points = rows
        .into_iter()
        .map(|r| {
            let [run, at, value] = r.as_slice() else {
                return Err(StoreError::Corrupt("qc point row shape".into()));
            };
            Ok(QcPoint {
                run: u64::try_from(run.as_int()?).unwrap_or(0),
                at: parse_time(at)?,
                value: number(value)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    points.reverse();
    Ok(points)
}

fn number(v: &Value) -> Result<f64, StoreError> {
    v.as_text()?
        .parse()
        .map_err(|_| StoreError::Corrupt("qc number".into()))
}

fn qc_record(r: Row) -> Result<QcRecord, StoreError> {
    let [id, device, lot, level, analyte, units, value, run, at, violations, rejects] =
        r.as_slice()
    else {
        return Err(StoreError::Corrupt("qc observation row shape".into()));
    };
    Ok(QcRecord {
        id: parse_id(id)?,
        device_id: parse_id(device)?,
        lot: lot.as_text()?.into(),
        level: level.as_text()?.into(),
        analyte: analyte.as_text()?.into(),
        units: units.as_text()?.into(),
        value: number(value)?,
        run: u64::try_from(run.as_int()?).unwrap_or(0),
        observed_at: parse_time(at)?,
        violations: violations
            .as_text()?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        rejects: rejects.as_int()? > 0,
    })
}

/// Stored points grouped by material, as the rules and the Levey-Jennings chart take them.
pub fn chart_series(materials: &[ControlMaterial], records: &[QcRecord]) -> Vec<ControlSeries> {
    materials
        .iter()
        .map(|m| ControlSeries {
            material: m.clone(),
            points: records
                .iter()
                .filter(|r| r.lot == m.lot && r.level == m.level)
                .map(|r| QcPoint {
                    run: r.run,
                    at: r.observed_at,
                    value: r.value,
                })
                .collect(),
        })
        .collect()
}
