//! R records: patient results into `LabResult`, QC results into [`QcObservation`], and
//! the code tables both use.

use chrono::{DateTime, Utc};
use labguard_core::{
    AbnormalFlag, ContainerType, LabResult, LoincCode, ReferenceRange, ResultStatus,
};

use crate::map::{AstmRecords, Ctx, IdFor, MappingOptions, Node, OrderIds};
use crate::problem::{Dropped, ProblemKind};
use crate::record::{Field, Record, Repeat};

/// One QC measurement: control material, not a patient, so nothing here is PHI.
///
/// QC is recognised by H-12 processing id `Q`, O-12 action code `Q`, or a specimen
/// (O-3/O-4) or patient (P-3..P-5) id starting with a
/// [`qc_prefix`](MappingOptions::qc_prefixes). The control id, lot and level are read
/// from the O-3 components `control^lot^level` (O-4 when O-3 is empty), the convention
/// most analyzers follow; when the QC mark is on the P record its id is the control.
#[derive(Debug, Clone, PartialEq)]
pub struct QcObservation {
    pub control: String,
    pub lot: Option<String>,
    pub level: Option<String>,
    /// The instrument's test code (R-3 manufacturer code, or its first component).
    pub test_code: String,
    pub analyte: Option<LoincCode>,
    pub analyte_name: String,
    pub value: String,
    pub units: String,
    pub reference_range: ReferenceRange,
    pub abnormal_flag: AbnormalFlag,
    pub status: ResultStatus,
    pub observed_at: Option<DateTime<Utc>>,
    pub instrument: Option<String>,
}

/// The test code of a universal test id field (O-5/R-3, first repeat) and its LOINC
/// code when it has one.
pub(crate) fn analyte(opts: &MappingOptions, f: Field<'_>) -> (String, Option<LoincCode>) {
    analyte_of(opts, &f.first())
}

/// `universal id^name^type^manufacturer code^…`: component 1 when it is LOINC, else the
/// manufacturer's code (component 4, or the first non-empty component for senders that
/// put it first) through the test map, or as LOINC itself.
pub(crate) fn analyte_of(opts: &MappingOptions, r: &Repeat<'_>) -> (String, Option<LoincCode>) {
    let universal = r.component(1).text();
    if let Ok(code) = LoincCode::parse(&universal) {
        return (universal.trim().to_string(), Some(code));
    }
    let local = match r.component(4).text().trim() {
        "" => r
            .components()
            .map(|c| c.text().trim().to_string())
            .find(|s| !s.is_empty())
            .unwrap_or_default(),
        s => s.to_string(),
    };
    let loinc = opts
        .test_codes
        .get(&local)
        .cloned()
        .or_else(|| LoincCode::parse(&local).ok());
    (local, loinc)
}

fn analyte_name(r: &Repeat<'_>, code: &str) -> String {
    [5, 2]
        .into_iter()
        .map(|n| r.component(n).text().trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| code.to_string())
}

/// the value; a single non-empty component is the value itself.
fn value(rec: &Record<'_>) -> String {
    let f = rec.field(4);
    let first = f.first();
    let mut filled = first.components().filter(|c| !c.is_empty());
    match (filled.next(), filled.next()) {
        (Some(c), None) => c.text().trim().to_string(),
        (None, _) => String::new(),
        _ => f.text().trim().to_string(),
    }
}

/// `70-99`, `70 to 99` (LIS2-A2's form), `<5`, `>60`.
fn reference_range(rec: &Record<'_>) -> ReferenceRange {
    let text = rec.field(6).text();
    let mut r = ReferenceRange::parse(&text.replace(" to ", "-"));
    r.text = text.trim().to_string();
    r
}

/// The parts both kinds of result share.
struct Common {
    code: String,
    loinc: Option<LoincCode>,
    name: String,
    value: String,
    status: Option<ResultStatus>,
    flag: AbnormalFlag,
    observed_at: Option<DateTime<Utc>>,
    instrument: Option<String>,
}

fn common(cx: &mut Ctx<'_, '_>, r: &Node<'_>, order: &Node<'_>, drop: Dropped) -> Common {
    let rec = &r.rec;
    let test = rec.field(3).first();
    let (code, loinc) = analyte_of(cx.opts, &test);
    let status = match result_status(&rec.field(9).component(1).text()) {
        Ok(s) => Some(s),
        Err(ProblemKind::MissingValue) => {
            // Many analyzers leave R-9 empty; a result of unknown status is not final.
            cx.problem(r.loc.field(9), ProblemKind::MissingValue, None);
            Some(ResultStatus::Preliminary)
        }
        Err(kind) => {
            cx.problem(r.loc.field(9), kind, Some(drop));
            None
        }
    };
    let value = value(rec);
    if value.is_empty() && status.is_some() {
        cx.problem(r.loc.field(4), ProblemKind::MissingValue, Some(drop));
    }
    let flag = match abnormal_flag(rec.field(7)) {
        Ok(f) => f,
        Err(f) => {
            let table = "abnormal flag";
            cx.problem(r.loc.field(7), ProblemKind::UnknownCode { table }, None);
            f
        }
    };
    // R-13 completed, R-12 started, O-23 reported, O-8 collected, H-14.
    let observed_at = [13, 12]
        .into_iter()
        .find_map(|n| cx.time(rec, &r.loc, n))
        .or_else(|| {
            [23, 8]
                .into_iter()
                .find_map(|n| cx.time(&order.rec, &order.loc, n))
        })
        .or(cx.header_time);
    let instrument = Some(rec.field(14).component(1).text().trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| cx.sender.clone());
    Common {
        name: analyte_name(&test, &code),
        code,
        loinc,
        value,
        status,
        flag,
        observed_at,
        instrument,
    }
}

/// Maps one R record under its order (`None`: out of sequence, already reported).
pub(crate) fn map_result(
    cx: &mut Ctx<'_, '_>,
    r: &Node<'_>,
    parent: Option<(&Node<'_>, &OrderIds)>,
    out: &mut AstmRecords,
) {
    let Some((order, ids)) = parent else { return };
    if ids.qc {
        return map_qc(cx, r, order, ids, out);
    }
    let drop = Some(Dropped::Result);
    let before = cx.problems.len();
    let c = common(cx, r, order, Dropped::Result);
    if c.loinc.is_none() {
        cx.problem(r.loc.field(3), ProblemKind::UnmappedTest, drop);
    }
    let Some(patient_id) = ids.patient else {
        cx.problem(r.loc.clone(), ProblemKind::MissingRecord, drop);
        return;
    };
    let dropped = cx
        .problems
        .get(before..)
        .into_iter()
        .flatten()
        .any(|p| p.dropped.is_some());
    let (false, Some(analyte), Some(status)) = (dropped, c.loinc, c.status) else {
        return;
    };
    let Some(observed_at) = c.observed_at else {
        cx.problem(r.loc.field(13), ProblemKind::MissingValue, drop);
        return;
    };
    let Some(id) = (cx.ids)(IdFor::Result) else {
        let what = "result";
        cx.problem(r.loc.clone(), ProblemKind::Unresolved { what }, drop);
        return;
    };
    let rec = &r.rec;
    let operator = rec.field(11);
    let verified_by = [2, 1]
        .into_iter()
        .map(|n| operator.component(n).text().trim().to_string())
        .find(|s| !s.is_empty());
    let result = LabResult {
        id,
        patient_id,
        specimen_id: ids.specimen,
        order_id: ids.order,
        analyte,
        analyte_name: c.name,
        value: c.value,
        units: rec.field(5).component(1).text().trim().to_string(),
        reference_range: reference_range(rec),
        abnormal_flag: c.flag,
        status,
        performing_device: c.instrument,
        verified_by,
        observed_at,
    };
    match result.validate() {
        Ok(()) => out.lab.results.push(result),
        Err(e) => cx.problem(r.loc.field(4), ProblemKind::from_domain(&e), drop),
    }
}

fn map_qc(
    cx: &mut Ctx<'_, '_>,
    r: &Node<'_>,
    order: &Node<'_>,
    ids: &OrderIds,
    out: &mut AstmRecords,
) {
    let before = cx.problems.len();
    let c = common(cx, r, order, Dropped::Qc);
    let dropped = cx
        .problems
        .get(before..)
        .into_iter()
        .flatten()
        .any(|p| p.dropped.is_some());
    let (false, Some(status)) = (dropped, c.status) else {
        return;
    };
    let rec = &r.rec;
    out.qc.push(QcObservation {
        control: ids.control.clone(),
        lot: ids.lot.clone(),
        level: ids.level.clone(),
        test_code: c.code,
        analyte: c.loinc,
        analyte_name: c.name,
        value: c.value,
        units: rec.field(5).component(1).text().trim().to_string(),
        reference_range: reference_range(rec),
        abnormal_flag: c.flag,
        status,
        observed_at: c.observed_at,
        instrument: c.instrument,
    });
}

/// R-9 (LIS2-A2 result status) to the domain's statuses. X (cannot be done) and I
/// (pending in the instrument) carry no result. W (validity questionable) and the other
/// non-final codes are preliminary, so nothing doubtful looks final.
fn result_status(code: &str) -> Result<ResultStatus, ProblemKind> {
    match code.trim().to_ascii_uppercase().as_str() {
        "" => Err(ProblemKind::MissingValue),
        "F" | "V" | "R" | "Q" => Ok(ResultStatus::Final),
        "C" => Ok(ResultStatus::Corrected),
        "P" | "S" | "M" | "N" | "W" => Ok(ResultStatus::Preliminary),
        "X" | "I" => Err(ProblemKind::NoResult),
        _ => Err(ProblemKind::UnknownCode {
            table: "result status",
        }),
    }
}

/// R-7 abnormal flags. Delta flags (U, D, B, W: change since the last result) say
/// nothing about the value and are skipped. An unknown flag reads as `Abnormal` (the
/// `Err` case), never `Normal`: a flag the lab cannot read must not look unremarkable.
fn abnormal_flag(f: Field<'_>) -> Result<AbnormalFlag, AbnormalFlag> {
    use AbnormalFlag as F;
    for r in f.repeats() {
        let flag = match r.component(1).text().trim().to_ascii_uppercase().as_str() {
            "" | "U" | "D" | "B" | "W" => continue,
            "N" => F::Normal,
            "L" | "<" => F::Low,
            "H" | ">" => F::High,
            "LL" => F::CriticalLow,
            "HH" => F::CriticalHigh,
            "A" | "AA" => F::Abnormal,
            _ => return Err(F::Abnormal),
        };
        return Ok(flag);
    }
    Ok(F::Normal)
}

/// The tube from O-16's specimen type, `Other` when it does not tell.
pub(crate) fn container(kind: &str) -> ContainerType {
    let k = kind.trim().to_ascii_lowercase();
    let has = |w: &str| k.contains(w);
    if has("edta") || has("whole blood") || k == "wb" {
        ContainerType::Edta
    } else if has("citrat") {
        ContainerType::Citrate
    } else if has("hepar") || has("plasma") {
        ContainerType::Heparin
    } else if has("serum") || k == "ser" {
        ContainerType::Serum
    } else if has("fluor") {
        ContainerType::Fluoride
    } else if has("capillary") {
        ContainerType::Capillary
    } else {
        ContainerType::Other
    }
}
