//! ORU^R01 and OUL^R22 read into groups: patients, orders, specimens, observations.

use std::collections::HashMap;

use crate::message::Message;
use crate::problem::{Location, Mapped, Problem, ProblemKind, Record};
use crate::segments::{Msh, Nte, Obr, Obx, Orc, Pid, Pv1, Spm};

/// The two lab result messages this crate maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// ORU^R01, unsolicited observation result: orders first, each with its results and
    /// (v2.5+) its specimens.
    OruR01,
    /// OUL^R22, unsolicited specimen-oriented result: specimens first, each with the
    /// orders and results run on it.
    OulR22,
}

impl ReportKind {
    /// The kind named by MSH-9, if it is one this crate maps.
    pub fn of(msh: &Msh<'_>) -> Option<ReportKind> {
        match (msh.message_code.as_ref(), msh.trigger_event.as_ref()) {
            ("ORU", "R01") => Some(ReportKind::OruR01),
            ("OUL", "R22") => Some(ReportKind::OulR22),
            _ => None,
        }
    }
}

/// A PID with what hangs off it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientGroup<'a> {
    pub pid: Pid<'a>,
    pub location: Location,
    pub visit: Option<Pv1<'a>>,
    pub notes: Vec<Nte<'a>>,
}

/// An order: ORC and/or OBR (ORU sends ORC before OBR, OUL after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderGroup<'a> {
    pub orc: Option<Orc<'a>>,
    pub obr: Option<Obr<'a>>,
    /// Location of the OBR (or of the ORC when there is no OBR).
    pub location: Location,
    /// Index into [`LabReport::patients`].
    pub patient: Option<usize>,
    /// Index into [`LabReport::specimens`].
    pub specimen: Option<usize>,
    pub notes: Vec<Nte<'a>>,
}

/// An SPM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecimenGroup<'a> {
    pub spm: Spm<'a>,
    pub location: Location,
    /// Index into [`LabReport::patients`].
    pub patient: Option<usize>,
}

/// An OBX with its notes and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation<'a> {
    pub obx: Obx<'a>,
    pub location: Location,
    /// Index into [`LabReport::orders`].
    pub order: Option<usize>,
    /// Index into [`LabReport::specimens`], for observations about a specimen (OBX right
    /// after SPM). Results of an order find their specimen through the order.
    pub specimen: Option<usize>,
    pub notes: Vec<Nte<'a>>,
}

/// An ORU^R01 or OUL^R22 message read into its groups, borrowing from the [`Message`].
///
/// Segments these groups do not use (SFT, PRT, TQ1, SAC, Z-segments…) are skipped here;
/// they stay available on the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabReport<'a> {
    pub kind: ReportKind,
    pub header: Msh<'a>,
    pub patients: Vec<PatientGroup<'a>>,
    pub orders: Vec<OrderGroup<'a>>,
    pub specimens: Vec<SpecimenGroup<'a>>,
    pub observations: Vec<Observation<'a>>,
    /// NTEs before any patient.
    pub notes: Vec<Nte<'a>>,
}

/// Where the next NTE goes: the segment it follows.
#[derive(Clone, Copy)]
enum NoteTarget {
    Message,
    Patient(usize),
    Order(usize),
    Observation(usize),
}

impl<'a> LabReport<'a> {
    /// Reads a parsed message. Fails only when the message is not ORU^R01 or OUL^R22
    /// (the problem carries table 0357 code 200 for the ACK); everything else is
    /// reported in the returned problems and the usable rest is kept.
    pub fn read(msg: &'a Message<'a>) -> Result<Mapped<LabReport<'a>>, Problem> {
        let msh_seg = msg.msh();
        let (header, mut problems) = Msh::read(&msh_seg);
        let Some(kind) = ReportKind::of(&header) else {
            return Err(Problem {
                location: Location::segment(&msh_seg, 1).field(9),
                kind: ProblemKind::UnsupportedMessageType,
                dropped: None,
            });
        };
        let mut r = LabReport {
            kind,
            header,
            patients: Vec::new(),
            orders: Vec::new(),
            specimens: Vec::new(),
            observations: Vec::new(),
            notes: Vec::new(),
        };
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut note = NoteTarget::Message;
        let mut patient: Option<usize> = None;
        let mut order: Option<usize> = None;
        let mut specimen: Option<usize> = None;
        // True between an SPM and the next OBR/ORC/PID: OBXs there describe the specimen.
        let mut after_spm = false;
        // Whether the current order already has OBXs (then an ORC starts a new order).
        let mut order_has_obs = false;
        for seg in msg.segments().skip(1) {
            let n = seen.entry(seg.name()).or_insert(0);
            *n += 1;
            let occ = *n;
            let loc = Location::segment(&seg, occ);
            match seg.name() {
                "PID" => {
                    let (pid, p) = Pid::read(&seg, occ);
                    problems.extend(p);
                    r.patients.push(PatientGroup {
                        pid,
                        location: loc,
                        visit: None,
                        notes: Vec::new(),
                    });
                    patient = Some(r.patients.len() - 1);
                    note = patient.map_or(NoteTarget::Message, NoteTarget::Patient);
                    (order, specimen, after_spm) = (None, None, false);
                }
                "PV1" => match patient.and_then(|i| r.patients.get_mut(i)) {
                    Some(p) => p.visit = Some(Pv1::read(&seg)),
                    None => problems.push(out_of_sequence(loc, None)),
                },
                "ORC" => {
                    let (orc, p) = Orc::read(&seg, occ);
                    problems.extend(p);
                    // OUL (and v2.5+ ORU in OUL style) put ORC after its OBR.
                    let joins = order
                        .and_then(|i| r.orders.get_mut(i))
                        .filter(|o| o.obr.is_some() && o.orc.is_none())
                        .filter(|_| !after_spm && !order_has_obs);
                    match joins {
                        Some(o) => o.orc = Some(orc),
                        None => {
                            r.orders.push(OrderGroup {
                                orc: Some(orc),
                                obr: None,
                                location: loc,
                                patient,
                                specimen: new_order_specimen(kind, specimen),
                                notes: Vec::new(),
                            });
                            order = Some(r.orders.len() - 1);
                            order_has_obs = false;
                        }
                    }
                    note = order.map_or(note, NoteTarget::Order);
                    after_spm = false;
                }
                "OBR" => {
                    let (obr, p) = Obr::read(&seg, occ);
                    problems.extend(p);
                    let pending = order
                        .and_then(|i| r.orders.get_mut(i))
                        .filter(|o| o.obr.is_none());
                    match pending {
                        Some(o) => {
                            o.obr = Some(obr);
                            o.location = loc;
                        }
                        None => {
                            r.orders.push(OrderGroup {
                                orc: None,
                                obr: Some(obr),
                                location: loc,
                                patient,
                                specimen: new_order_specimen(kind, specimen),
                                notes: Vec::new(),
                            });
                            order = Some(r.orders.len() - 1);
                            order_has_obs = false;
                        }
                    }
                    note = order.map_or(note, NoteTarget::Order);
                    after_spm = false;
                }
                "SPM" => {
                    let (spm, p) = Spm::read(&seg, occ);
                    problems.extend(p);
                    r.specimens.push(SpecimenGroup {
                        spm,
                        location: loc,
                        patient,
                    });
                    let idx = r.specimens.len() - 1;
                    specimen = Some(idx);
                    if kind == ReportKind::OruR01 {
                        // In ORU the SPM closes its order group and names its specimen.
                        match order.and_then(|i| r.orders.get_mut(i)) {
                            Some(o) if o.specimen.is_none() => o.specimen = Some(idx),
                            _ => {}
                        }
                    } else {
                        // In OUL the SPM opens a new specimen group.
                        order = None;
                    }
                    after_spm = true;
                    note = NoteTarget::Message;
                }
                "OBX" => {
                    let (obx, p) = Obx::read(&seg, occ);
                    problems.extend(p);
                    if order.is_none() && !after_spm {
                        problems.push(out_of_sequence(loc, Some(Record::Result)));
                        continue;
                    }
                    order_has_obs |= order.is_some();
                    r.observations.push(Observation {
                        obx,
                        location: loc,
                        order,
                        specimen: if after_spm { specimen } else { None },
                        notes: Vec::new(),
                    });
                    note = NoteTarget::Observation(r.observations.len() - 1);
                }
                "NTE" => {
                    let nte = Nte::read(&seg);
                    let list = match note {
                        NoteTarget::Message => Some(&mut r.notes),
                        NoteTarget::Patient(i) => r.patients.get_mut(i).map(|p| &mut p.notes),
                        NoteTarget::Order(i) => r.orders.get_mut(i).map(|o| &mut o.notes),
                        NoteTarget::Observation(i) => {
                            r.observations.get_mut(i).map(|o| &mut o.notes)
                        }
                    };
                    if let Some(list) = list {
                        list.push(nte);
                    }
                }
                _ => {}
            }
        }
        // A QC run (every specimen a control, SPM-11 `Q`) is about no patient.
        let qc_only = !r.specimens.is_empty() && r.specimens.iter().all(|g| g.spm.is_control());
        if r.patients.is_empty() && !qc_only {
            problems.push(Problem {
                location: Location {
                    segment: "PID".into(),
                    occurrence: 1,
                    ..Location::default()
                },
                kind: ProblemKind::MissingSegment,
                dropped: Some(Record::Patient),
            });
        }
        Ok(Mapped { value: r, problems })
    }

    /// The order an observation belongs to.
    pub fn order_of(&self, obs: &Observation<'a>) -> Option<&OrderGroup<'a>> {
        obs.order.and_then(|i| self.orders.get(i))
    }

    /// The specimen an observation was made on: its own (specimen observations) or its
    /// order's.
    pub fn specimen_index_of(&self, obs: &Observation<'a>) -> Option<usize> {
        obs.specimen
            .or_else(|| self.order_of(obs).and_then(|o| o.specimen))
    }

    /// The patient an observation is about.
    pub fn patient_index_of(&self, obs: &Observation<'a>) -> Option<usize> {
        self.order_of(obs).and_then(|o| o.patient).or_else(|| {
            self.specimen_index_of(obs)
                .and_then(|s| self.specimens.get(s))
                .and_then(|s| s.patient)
        })
    }
}

fn new_order_specimen(kind: ReportKind, current: Option<usize>) -> Option<usize> {
    match kind {
        ReportKind::OulR22 => current,
        ReportKind::OruR01 => None,
    }
}

fn out_of_sequence(location: Location, dropped: Option<Record>) -> Problem {
    Problem {
        location,
        kind: ProblemKind::OutOfSequence,
        dropped,
    }
}
