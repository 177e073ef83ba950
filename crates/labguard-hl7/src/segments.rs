//! Typed, zero-copy views of the segments lab result messages carry.
//!
//! Each `read` takes a parsed [`Segment`] and returns the typed value with the problems
//! found (only malformed timestamps are problems at this level; whether a missing value
//! matters is decided by [`LabReport::to_records`](crate::LabReport::to_records)).

use std::borrow::Cow;

use labguard_core::Sex;

use crate::message::Segment;
use crate::problem::{Location, Problem, ProblemKind};
use crate::timestamp::Hl7Timestamp;
use crate::types::{
    clean, comp, phone, text, Address, Coded, EntityId, HierarchicDesignator, Identifier, Person,
    PersonName,
};

/// Reads component `c` of field `n` as a timestamp; a malformed one is a problem and
/// reads as absent.
fn ts(
    seg: &Segment<'_>,
    n: usize,
    c: usize,
    occurrence: usize,
    problems: &mut Vec<Problem>,
) -> Option<Hl7Timestamp> {
    let t = clean(seg.text(n, c));
    if t.is_empty() {
        return None;
    }
    match Hl7Timestamp::parse(&t) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(Problem {
                // Built only on error: most timestamps are fine.
                location: Location::segment(seg, occurrence).component(n, c),
                kind: ProblemKind::BadTimestamp(e),
                dropped: None,
            });
            None
        }
    }
}

fn people<'a>(seg: &Segment<'a>, n: usize) -> Vec<Person<'a>> {
    seg.field(n)
        .repetitions()
        .map(|r| Person::read(&r))
        .collect()
}

fn coded<'a>(seg: &Segment<'a>, n: usize) -> Coded<'a> {
    Coded::read(&seg.field(n).rep(1))
}

/// MSH: who sent the message, to whom, what it is and how to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Msh<'a> {
    pub sending_application: HierarchicDesignator<'a>,
    pub sending_facility: HierarchicDesignator<'a>,
    pub receiving_application: HierarchicDesignator<'a>,
    pub receiving_facility: HierarchicDesignator<'a>,
    /// MSH-7, when the message was created.
    pub datetime: Option<Hl7Timestamp>,
    /// MSH-9.1, e.g. `ORU`.
    pub message_code: Cow<'a, str>,
    /// MSH-9.2, e.g. `R01`.
    pub trigger_event: Cow<'a, str>,
    /// MSH-9.3, e.g. `ORU_R01` (v2.3.1+).
    pub message_structure: Cow<'a, str>,
    /// MSH-10, echoed in MSA-2 of the acknowledgment.
    pub control_id: Cow<'a, str>,
    /// MSH-11.1: `P` production, `T` training, `D` debugging.
    pub processing_id: Cow<'a, str>,
    /// MSH-12.1, e.g. `2.5.1`.
    pub version: Cow<'a, str>,
    /// MSH-15, accept acknowledgment type (enhanced mode): `AL`, `NE`, `ER`, `SU`.
    pub accept_ack_type: Cow<'a, str>,
    /// MSH-16, application acknowledgment type (enhanced mode).
    pub application_ack_type: Cow<'a, str>,
    /// MSH-18.1, character set, e.g. `UNICODE UTF-8` or `8859/1`.
    pub charset: Cow<'a, str>,
}

impl<'a> Msh<'a> {
    pub fn read(seg: &Segment<'a>) -> (Msh<'a>, Vec<Problem>) {
        let mut problems = Vec::new();
        let hd = |n| HierarchicDesignator::read(&seg.field(n).rep(1));
        let msh = Msh {
            sending_application: hd(3),
            sending_facility: hd(4),
            receiving_application: hd(5),
            receiving_facility: hd(6),
            datetime: ts(seg, 7, 1, 1, &mut problems),
            message_code: clean(seg.text(9, 1)),
            trigger_event: clean(seg.text(9, 2)),
            message_structure: clean(seg.text(9, 3)),
            control_id: text(&seg.field(10)),
            processing_id: text(&seg.field(11)),
            version: text(&seg.field(12)),
            accept_ack_type: text(&seg.field(15)),
            application_ack_type: text(&seg.field(16)),
            charset: text(&seg.field(18)),
        };
        (msh, problems)
    }
}

/// PID: the patient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pid<'a> {
    /// PID-3, all identifiers (MRN, national ids…).
    pub identifiers: Vec<Identifier<'a>>,
    /// PID-5, all names (legal, alias…).
    pub names: Vec<PersonName<'a>>,
    /// PID-7, date (and sometimes time) of birth.
    pub birth: Option<Hl7Timestamp>,
    /// PID-8 as sent.
    pub sex_code: Cow<'a, str>,
    /// PID-11.
    pub addresses: Vec<Address<'a>>,
    /// PID-13, home phone numbers.
    pub phones: Vec<Cow<'a, str>>,
}

impl<'a> Pid<'a> {
    pub fn read(seg: &Segment<'a>, occurrence: usize) -> (Pid<'a>, Vec<Problem>) {
        let mut problems = Vec::new();
        let pid = Pid {
            identifiers: seg
                .field(3)
                .repetitions()
                .map(|r| Identifier::read(&r))
                .filter(|i| !i.id.is_empty())
                .collect(),
            names: seg
                .field(5)
                .repetitions()
                .map(|r| PersonName::read(&r))
                .collect(),
            birth: ts(seg, 7, 1, occurrence, &mut problems),
            sex_code: text(&seg.field(8)),
            addresses: seg
                .field(11)
                .repetitions()
                .map(|r| Address::read(&r))
                .collect(),
            phones: seg
                .field(13)
                .repetitions()
                .map(|r| phone(&r))
                .filter(|p| !p.is_empty())
                .collect(),
        };
        (pid, problems)
    }

    /// The medical record number: the identifier typed `MR`, else the one typed `PI`
    /// (patient internal id), else the first.
    pub fn mrn(&self) -> Option<&Identifier<'a>> {
        let typed = |t: &str| {
            self.identifiers
                .iter()
                .find(|i| i.identifier_type.eq_ignore_ascii_case(t))
        };
        typed("MR")
            .or_else(|| typed("PI"))
            .or_else(|| self.identifiers.first())
    }

    /// The legal name (type `L`) when marked, else the first.
    pub fn name(&self) -> Option<&PersonName<'a>> {
        self.names
            .iter()
            .find(|n| n.name_type == "L")
            .or_else(|| self.names.first())
    }

    /// PID-8 mapped to the domain's [`Sex`].
    pub fn sex(&self) -> Sex {
        Sex::from_code(&self.sex_code)
    }
}

/// PV1: the visit the order belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pv1<'a> {
    /// PV1-2, HL7 table 0004: `I` inpatient, `O` outpatient, `E` emergency…
    pub patient_class: Cow<'a, str>,
    /// PV1-3 point of care, room, bed, facility (components 1–4).
    pub location: [Cow<'a, str>; 4],
    /// PV1-7.
    pub attending: Vec<Person<'a>>,
    /// PV1-19.
    pub visit_number: Identifier<'a>,
}

impl<'a> Pv1<'a> {
    pub fn read(seg: &Segment<'a>) -> Pv1<'a> {
        let loc = seg.field(3).rep(1);
        Pv1 {
            patient_class: text(&seg.field(2)),
            location: [
                comp(&loc, 1),
                comp(&loc, 2),
                comp(&loc, 3),
                clean(loc.component(4).sub(1)),
            ],
            attending: people(seg, 7),
            visit_number: Identifier::read(&seg.field(19).rep(1)),
        }
    }
}

/// ORC: common order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Orc<'a> {
    /// ORC-1, HL7 table 0119: `NW`, `RE` (observations to follow), `SC`…
    pub order_control: Cow<'a, str>,
    pub placer_order_number: EntityId<'a>,
    pub filler_order_number: EntityId<'a>,
    /// ORC-5, order status.
    pub order_status: Cow<'a, str>,
    /// ORC-9, date/time of the transaction (when the order was placed).
    pub transaction_at: Option<Hl7Timestamp>,
    /// ORC-12.
    pub ordering_provider: Vec<Person<'a>>,
}

impl<'a> Orc<'a> {
    pub fn read(seg: &Segment<'a>, occurrence: usize) -> (Orc<'a>, Vec<Problem>) {
        let mut problems = Vec::new();
        let orc = Orc {
            order_control: text(&seg.field(1)),
            placer_order_number: EntityId::read(&seg.field(2).rep(1)),
            filler_order_number: EntityId::read(&seg.field(3).rep(1)),
            order_status: text(&seg.field(5)),
            transaction_at: ts(seg, 9, 1, occurrence, &mut problems),
            ordering_provider: people(seg, 12),
        };
        (orc, problems)
    }
}

/// OBR: observation request, the header of a group of results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Obr<'a> {
    pub placer_order_number: EntityId<'a>,
    pub filler_order_number: EntityId<'a>,
    /// OBR-4, what was ordered (a panel code, LOINC when the system is `LN`).
    pub universal_service_id: Coded<'a>,
    /// OBR-6, requested date/time.
    pub requested_at: Option<Hl7Timestamp>,
    /// OBR-7, observation (collection) date/time.
    pub observed_at: Option<Hl7Timestamp>,
    /// OBR-10, who collected the specimen.
    pub collectors: Vec<Person<'a>>,
    /// OBR-16.
    pub ordering_provider: Vec<Person<'a>>,
    /// OBR-25, result status of the whole request.
    pub result_status: Cow<'a, str>,
    /// OBR-32.1, principal result interpreter.
    pub interpreter: Person<'a>,
}

impl<'a> Obr<'a> {
    pub fn read(seg: &Segment<'a>, occurrence: usize) -> (Obr<'a>, Vec<Problem>) {
        let mut problems = Vec::new();
        let obr = Obr {
            placer_order_number: EntityId::read(&seg.field(2).rep(1)),
            filler_order_number: EntityId::read(&seg.field(3).rep(1)),
            universal_service_id: coded(seg, 4),
            requested_at: ts(seg, 6, 1, occurrence, &mut problems),
            observed_at: ts(seg, 7, 1, occurrence, &mut problems),
            collectors: people(seg, 10),
            ordering_provider: people(seg, 16),
            result_status: text(&seg.field(25)),
            interpreter: Person::read_sub(&seg.field(32).component(1)),
        };
        (obr, problems)
    }
}

/// OBX: one observation (one analyte's result).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Obx<'a> {
    /// OBX-2, HL7 table 0125: `NM` numeric, `ST` string, `CWE` coded, `SN`…
    pub value_type: Cow<'a, str>,
    /// OBX-3, what was observed.
    pub observation: Coded<'a>,
    /// OBX-4, sub-id grouping related OBXs.
    pub sub_id: Cow<'a, str>,
    /// OBX-5, one entry per repetition, rendered as text for the value type (coded values
    /// by their label, `SN` as `<5` or `1:128`, `ED` by its data).
    pub values: Vec<Cow<'a, str>>,
    /// OBX-6 (CE/CWE; `code` holds the unit, e.g. `mg/dL`).
    pub units: Coded<'a>,
    /// OBX-7 as written, e.g. `70-99`.
    pub reference_range: Cow<'a, str>,
    /// OBX-8, table 0078 codes, one per repetition.
    pub abnormal_flags: Vec<Cow<'a, str>>,
    /// OBX-11, table 0085: `F` final, `C` corrected, `P` preliminary…
    pub status: Cow<'a, str>,
    /// OBX-14, observation date/time.
    pub observed_at: Option<Hl7Timestamp>,
    /// OBX-16, responsible observer(s).
    pub observers: Vec<Person<'a>>,
    /// OBX-18, equipment instance identifier(s): the analyser.
    pub equipment: Vec<EntityId<'a>>,
    /// OBX-19, date/time of the analysis (v2.5+).
    pub analyzed_at: Option<Hl7Timestamp>,
}

impl<'a> Obx<'a> {
    pub fn read(seg: &Segment<'a>, occurrence: usize) -> (Obx<'a>, Vec<Problem>) {
        let mut problems = Vec::new();
        let value_type = text(&seg.field(2));
        let values = seg
            .field(5)
            .repetitions()
            .map(|r| obx_value(&value_type, &r))
            .filter(|v| !v.is_empty())
            .collect();
        let obx = Obx {
            observation: coded(seg, 3),
            sub_id: text(&seg.field(4)),
            values,
            units: coded(seg, 6),
            reference_range: text(&seg.field(7)),
            abnormal_flags: seg
                .field(8)
                .repetitions()
                .map(|r| comp(&r, 1))
                .filter(|f| !f.is_empty())
                .collect(),
            status: text(&seg.field(11)),
            observed_at: ts(seg, 14, 1, occurrence, &mut problems),
            observers: people(seg, 16),
            equipment: seg
                .field(18)
                .repetitions()
                .map(|r| EntityId::read(&r))
                .filter(|e| e.best().is_some())
                .collect(),
            analyzed_at: ts(seg, 19, 1, occurrence, &mut problems),
            value_type,
        };
        (obx, problems)
    }

    /// The value as one string: repetitions joined by `"; "`.
    pub fn value_text(&self) -> String {
        self.values.join("; ")
    }
}

/// One OBX-5 repetition as text, according to OBX-2.
fn obx_value<'a>(value_type: &str, r: &crate::message::Repetition<'a>) -> Cow<'a, str> {
    match value_type {
        "CE" | "CWE" | "CNE" | "CF" => {
            let c = Coded::read(r);
            Cow::Owned(c.label().to_string())
        }
        // Structured numeric: comparator, number, separator/suffix, number.
        "SN" => Cow::Owned((1..=4).map(|n| comp(r, n)).collect::<String>()),
        // Encapsulated data: source^type^subtype^encoding^data.
        "ED" => comp(r, 5),
        _ => comp(r, 1),
    }
}

/// NTE: a free-text note on the message, the patient, an order or a result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nte<'a> {
    /// NTE-2, HL7 table 0105: `L` ancillary, `P` placer, `O` other.
    pub source: Cow<'a, str>,
    /// NTE-3, one entry per repetition (line).
    pub comments: Vec<Cow<'a, str>>,
    /// NTE-4.
    pub comment_type: Coded<'a>,
}

impl<'a> Nte<'a> {
    pub fn read(seg: &Segment<'a>) -> Nte<'a> {
        Nte {
            source: text(&seg.field(2)),
            comments: seg
                .field(3)
                .repetitions()
                .map(|r| clean(r.text()))
                .collect(),
            comment_type: coded(seg, 4),
        }
    }
}

/// SPM: the specimen (v2.5+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spm<'a> {
    /// SPM-2.1, the id the placer gave the specimen.
    pub placer_id: EntityId<'a>,
    /// SPM-2.2, the id the filler (the lab) gave it: the accession number.
    pub filler_id: EntityId<'a>,
    /// SPM-4, HL7 table 0487: `BLD` whole blood, `SER` serum…
    pub specimen_type: Coded<'a>,
    /// SPM-6, additives (EDTA, citrate…), which tell the tube.
    pub additives: Vec<Coded<'a>>,
    /// SPM-7.
    pub collection_method: Coded<'a>,
    /// SPM-8, where on the body the specimen came from.
    pub source_site: Coded<'a>,
    /// SPM-10, where it was collected.
    pub collection_site: Coded<'a>,
    /// SPM-17.1, collection start.
    pub collected_at: Option<Hl7Timestamp>,
    /// SPM-18, when the lab received it.
    pub received_at: Option<Hl7Timestamp>,
    /// SPM-27.
    pub container_type: Coded<'a>,
    /// SPM-11, HL7 table 0369: `P` patient, `Q` control (QC), `C` calibrator…
    pub role: Coded<'a>,
}

impl<'a> Spm<'a> {
    pub fn read(seg: &Segment<'a>, occurrence: usize) -> (Spm<'a>, Vec<Problem>) {
        let mut problems = Vec::new();
        let id = seg.field(2).rep(1);
        let spm = Spm {
            placer_id: EntityId::read_sub(&id.component(1)),
            filler_id: EntityId::read_sub(&id.component(2)),
            specimen_type: coded(seg, 4),
            additives: seg
                .field(6)
                .repetitions()
                .map(|r| Coded::read(&r))
                .collect(),
            collection_method: coded(seg, 7),
            source_site: coded(seg, 8),
            collection_site: coded(seg, 10),
            collected_at: ts(seg, 17, 1, occurrence, &mut problems),
            received_at: ts(seg, 18, 1, occurrence, &mut problems),
            container_type: coded(seg, 27),
            role: coded(seg, 11),
        };
        (spm, problems)
    }

    /// True for a control specimen (SPM-11 `Q`): its OBX are QC results, not a patient's.
    pub fn is_control(&self) -> bool {
        self.role.code.as_ref() == "Q"
    }

    /// The accession number: the filler's id when given, else the placer's.
    pub fn accession(&self) -> Option<&str> {
        self.filler_id.best().or_else(|| self.placer_id.best())
    }
}
