//! Mapping a [`Transmission`] into `labguard-core` records, with QC kept apart.
//!
//! An instrument's P and O records usually only name what the LIS already knows (the
//! specimen barcode, maybe the patient id). So the resolver is asked for an id for every
//! identifiable patient, specimen and order, and a new `Patient`, `Specimen` or
//! `LabOrder` is produced only when its record carries the data one needs: P a name or
//! birth date, O a collection time or collector (specimen), an ordering physician
//! (order). A record carrying some but not all of it is left out with a problem.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use labguard_core::{Address, Id, LabOrder, LoincCode, Patient, Sex, Specimen};
use labguard_hl7::LabRecords;

use crate::problem::{Dropped, Location, Mapped, Problem, ProblemKind};
use crate::qc::QcObservation;
use crate::record::{Field, Record, RecordType, Transmission};

/// What an id is requested for; the resolver returns the id of a known record, a fresh
/// one, or `None` when it cannot (the record, and what hangs on it, is then left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFor<'r> {
    Patient {
        mrn: &'r str,
    },
    /// The P record names nobody: the patient the LIS registered this specimen for.
    PatientOfSpecimen {
        accession: &'r str,
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

/// Settings for mapping, usually from the device's enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingOptions {
    /// The UTC offset of the instrument's clock (E1394 times carry none).
    pub default_offset: FixedOffset,
    /// The instrument's test codes (O-5/R-3 manufacturer code) to LOINC. A code that is
    /// itself a valid LOINC code needs no entry.
    pub test_codes: BTreeMap<String, LoincCode>,
    /// Specimen or patient ids starting with one of these (ignoring case) are QC
    /// material.
    pub qc_prefixes: Vec<String>,
}

impl Default for MappingOptions {
    fn default() -> Self {
        MappingOptions {
            default_offset: chrono::Offset::fix(&Utc),
            test_codes: BTreeMap::new(),
            qc_prefixes: vec!["QC".to_string()],
        }
    }
}

impl MappingOptions {
    pub(crate) fn is_qc_id(&self, id: &str) -> bool {
        let id = id.trim();
        self.qc_prefixes.iter().any(|p| {
            !p.is_empty()
                && id
                    .get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
    }
}

/// What a transmission yields: patient data for the store, QC apart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AstmRecords {
    pub lab: LabRecords,
    pub qc: Vec<QcObservation>,
}

pub(crate) struct Node<'a> {
    pub rec: Record<'a>,
    pub loc: Location,
    pub parent: Option<usize>,
}

pub(crate) struct Ctx<'o, 'f> {
    pub opts: &'o MappingOptions,
    pub ids: &'f mut dyn FnMut(IdFor<'_>) -> Option<Id>,
    pub problems: Vec<Problem>,
    pub header_time: Option<DateTime<Utc>>,
    pub sender: Option<String>,
}

impl Ctx<'_, '_> {
    pub fn problem(&mut self, location: Location, kind: ProblemKind, dropped: Option<Dropped>) {
        self.problems.push(Problem {
            location,
            kind,
            dropped,
        });
    }

    /// A timestamp field in UTC; a malformed one is noted (not dropped) and skipped.
    pub fn time(&mut self, rec: &Record<'_>, loc: &Location, n: usize) -> Option<DateTime<Utc>> {
        let f = rec.field(n);
        if f.component(1).is_empty() {
            return None;
        }
        let raw = std::str::from_utf8(f.component(1).raw()).unwrap_or("\u{fffd}");
        match labguard_hl7::Hl7Timestamp::parse(raw) {
            Ok(t) => Some(t.to_utc(self.opts.default_offset)),
            Err(e) => {
                self.problem(loc.field(n), ProblemKind::BadTimestamp(e), None);
                None
            }
        }
    }
}

/// Per order, what its results need.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderIds {
    pub qc: bool,
    pub patient: Option<Id>,
    pub specimen: Option<Id>,
    pub order: Option<Id>,
    /// QC only: the control material, its lot and level.
    pub control: String,
    pub lot: Option<String>,
    pub level: Option<String>,
}

impl<'a> Transmission<'a> {
    /// Maps the transmission into domain records, asking `ids` for every record id (see
    /// [`IdFor`]). Problems name record type, position and field, never values.
    pub fn to_records(
        &self,
        opts: &MappingOptions,
        ids: &mut dyn FnMut(IdFor<'_>) -> Option<Id>,
    ) -> Mapped<AstmRecords> {
        let header = self.header();
        let mut cx = Ctx {
            opts,
            ids,
            problems: Vec::new(),
            header_time: None,
            sender: header.sender_name().map(|s| s.into_owned()),
        };
        let hloc = Location::record(&header.0, 1);
        cx.header_time = cx.time(&header.0, &hloc, 14);
        let all_qc = header.processing_id().trim().eq_ignore_ascii_case("Q");
        let (patients, orders, results) = self.tree(&mut cx);
        let mut out = AstmRecords::default();
        let patient_ids: Vec<(Option<Id>, Option<String>)> = patients
            .iter()
            .map(|p| map_patient(&mut cx, p, &mut out.lab))
            .collect();
        // Per order, the LOINC codes of its results (one pass, so a hostile transmission
        // with many records stays linear).
        let mut result_tests: Vec<Vec<LoincCode>> = vec![Vec::new(); orders.len()];
        for r in &results {
            if let Some(list) = r.parent.and_then(|i| result_tests.get_mut(i)) {
                list.extend(crate::qc::analyte(opts, r.rec.field(3)).1);
            }
        }
        let order_ids: Vec<OrderIds> = orders
            .iter()
            .zip(result_tests)
            .map(|(o, tests)| {
                let (pid, pqc) = o
                    .parent
                    .and_then(|i| patient_ids.get(i).cloned())
                    .unwrap_or((None, None));
                if all_qc || pqc.is_some() || is_qc_order(opts, &o.rec) {
                    return qc_identity(&o.rec, pqc);
                }
                map_order(&mut cx, o, pid, o.parent.is_some(), tests, &mut out.lab)
            })
            .collect();
        for r in &results {
            let parent = r.parent.and_then(|i| orders.get(i).zip(order_ids.get(i)));
            crate::qc::map_result(&mut cx, r, parent, &mut out);
        }
        Mapped {
            value: out,
            problems: cx.problems,
        }
    }

    /// Groups P, O and R records into patients, their orders and the orders' results.
    #[allow(clippy::type_complexity)]
    fn tree(&self, cx: &mut Ctx<'_, '_>) -> (Vec<Node<'a>>, Vec<Node<'a>>, Vec<Node<'a>>) {
        let (mut patients, mut orders, mut results) = (Vec::new(), Vec::new(), Vec::new());
        let mut counts: BTreeMap<char, usize> = BTreeMap::new();
        // The order results attach to; a P record closes it.
        let mut open_order: Option<usize> = None;
        for rec in self.records().iter().skip(1) {
            let n = counts.entry(rec.kind.letter()).or_insert(0);
            *n += 1;
            let loc = Location::record(rec, *n);
            match rec.kind {
                RecordType::Patient => {
                    open_order = None;
                    patients.push(Node {
                        rec: *rec,
                        loc,
                        parent: None,
                    });
                }
                RecordType::Order => {
                    let parent = patients.len().checked_sub(1);
                    open_order = Some(orders.len());
                    orders.push(Node {
                        rec: *rec,
                        loc,
                        parent,
                    });
                }
                RecordType::Result => {
                    let parent = open_order;
                    if parent.is_none() {
                        cx.problem(
                            loc.clone(),
                            ProblemKind::OutOfSequence,
                            Some(Dropped::Result),
                        );
                    }
                    results.push(Node {
                        rec: *rec,
                        loc,
                        parent,
                    });
                }
                RecordType::Terminator => break,
                RecordType::Manufacturer | RecordType::Scientific | RecordType::Other(_) => {
                    cx.problem(loc, ProblemKind::Ignored, None);
                }
                _ => {}
            }
        }
        (patients, orders, results)
    }
}

/// O-12 action code Q (QC specimen, LIS2-A2 table), or a QC-prefixed specimen id.
fn is_qc_order(opts: &MappingOptions, o: &Record<'_>) -> bool {
    o.field(12)
        .component(1)
        .text()
        .trim()
        .eq_ignore_ascii_case("Q")
        || opts.is_qc_id(&o.field(3).component(1).text())
        || opts.is_qc_id(&o.field(4).component(1).text())
}

fn first_text(f: Field<'_>) -> Option<String> {
    let s = f.component(1).text();
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The control material of a QC order: O-3 (else O-4) `control^lot^level`, else the
/// QC-marked patient id.
fn qc_identity(o: &Record<'_>, patient_control: Option<String>) -> OrderIds {
    let f = [o.field(3), o.field(4)]
        .into_iter()
        .find(|f| !f.component(1).is_empty());
    let part = |n: usize| f.and_then(|f| first_text_of(f.component(n).text()));
    OrderIds {
        qc: true,
        control: part(1).or(patient_control).unwrap_or_default(),
        lot: part(2),
        level: part(3),
        ..OrderIds::default()
    }
}

fn first_text_of(s: std::borrow::Cow<'_, str>) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Maps a P record: the patient's id (when it names one), or the control id when the
/// P record marks QC material.
type PatientIds = (Option<Id>, Option<String>);

fn map_patient(cx: &mut Ctx<'_, '_>, p: &Node<'_>, out: &mut LabRecords) -> PatientIds {
    let rec = &p.rec;
    let drop = Some(Dropped::Patient);
    // P-3 practice-assigned id, else P-4 laboratory-assigned, else P-5.
    let Some((n, mrn)) = (3..=5).find_map(|n| first_text(rec.field(n)).map(|m| (n, m))) else {
        return (None, None);
    };
    if cx.opts.is_qc_id(&mrn) {
        return (None, Some(mrn));
    }
    let Some(id) = (cx.ids)(IdFor::Patient { mrn: &mrn }) else {
        let what = "patient";
        cx.problem(p.loc.field(n), ProblemKind::Unresolved { what }, drop);
        return (None, None);
    };
    let name = rec.field(6);
    let birth = cx.time(rec, &p.loc, 8);
    if name.is_empty() && rec.field(8).is_empty() {
        return (Some(id), None);
    }
    let Some(birth) = birth else {
        cx.problem(p.loc.field(8), ProblemKind::MissingValue, drop);
        return (Some(id), None);
    };
    let addr = rec.field(11);
    let address = (!addr.is_empty()).then(|| Address {
        line: addr.component(1).text().into_owned(),
        city: addr.component(2).text().into_owned(),
        state: addr.component(3).text().into_owned(),
        postal_code: addr.component(4).text().into_owned(),
        country: addr.component(5).text().into_owned(),
    });
    let patient = Patient {
        id,
        mrn,
        family: name.component(1).text().trim().to_string(),
        given: name.component(2).text().trim().to_string(),
        birth_date: birth.date_naive(),
        sex: Sex::from_code(&rec.field(9).text()),
        phone: first_text(rec.field(13)),
        email: None,
        address,
    };
    match patient.validate() {
        Ok(()) => out.patients.push(patient),
        Err(e) => {
            let n = match &e {
                labguard_core::DomainError::Missing { field: "mrn" }
                | labguard_core::DomainError::Invalid { field: "mrn", .. } => n,
                labguard_core::DomainError::Missing { field: "phone" }
                | labguard_core::DomainError::TooLong { field: "phone", .. }
                | labguard_core::DomainError::Invalid { field: "phone", .. } => 13,
                _ => 6,
            };
            cx.problem(p.loc.field(n), ProblemKind::from_domain(&e), drop);
        }
    }
    (Some(id), None)
}

/// Maps an O record (patient material): the specimen and order ids, and the records
/// when the O record carries them.
fn map_order(
    cx: &mut Ctx<'_, '_>,
    o: &Node<'_>,
    patient: Option<Id>,
    has_p: bool,
    result_tests: Vec<LoincCode>,
    out: &mut LabRecords,
) -> OrderIds {
    let rec = &o.rec;
    let mut ids = OrderIds::default();
    if !has_p {
        cx.problem(o.loc.clone(), ProblemKind::OutOfSequence, None);
    }
    // O-3 is the specimen id the LIS assigned; O-4 the instrument's own.
    let placer = first_text(rec.field(3));
    let filler = first_text(rec.field(4));
    let accession = placer.clone().or(filler.clone());
    ids.patient = patient;
    if ids.patient.is_none() {
        if let Some(a) = &accession {
            ids.patient = (cx.ids)(IdFor::PatientOfSpecimen { accession: a });
        }
    }
    if ids.patient.is_none() {
        let (at, kind) = match &accession {
            Some(_) => (o.loc.field(3), ProblemKind::Unresolved { what: "patient" }),
            None => (o.loc.field(3), ProblemKind::MissingValue),
        };
        cx.problem(at, kind, Some(Dropped::Order));
        return ids;
    }
    let patient_id = ids.patient.unwrap_or_default();
    if let Some(a) = &accession {
        ids.specimen = (cx.ids)(IdFor::Specimen { accession: a });
        if let Some(sid) = ids.specimen {
            map_specimen(cx, o, sid, patient_id, a, out);
        }
    }
    ids.order = (cx.ids)(IdFor::Order {
        placer: placer.as_deref(),
        filler: filler.as_deref(),
    });
    let (Some(order_id), Some(provider)) = (ids.order, order_provider(rec)) else {
        return ids;
    };
    let mut tests: Vec<LoincCode> = rec
        .field(5)
        .repeats()
        .filter_map(|r| crate::qc::analyte_of(cx.opts, &r).1)
        .collect();
    if tests.is_empty() {
        tests = result_tests;
    }
    tests.sort();
    tests.dedup();
    let placed = [7, 8]
        .into_iter()
        .find_map(|n| cx.time(rec, &o.loc, n))
        .or(cx.header_time);
    let Some(placed_at) = placed else {
        cx.problem(
            o.loc.field(7),
            ProblemKind::MissingValue,
            Some(Dropped::Order),
        );
        return ids;
    };
    let order = LabOrder {
        id: order_id,
        patient_id,
        specimen_id: ids.specimen,
        ordering_provider: provider,
        tests,
        placed_at,
    };
    match order.validate() {
        Ok(()) => out.orders.push(order),
        Err(e) => {
            let at = match e {
                labguard_core::DomainError::Missing { field: "tests" } => 5,
                _ => 17,
            };
            let kind = match at {
                5 => ProblemKind::UnmappedTest,
                _ => ProblemKind::from_domain(&e),
            };
            cx.problem(o.loc.field(at), kind, Some(Dropped::Order));
        }
    }
    ids
}

/// O-17, ordering physician: `id^family^given` or free text.
fn order_provider(rec: &Record<'_>) -> Option<String> {
    let f = rec.field(17);
    let parts: Vec<String> = f
        .first()
        .components()
        .map(|c| c.text().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn map_specimen(
    cx: &mut Ctx<'_, '_>,
    o: &Node<'_>,
    id: Id,
    patient_id: Id,
    accession: &str,
    out: &mut LabRecords,
) {
    let rec = &o.rec;
    let collector = first_text(rec.field(11));
    let collected = cx.time(rec, &o.loc, 8);
    if collector.is_none() && collected.is_none() {
        return;
    }
    let drop = Some(Dropped::Specimen);
    // O-16 specimen descriptor: type^source; the source is the body site.
    let desc = rec.field(16);
    let site = [desc.component(2), desc.component(1)]
        .into_iter()
        .map(|c| c.text().trim().to_string())
        .find(|s| !s.is_empty());
    let (Some(collector), Some(collected_at), Some(body_site)) = (collector, collected, site)
    else {
        let n = match (first_text(rec.field(11)), collected) {
            (None, _) => 11,
            (_, None) => 8,
            _ => 16,
        };
        cx.problem(o.loc.field(n), ProblemKind::MissingValue, drop);
        return;
    };
    let kind = desc.component(1).text();
    let s = Specimen {
        id,
        patient_id,
        accession: accession.to_string(),
        collector,
        collected_at,
        container: crate::qc::container(&kind),
        body_site,
    };
    match s.validate() {
        Ok(()) => out.specimens.push(s),
        Err(e) => cx.problem(o.loc.field(3), ProblemKind::from_domain(&e), drop),
    }
}
