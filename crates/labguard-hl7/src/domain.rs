//! Mapping a [`LabReport`] into `labguard-core` records.

use chrono::{DateTime, FixedOffset, Utc};
use labguard_core::{
    Address as CoreAddress, ContainerType, Id, LabOrder, LabResult, LoincCode, Patient,
    ReferenceRange, Specimen,
};

use crate::problem::{Location, Mapped, Problem, ProblemKind, Record};
use crate::report::{LabReport, Observation};
use crate::segments::Spm;
use crate::timestamp::Hl7Timestamp;
use crate::types::Coded;

/// What a record id is requested for; passed to the id resolver of
/// [`LabReport::to_records`].
///
/// The resolver decides identity: it can return the id of an existing record with the
/// same MRN, accession number or order number (the usual case: the patient and the
/// order were known before their results arrived), or a fresh UUID. Ids are requested
/// for every identifiable record, including ones left out of the output because they are
/// incomplete, so that references from results stay intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFor<'r> {
    Patient {
        mrn: &'r str,
    },
    Specimen {
        accession: &'r str,
    },
    Order {
        placer: Option<&'r str>,
        filler: Option<&'r str>,
    },
    Result,
}

/// Settings for mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingOptions {
    /// The UTC offset assumed for timestamps sent without one (the sender's local
    /// offset; HL7 leaves it to the interface agreement). Defaults to UTC.
    pub default_offset: FixedOffset,
}

impl Default for MappingOptions {
    fn default() -> Self {
        MappingOptions {
            default_offset: chrono::Offset::fix(&Utc),
        }
    }
}

/// The domain records a message yields. Only records that pass their
/// `validate()` are included; the rest are reported as problems.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabRecords {
    pub patients: Vec<Patient>,
    pub specimens: Vec<Specimen>,
    pub orders: Vec<LabOrder>,
    pub results: Vec<LabResult>,
    /// Results measured on a control specimen (SPM-11 `Q`): QC, never a patient's.
    pub qc: Vec<ControlResult>,
}

/// One OBX on a control specimen. The control is named by the specimen's id (SPM-2),
/// which analyzers set to the control material's lot; each level of a control comes in a
/// lot of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlResult {
    pub lot: String,
    pub analyte: LoincCode,
    pub value: String,
    pub units: String,
    pub observed_at: DateTime<Utc>,
}

struct Ctx<'o, 'f> {
    opts: &'o MappingOptions,
    ids: &'f mut dyn FnMut(IdFor<'_>) -> Id,
    problems: Vec<Problem>,
    /// Per specimen, the first order run on it (indexes computed once, so mapping stays
    /// linear however many segments a hostile message has).
    order_of_specimen: Vec<Option<usize>>,
    /// Per order, its observations.
    obs_of_order: Vec<Vec<usize>>,
}

impl Ctx<'_, '_> {
    fn problem(&mut self, location: Location, kind: ProblemKind, dropped: Option<Record>) {
        self.problems.push(Problem {
            location,
            kind,
            dropped,
        });
    }
    fn utc(&self, t: Option<&Hl7Timestamp>) -> Option<DateTime<Utc>> {
        t.map(|t| t.to_utc(self.opts.default_offset))
    }
}

impl LabReport<'_> {
    /// Maps the report into domain records, asking `ids` for every record id (see
    /// [`IdFor`]). Problems name segment and field positions, never values.
    ///
    /// Timestamps fall back when missing: a result's time is OBX-14, else its order's
    /// OBR-7, else its specimen's SPM-17, else MSH-7; an order's is ORC-9, else OBR-6,
    /// OBR-7, MSH-7; a specimen's is SPM-17, else the OBR-7 of its order.
    pub fn to_records(
        &self,
        opts: &MappingOptions,
        ids: &mut dyn FnMut(IdFor<'_>) -> Id,
    ) -> Mapped<LabRecords> {
        let mut order_of_specimen = vec![None; self.specimens.len()];
        for (i, o) in self.orders.iter().enumerate() {
            if let Some(slot) = o.specimen.and_then(|s| order_of_specimen.get_mut(s)) {
                slot.get_or_insert(i);
            }
        }
        let mut obs_of_order = vec![Vec::new(); self.orders.len()];
        for (k, obs) in self.observations.iter().enumerate() {
            if let Some(list) = obs.order.and_then(|o| obs_of_order.get_mut(o)) {
                list.push(k);
            }
        }
        let mut cx = Ctx {
            opts,
            ids,
            problems: Vec::new(),
            order_of_specimen,
            obs_of_order,
        };
        let mut out = LabRecords::default();
        let patient_ids: Vec<Option<Id>> = self
            .patients
            .iter()
            .map(|p| map_patient(&mut cx, p, &mut out))
            .collect();
        let control: Vec<bool> = self.specimens.iter().map(|g| g.spm.is_control()).collect();
        let is_control = |s: Option<usize>| s.and_then(|i| control.get(i).copied()) == Some(true);
        // A control specimen and its order are no patient's records: only their results
        // are kept, as QC.
        let specimen_ids: Vec<Option<Id>> = (0..self.specimens.len())
            .map(|i| match is_control(Some(i)) {
                true => None,
                false => self.map_specimen(&mut cx, i, &patient_ids, &mut out),
            })
            .collect();
        let order_ids: Vec<Option<Id>> = (0..self.orders.len())
            .map(
                |i| match is_control(self.orders.get(i).and_then(|o| o.specimen)) {
                    true => None,
                    false => self.map_order(&mut cx, i, &patient_ids, &specimen_ids, &mut out),
                },
            )
            .collect();
        for obs in &self.observations {
            let spec = self.specimen_index_of(obs);
            if is_control(spec) {
                let g = spec.and_then(|i| self.specimens.get(i));
                let Some(lot) = g.and_then(|g| g.spm.accession()) else {
                    if let Some(g) = g {
                        let at = g.location.field(2);
                        cx.problem(at, ProblemKind::MissingValue, Some(Record::Result));
                    }
                    continue;
                };
                // Mapped as a result (same checks), under a placeholder patient.
                let links = Links {
                    patient: Some(Id::nil()),
                    specimen: None,
                    order: None,
                };
                if let Some(r) = self.map_result(&mut cx, obs, links) {
                    out.qc.push(ControlResult {
                        lot: lot.to_string(),
                        analyte: r.analyte,
                        value: r.value,
                        units: r.units,
                        observed_at: r.observed_at,
                    });
                }
                continue;
            }
            let links = Links {
                patient: self
                    .patient_index_of(obs)
                    .and_then(|i| patient_ids.get(i).copied().flatten()),
                specimen: self
                    .specimen_index_of(obs)
                    .and_then(|i| specimen_ids.get(i).copied().flatten()),
                order: obs.order.and_then(|i| order_ids.get(i).copied().flatten()),
            };
            if let Some(r) = self.map_result(&mut cx, obs, links) {
                out.results.push(r);
            }
        }
        Mapped {
            value: out,
            problems: cx.problems,
        }
    }

    fn map_specimen(
        &self,
        cx: &mut Ctx<'_, '_>,
        i: usize,
        patient_ids: &[Option<Id>],
        out: &mut LabRecords,
    ) -> Option<Id> {
        let g = self.specimens.get(i)?;
        let loc = &g.location;
        let Some(accession) = g.spm.accession() else {
            cx.problem(
                loc.field(2),
                ProblemKind::MissingValue,
                Some(Record::Specimen),
            );
            return None;
        };
        let id = (cx.ids)(IdFor::Specimen { accession });
        let Some(patient_id) = g
            .patient
            .and_then(|p| patient_ids.get(p).copied().flatten())
        else {
            cx.problem(
                loc.clone(),
                ProblemKind::MissingSegment,
                Some(Record::Specimen),
            );
            return Some(id);
        };
        let order = cx
            .order_of_specimen
            .get(i)
            .copied()
            .flatten()
            .and_then(|o| self.orders.get(o));
        let obr = order.and_then(|o| o.obr.as_ref());
        let collector = obr.and_then(|b| b.collectors.iter().find_map(|p| p.reference()));
        let collected = g
            .spm
            .collected_at
            .as_ref()
            .or(obr.and_then(|b| b.observed_at.as_ref()));
        let body_site = [&g.spm.source_site, &g.spm.collection_site]
            .into_iter()
            .map(Coded::label)
            .find(|s| !s.is_empty());
        let mut complete = true;
        let mut missing = |cx: &mut Ctx<'_, '_>, l: Location| {
            cx.problem(l, ProblemKind::MissingValue, Some(Record::Specimen));
            complete = false;
        };
        if collector.is_none() {
            let at = order.map_or_else(|| loc.clone(), |o| o.location.field(10));
            missing(cx, at);
        }
        let collected_at = cx.utc(collected);
        if collected_at.is_none() {
            missing(cx, loc.field(17));
        }
        if body_site.is_none() {
            missing(cx, loc.field(8));
        }
        if let (true, Some(collector), Some(collected_at), Some(body_site)) =
            (complete, collector, collected_at, body_site)
        {
            let s = Specimen {
                id,
                patient_id,
                accession: accession.to_string(),
                collector,
                collected_at,
                container: container_type(&g.spm),
                body_site: body_site.to_string(),
            };
            match s.validate() {
                Ok(()) => out.specimens.push(s),
                Err(e) => cx.problem(
                    loc.clone(),
                    ProblemKind::from_domain(&e),
                    Some(Record::Specimen),
                ),
            }
        }
        Some(id)
    }

    fn map_order(
        &self,
        cx: &mut Ctx<'_, '_>,
        i: usize,
        patient_ids: &[Option<Id>],
        specimen_ids: &[Option<Id>],
        out: &mut LabRecords,
    ) -> Option<Id> {
        let g = self.orders.get(i)?;
        let loc = &g.location;
        let placer = g.obr.as_ref().map(|b| &b.placer_order_number);
        let placer = placer.or(g.orc.as_ref().map(|c| &c.placer_order_number));
        let filler = g.obr.as_ref().map(|b| &b.filler_order_number);
        let filler = filler.or(g.orc.as_ref().map(|c| &c.filler_order_number));
        let id = (cx.ids)(IdFor::Order {
            placer: placer.and_then(|p| p.best()),
            filler: filler.and_then(|f| f.best()),
        });
        let Some(obr) = &g.obr else {
            cx.problem(
                loc.clone(),
                ProblemKind::MissingSegment,
                Some(Record::Order),
            );
            return Some(id);
        };
        let Some(patient_id) = g
            .patient
            .and_then(|p| patient_ids.get(p).copied().flatten())
        else {
            cx.problem(
                loc.clone(),
                ProblemKind::MissingSegment,
                Some(Record::Order),
            );
            return Some(id);
        };
        let tests = match obr.universal_service_id.loinc() {
            Ok(code) => vec![code],
            Err(kind) => {
                // Panels are often coded locally; the order then stands for the LOINC
                // codes of its results.
                cx.problem(loc.field(4), kind, None);
                let mut codes: Vec<LoincCode> = cx
                    .obs_of_order
                    .get(i)
                    .into_iter()
                    .flatten()
                    .filter_map(|&k| self.observations.get(k))
                    .filter_map(|o| o.obx.observation.loinc().ok())
                    .collect();
                codes.sort();
                codes.dedup();
                codes
            }
        };
        let provider = g
            .orc
            .iter()
            .flat_map(|c| c.ordering_provider.iter())
            .chain(obr.ordering_provider.iter())
            .find_map(|p| p.reference());
        let placed = g.orc.as_ref().and_then(|c| c.transaction_at.as_ref());
        let placed = placed
            .or(obr.requested_at.as_ref())
            .or(obr.observed_at.as_ref())
            .or(self.header.datetime.as_ref());
        let Some(placed_at) = cx.utc(placed) else {
            cx.problem(loc.field(7), ProblemKind::MissingValue, Some(Record::Order));
            return Some(id);
        };
        let order = LabOrder {
            id,
            patient_id,
            specimen_id: g
                .specimen
                .and_then(|s| specimen_ids.get(s).copied().flatten()),
            ordering_provider: provider.unwrap_or_default(),
            tests,
            placed_at,
        };
        match order.validate() {
            Ok(()) => out.orders.push(order),
            Err(e) => {
                let at = match e {
                    labguard_core::DomainError::Missing { field: "tests" } => loc.field(4),
                    _ => loc.field(16),
                };
                cx.problem(at, ProblemKind::from_domain(&e), Some(Record::Order));
            }
        }
        Some(id)
    }

    fn map_result(
        &self,
        cx: &mut Ctx<'_, '_>,
        obs: &Observation<'_>,
        links: Links,
    ) -> Option<LabResult> {
        let obx = &obs.obx;
        let loc = &obs.location;
        let before = cx.problems.len();
        let drop = Some(Record::Result);
        let status = match result_status(&obx.status) {
            Ok(s) => Some(s),
            Err(kind) => {
                cx.problem(loc.field(11), kind, drop);
                None
            }
        };
        let value = obx.value_text();
        let no_result = matches!(obx.status.as_ref(), "O" | "D" | "W" | "X" | "N" | "U");
        if value.is_empty() && !no_result {
            // I ("specimen in lab, result pending") without a value is an announcement.
            let kind = match obx.status.as_ref() {
                "I" => ProblemKind::NoResult,
                _ => ProblemKind::MissingValue,
            };
            cx.problem(loc.field(5), kind, drop);
        }
        let analyte = match obx.observation.loinc() {
            Ok(code) => Some(code),
            Err(kind) => {
                cx.problem(loc.field(3), kind, drop);
                None
            }
        };
        let flag = match abnormal_flag(&obx.abnormal_flags) {
            Ok(f) => f,
            Err(f) => {
                cx.problem(
                    loc.field(8),
                    ProblemKind::UnknownCode { table: "0078" },
                    None,
                );
                f
            }
        };
        let order = self.order_of(obs).and_then(|o| o.obr.as_ref());
        let specimen = self
            .specimen_index_of(obs)
            .and_then(|i| self.specimens.get(i))
            .and_then(|s| s.spm.collected_at.as_ref());
        let when = obx.observed_at.as_ref();
        let when = when
            .or(order.and_then(|o| o.observed_at.as_ref()))
            .or(specimen)
            .or(self.header.datetime.as_ref());
        let observed_at = cx.utc(when);
        if observed_at.is_none() {
            cx.problem(loc.field(14), ProblemKind::MissingValue, drop);
        }
        if links.patient.is_none() {
            cx.problem(loc.clone(), ProblemKind::MissingSegment, drop);
        }
        let (Some(status), Some(analyte), Some(observed_at), Some(patient_id)) =
            (status, analyte, observed_at, links.patient)
        else {
            return None;
        };
        if cx
            .problems
            .get(before..)
            .into_iter()
            .flatten()
            .any(|p| p.dropped.is_some())
        {
            return None;
        }
        let units = if obx.units.code.is_empty() {
            &obx.units.text
        } else {
            &obx.units.code
        };
        let result = LabResult {
            id: (cx.ids)(IdFor::Result),
            patient_id,
            specimen_id: links.specimen,
            order_id: links.order,
            analyte_name: obx.observation.label().to_string(),
            analyte,
            value,
            units: units.to_string(),
            reference_range: ReferenceRange::parse(&obx.reference_range),
            abnormal_flag: flag,
            status,
            performing_device: obx
                .equipment
                .first()
                .and_then(|e| e.best())
                .map(str::to_string),
            // OBX-16, else the order's principal result interpreter (OBR-32).
            verified_by: obx
                .observers
                .iter()
                .find_map(|p| p.reference())
                .or_else(|| order.and_then(|o| o.interpreter.reference())),
            observed_at,
        };
        match result.validate() {
            Ok(()) => Some(result),
            Err(e) => {
                cx.problem(loc.field(5), ProblemKind::from_domain(&e), drop);
                None
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Links {
    patient: Option<Id>,
    specimen: Option<Id>,
    order: Option<Id>,
}

fn map_patient(
    cx: &mut Ctx<'_, '_>,
    g: &crate::report::PatientGroup<'_>,
    out: &mut LabRecords,
) -> Option<Id> {
    let loc = &g.location;
    let drop = Some(Record::Patient);
    let Some(mrn) = g.pid.mrn() else {
        cx.problem(loc.field(3), ProblemKind::MissingValue, drop);
        return None;
    };
    let id = (cx.ids)(IdFor::Patient { mrn: &mrn.id });
    let Some(birth) = g.pid.birth.as_ref() else {
        cx.problem(loc.field(7), ProblemKind::MissingValue, drop);
        return Some(id);
    };
    let name = g.pid.name();
    let addr = g.pid.addresses.first().map(|a| CoreAddress {
        line: [a.street.as_ref(), a.other.as_ref()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        city: a.city.to_string(),
        state: a.state.to_string(),
        postal_code: a.postal_code.to_string(),
        country: a.country.to_string(),
    });
    let p = Patient {
        id,
        mrn: mrn.id.to_string(),
        family: name.map(|n| n.family.to_string()).unwrap_or_default(),
        given: name.map(|n| n.given.to_string()).unwrap_or_default(),
        birth_date: birth.date(),
        sex: g.pid.sex(),
        phone: g.pid.phones.first().map(|p| p.to_string()),
        email: None,
        address: addr,
    };
    match p.validate() {
        Ok(()) => out.patients.push(p),
        Err(e) => {
            let field = match &e {
                labguard_core::DomainError::Missing { field }
                | labguard_core::DomainError::TooLong { field, .. }
                | labguard_core::DomainError::Invalid { field, .. } => *field,
                labguard_core::DomainError::Unknown { kind, .. } => kind,
            };
            let n = match field {
                "mrn" => 3,
                "phone" => 13,
                _ => 5,
            };
            cx.problem(loc.field(n), ProblemKind::from_domain(&e), drop);
        }
    }
    Some(id)
}

/// HL7 table 0085 to the domain's statuses, as `ResultStatus::from_code` reads them
/// (P, R, S and I are preliminary), plus A (amended) as a correction. Statuses that mean
/// "no result here" (order detail, deleted, wrong, cannot be obtained…) are refused
/// rather than filed.
fn result_status(code: &str) -> Result<labguard_core::ResultStatus, ProblemKind> {
    match code {
        "" => Err(ProblemKind::MissingValue),
        "A" => Ok(labguard_core::ResultStatus::Corrected),
        "O" | "D" | "W" | "X" | "N" | "U" => Err(ProblemKind::NoResult), // kept in step with map_result
        _ => labguard_core::ResultStatus::from_code(code)
            .map_err(|_| ProblemKind::UnknownCode { table: "0085" }),
    }
}

/// HL7 table 0078 to the domain's flags. Delta flags (U, D, B, W: change since last
/// result) say nothing about the value itself and are skipped. An unknown flag maps to
/// `Abnormal` (the `Err` case) rather than `Normal`: a flag the lab cannot read must not
/// make a result look unremarkable.
fn abnormal_flag(
    codes: &[std::borrow::Cow<'_, str>],
) -> Result<labguard_core::AbnormalFlag, labguard_core::AbnormalFlag> {
    use labguard_core::AbnormalFlag as F;
    for c in codes {
        let f = match c.as_ref() {
            "U" | "D" | "B" | "W" => continue,
            "N" | "NEG" | "ND" | "S" => F::Normal,
            // < and > mean off the instrument's scale, not clinically critical.
            "L" | "<" => F::Low,
            "H" | ">" => F::High,
            "LL" | "LU" => F::CriticalLow,
            "HH" | "HU" => F::CriticalHigh,
            "A" | "AA" | "POS" | "DET" | "R" | "I" | "RR" => F::Abnormal,
            _ => return Err(F::Abnormal),
        };
        return Ok(f);
    }
    Ok(F::Normal)
}

/// The tube, read from SPM-27 (container), SPM-6 (additive, table 0371) or SPM-4
/// (specimen type, table 0487), in that order; `Other` when none tells.
fn container_type(spm: &Spm<'_>) -> ContainerType {
    let by_word = |s: &str| {
        let s = s.to_ascii_lowercase();
        let has = |w: &str| s.contains(w);
        if has("edta") || has("lavender") || has("edt") {
            Some(ContainerType::Edta)
        } else if has("citrate") || s == "c32" || s == "c38" {
            Some(ContainerType::Citrate)
        } else if has("hep") {
            Some(ContainerType::Heparin)
        } else if has("fluoride") || ["fl", "fl10", "fl100", "naf"].contains(&s.as_str()) {
            Some(ContainerType::Fluoride)
        } else if has("culture") || s == "bldco" {
            Some(ContainerType::BloodCulture)
        } else if has("serum") || s == "ser" || has("clot") || has("sst") {
            Some(ContainerType::Serum)
        } else if has("capillary") || s == "bldc" {
            Some(ContainerType::Capillary)
        } else {
            None
        }
    };
    let coded = |c: &Coded<'_>| by_word(&c.code).or_else(|| by_word(&c.text));
    coded(&spm.container_type)
        .or_else(|| spm.additives.iter().find_map(coded))
        .or_else(|| coded(&spm.specimen_type))
        .unwrap_or(ContainerType::Other)
}
