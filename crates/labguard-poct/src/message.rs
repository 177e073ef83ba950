//! POCT1-A2 messages as typed values: parsed from the element tree and encoded back.
//!
//! Element names follow CLSI POCT1-A: an object (`HDR`, `DEV`, `SVC`, `PT`, `OBS`, ...)
//! holds value elements named `OBJECT.field` whose value is the `V` attribute
//! (`<HDR.control_id V="17"/>`); units ride on the value as `U`, code systems as `SN`.
//! Only what labguard uses is read; everything else a device sends is ignored, so vendor
//! extensions do not break the conversation. Encoding a parsed message and parsing it again
//! gives the same value (the fuzz target checks it).

use chrono::{DateTime, FixedOffset};

use crate::xml::{self, Element, Limits, Writer};
use crate::PoctError;

#[path = "message_obs.rs"]
mod obs;
use obs::{encode_service, service};

/// The message types labguard speaks (root element names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Hello,
    DeviceStatus,
    /// OBS.R01: patient observations.
    PatientObservations,
    /// OBS.R02: non-patient (QC, calibration, proficiency) observations.
    NonPatientObservations,
    OperatorList,
    Request,
    Ack,
    EndOfTopic,
    End,
}

impl MessageType {
    pub const ALL: [MessageType; 9] = [
        MessageType::Hello,
        MessageType::DeviceStatus,
        MessageType::PatientObservations,
        MessageType::NonPatientObservations,
        MessageType::OperatorList,
        MessageType::Request,
        MessageType::Ack,
        MessageType::EndOfTopic,
        MessageType::End,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MessageType::Hello => "HEL.R01",
            MessageType::DeviceStatus => "DST.R01",
            MessageType::PatientObservations => "OBS.R01",
            MessageType::NonPatientObservations => "OBS.R02",
            MessageType::OperatorList => "OPL.R01",
            MessageType::Request => "REQ.R01",
            MessageType::Ack => "ACK.R01",
            MessageType::EndOfTopic => "EOT.R01",
            MessageType::End => "END.R01",
        }
    }

    pub fn from_code(code: &str) -> Option<MessageType> {
        MessageType::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// `HDR`: every message has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The sender's id for this message; an ACK names it in `ACK.ack_control_id`.
    pub control_id: String,
    pub version_id: Option<String>,
    /// ISO 8601 with offset, as sent.
    pub creation_dttm: Option<String>,
}

/// HEL.R01: the device introduces itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hello {
    pub device_id: String,
    pub vendor_id: Option<String>,
    pub model_id: Option<String>,
    pub serial_id: Option<String>,
    pub manufacturer_name: Option<String>,
    pub hw_version: Option<String>,
    pub sw_version: Option<String>,
    pub device_name: Option<String>,
    pub connection_profile_cd: Option<String>,
    pub topics_supported: Vec<String>,
    pub max_message_sz: Option<u64>,
}

/// DST.R01: what the device holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceStatus {
    pub status_dttm: Option<String>,
    pub observations_qty: Option<u64>,
    pub new_observations_qty: Option<u64>,
    pub new_events_qty: Option<u64>,
    /// `R` ready, `L` locked, ...
    pub condition_cd: Option<String>,
}

/// OBS.R01 / OBS.R02: one or more services (tests), each with its observations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observations {
    /// OBS.R02: QC or other non-patient observations.
    pub non_patient: bool,
    pub services: Vec<Service>,
}

/// `SVC`: one test event on the device. `Debug` leaves out the patient id.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// `OBS` patient; `LQC` liquid QC, `EQC` electronic QC, `CAL`, `PRF`, ...
    pub role_cd: String,
    pub observation_dttm: Option<String>,
    pub status_cd: Option<String>,
    /// `PT.patient_id`: patient data, never logged.
    pub patient_id: Option<String>,
    /// `CTC`: the control material of a QC service.
    pub control: Option<Control>,
    pub operator_id: Option<String>,
    pub reagents: Vec<Reagent>,
    pub observations: Vec<Observation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Control {
    pub name: Option<String>,
    pub lot_number: Option<String>,
    pub level_cd: Option<String>,
    pub expiration_date: Option<String>,
}

/// `RGT`: a reagent (strip, cartridge) lot used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reagent {
    pub name: Option<String>,
    pub lot_number: Option<String>,
    pub expiration_date: Option<String>,
}

/// `OBS`: one analyte's result. `Debug` leaves out the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// `OBS.observation_id` V: a LOINC code when `code_system` is `LN`, else the
    /// device's own code (mapped by the lab).
    pub observation_id: String,
    pub code_system: Option<String>,
    pub display_name: Option<String>,
    pub value: Option<String>,
    pub units: Option<String>,
    pub method_cd: Option<String>,
    pub interpretation_cd: Option<String>,
    pub normal_range: Option<String>,
}

/// OPL.R01 (host to device): the operators allowed to test.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorList {
    pub operators: Vec<Operator>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operator {
    pub operator_id: String,
    pub name: Option<String>,
    /// `ACC.method_cd`: which tests the operator may run (`ALL` for every one).
    pub access: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// AA: accepted.
    Accept,
    /// AE: error, the sender may correct and resend.
    Error,
    /// AR: rejected.
    Reject,
}

impl AckCode {
    pub fn code(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub type_cd: AckCode,
    /// The acknowledged message's control id; absent when it could not be read.
    pub ack_control_id: Option<String>,
    /// Why, for AE/AR. Never carries message content.
    pub note_txt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Hello(Hello),
    DeviceStatus(DeviceStatus),
    Observations(Observations),
    OperatorList(OperatorList),
    /// REQ.R01 `REQ.request_cd`, e.g. `ROBS` (send observations).
    Request(String),
    Ack(Ack),
    /// EOT.R01 `EOT.topic_cd`, e.g. `OBS`.
    EndOfTopic(String),
    /// END.R01 `TRM.reason_cd`, e.g. `NRM`.
    End(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

impl Message {
    /// Parses one message within `limits`.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Message, PoctError> {
        Message::from_element(&xml::parse(bytes, limits)?)
    }

    pub fn kind(&self) -> MessageType {
        match &self.body {
            Body::Hello(_) => MessageType::Hello,
            Body::DeviceStatus(_) => MessageType::DeviceStatus,
            Body::Observations(o) if o.non_patient => MessageType::NonPatientObservations,
            Body::Observations(_) => MessageType::PatientObservations,
            Body::OperatorList(_) => MessageType::OperatorList,
            Body::Request(_) => MessageType::Request,
            Body::Ack(_) => MessageType::Ack,
            Body::EndOfTopic(_) => MessageType::EndOfTopic,
            Body::End(_) => MessageType::End,
        }
    }

    pub fn from_element(root: &Element) -> Result<Message, PoctError> {
        let kind = MessageType::from_code(&root.name)
            .ok_or_else(|| PoctError::UnknownType(root.name.chars().take(32).collect()))?;
        let hdr = root
            .child("HDR")
            .ok_or(PoctError::Missing { element: "HDR" })?;
        let header = Header {
            control_id: hdr.v_owned("HDR.control_id").ok_or(PoctError::Missing {
                element: "HDR.control_id",
            })?,
            version_id: hdr.v_owned("HDR.version_id"),
            creation_dttm: hdr.v_owned("HDR.creation_dttm"),
        };
        let body = match kind {
            MessageType::Hello => Body::Hello(hello(root)?),
            MessageType::DeviceStatus => Body::DeviceStatus(status(root)?),
            MessageType::PatientObservations | MessageType::NonPatientObservations => {
                Body::Observations(Observations {
                    non_patient: kind == MessageType::NonPatientObservations,
                    services: root
                        .children_named("SVC")
                        .map(service)
                        .collect::<Result<_, _>>()?,
                })
            }
            MessageType::OperatorList => Body::OperatorList(operators(root)?),
            MessageType::Request => Body::Request(
                root.child("REQ")
                    .and_then(|r| r.v_owned("REQ.request_cd"))
                    .ok_or(PoctError::Missing {
                        element: "REQ.request_cd",
                    })?,
            ),
            MessageType::Ack => Body::Ack(ack(root)?),
            MessageType::EndOfTopic => Body::EndOfTopic(
                root.child("EOT")
                    .and_then(|e| e.v_owned("EOT.topic_cd"))
                    .ok_or(PoctError::Missing {
                        element: "EOT.topic_cd",
                    })?,
            ),
            MessageType::End => {
                Body::End(root.child("TRM").and_then(|t| t.v_owned("TRM.reason_cd")))
            }
        };
        Ok(Message { header, body })
    }

    /// The message as a POCT1-A XML document.
    pub fn encode(&self) -> String {
        let root = self.kind().code();
        let mut w = Writer::new(root);
        w.open("HDR")
            .v("HDR.control_id", &self.header.control_id)
            .v_opt("HDR.version_id", self.header.version_id.as_deref())
            .v_opt("HDR.creation_dttm", self.header.creation_dttm.as_deref())
            .close("HDR");
        match &self.body {
            Body::Hello(h) => encode_hello(&mut w, h),
            Body::DeviceStatus(s) => encode_status(&mut w, s),
            Body::Observations(o) => o.services.iter().for_each(|s| encode_service(&mut w, s)),
            Body::OperatorList(l) => encode_operators(&mut w, l),
            Body::Request(code) => {
                w.open("REQ").v("REQ.request_cd", code).close("REQ");
            }
            Body::Ack(a) => {
                w.open("ACK")
                    .v("ACK.type_cd", a.type_cd.code())
                    .v_opt("ACK.ack_control_id", a.ack_control_id.as_deref())
                    .v_opt("ACK.note_txt", a.note_txt.as_deref())
                    .close("ACK");
            }
            Body::EndOfTopic(topic) => {
                w.open("EOT").v("EOT.topic_cd", topic).close("EOT");
            }
            Body::End(reason) => {
                if let Some(r) = reason {
                    w.open("TRM").v("TRM.reason_cd", r).close("TRM");
                }
            }
        }
        w.finish(root)
    }
}

// Patient ids and values are patient data: a `{:?}` of an event must not log them.
impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("role_cd", &self.role_cd)
            .field("observation_dttm", &self.observation_dttm)
            .field(
                "patient_id",
                &self.patient_id.as_ref().map(|_| "<redacted>"),
            )
            .field("control", &self.control)
            .field("operator_id", &self.operator_id)
            .field("observations", &self.observations)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("observation_id", &self.observation_id)
            .field("units", &self.units)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Header {
    /// `HDR.creation_dttm` as a time, when present and valid.
    pub fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        parse_time(self.creation_dttm.as_deref()?)
    }
}

/// A POCT1-A timestamp (ISO 8601 with offset, fractions allowed).
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

fn count(el: &Element, name: &'static str) -> Result<Option<u64>, PoctError> {
    el.v(name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| PoctError::Invalid {
                element: name,
                why: "expected a non-negative whole number",
            })
        })
        .transpose()
}

fn hello(root: &Element) -> Result<Hello, PoctError> {
    let dev = root
        .child("DEV")
        .ok_or(PoctError::Missing { element: "DEV" })?;
    let dsc = dev.child("DSC");
    let dsc_v = |name: &str| dsc.and_then(|d| d.v_owned(name));
    Ok(Hello {
        device_id: dev.v_owned("DEV.device_id").ok_or(PoctError::Missing {
            element: "DEV.device_id",
        })?,
        vendor_id: dev.v_owned("DEV.vendor_id"),
        model_id: dev.v_owned("DEV.model_id"),
        serial_id: dev.v_owned("DEV.serial_id"),
        manufacturer_name: dev.v_owned("DEV.manufacturer_name"),
        hw_version: dev.v_owned("DEV.hw_version"),
        sw_version: dev.v_owned("DEV.sw_version"),
        device_name: dev.v_owned("DEV.device_name"),
        connection_profile_cd: dsc_v("DSC.connection_profile_cd"),
        topics_supported: dsc
            .map(|d| {
                d.children_named("DSC.topics_supported_cd")
                    .filter_map(|t| t.attr("V"))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        max_message_sz: dsc
            .map(|d| count(d, "DSC.max_message_sz"))
            .transpose()?
            .flatten(),
    })
}

fn encode_hello(w: &mut Writer, h: &Hello) {
    w.open("DEV")
        .v("DEV.device_id", &h.device_id)
        .v_opt("DEV.vendor_id", h.vendor_id.as_deref())
        .v_opt("DEV.model_id", h.model_id.as_deref())
        .v_opt("DEV.serial_id", h.serial_id.as_deref())
        .v_opt("DEV.manufacturer_name", h.manufacturer_name.as_deref())
        .v_opt("DEV.hw_version", h.hw_version.as_deref())
        .v_opt("DEV.sw_version", h.sw_version.as_deref())
        .v_opt("DEV.device_name", h.device_name.as_deref());
    let max = h.max_message_sz.map(|m| m.to_string());
    if h.connection_profile_cd.is_some() || !h.topics_supported.is_empty() || max.is_some() {
        w.open("DSC").v_opt(
            "DSC.connection_profile_cd",
            h.connection_profile_cd.as_deref(),
        );
        for t in &h.topics_supported {
            w.v("DSC.topics_supported_cd", t);
        }
        w.v_opt("DSC.max_message_sz", max.as_deref()).close("DSC");
    }
    w.close("DEV");
}

fn status(root: &Element) -> Result<DeviceStatus, PoctError> {
    let dst = root
        .child("DST")
        .ok_or(PoctError::Missing { element: "DST" })?;
    Ok(DeviceStatus {
        status_dttm: dst.v_owned("DST.status_dttm"),
        observations_qty: count(dst, "DST.observations_qty")?,
        new_observations_qty: count(dst, "DST.new_observations_qty")?,
        new_events_qty: count(dst, "DST.new_events_qty")?,
        condition_cd: dst.v_owned("DST.condition_cd"),
    })
}

fn encode_status(w: &mut Writer, s: &DeviceStatus) {
    let n = |v: Option<u64>| v.map(|v| v.to_string());
    w.open("DST")
        .v_opt("DST.status_dttm", s.status_dttm.as_deref())
        .v_opt("DST.observations_qty", n(s.observations_qty).as_deref())
        .v_opt(
            "DST.new_observations_qty",
            n(s.new_observations_qty).as_deref(),
        )
        .v_opt("DST.new_events_qty", n(s.new_events_qty).as_deref())
        .v_opt("DST.condition_cd", s.condition_cd.as_deref())
        .close("DST");
}

fn operators(root: &Element) -> Result<OperatorList, PoctError> {
    let operators = root
        .children_named("OPR")
        .map(|o| {
            Ok(Operator {
                operator_id: o.v_owned("OPR.operator_id").ok_or(PoctError::Missing {
                    element: "OPR.operator_id",
                })?,
                name: o.v_owned("OPR.name"),
                access: o.child("ACC").and_then(|a| a.v_owned("ACC.method_cd")),
            })
        })
        .collect::<Result<_, PoctError>>()?;
    Ok(OperatorList { operators })
}

fn encode_operators(w: &mut Writer, l: &OperatorList) {
    for o in &l.operators {
        w.open("OPR")
            .v("OPR.operator_id", &o.operator_id)
            .v_opt("OPR.name", o.name.as_deref());
        if let Some(a) = &o.access {
            w.open("ACC").v("ACC.method_cd", a).close("ACC");
        }
        w.close("OPR");
    }
}

fn ack(root: &Element) -> Result<Ack, PoctError> {
    let a = root
        .child("ACK")
        .ok_or(PoctError::Missing { element: "ACK" })?;
    let type_cd = match a.v("ACK.type_cd").map(str::trim) {
        Some("AA") => AckCode::Accept,
        Some("AE") => AckCode::Error,
        Some("AR") => AckCode::Reject,
        Some(_) => {
            return Err(PoctError::Invalid {
                element: "ACK.type_cd",
                why: "expected AA, AE or AR",
            })
        }
        None => {
            return Err(PoctError::Missing {
                element: "ACK.type_cd",
            })
        }
    };
    Ok(Ack {
        type_cd,
        ack_control_id: a.v_owned("ACK.ack_control_id"),
        note_txt: a.v_owned("ACK.note_txt"),
    })
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
