//! Acknowledgments: original mode (AA/AE/AR) and enhanced mode accept ACKs (CA/CE/CR).

use chrono::{DateTime, FixedOffset};

use crate::delims::Delimiters;
use crate::encode::MessageWriter;
use crate::escape::escape;
use crate::message::Message;
use crate::problem::{ErrorCode, Location, Problem};
use crate::timestamp::Hl7Timestamp;

/// MSA-1, HL7 table 0008.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// AA: original mode, application accept.
    ApplicationAccept,
    /// AE: original mode, application error (the sender should fix and resend).
    ApplicationError,
    /// AR: original mode, application reject (bad message type, version, processing id…).
    ApplicationReject,
    /// CA: enhanced mode, commit accept (the message is safely stored).
    CommitAccept,
    /// CE: enhanced mode, commit error.
    CommitError,
    /// CR: enhanced mode, commit reject.
    CommitReject,
}

impl AckCode {
    /// The two-letter code.
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::ApplicationAccept => "AA",
            AckCode::ApplicationError => "AE",
            AckCode::ApplicationReject => "AR",
            AckCode::CommitAccept => "CA",
            AckCode::CommitError => "CE",
            AckCode::CommitReject => "CR",
        }
    }

    /// True for the error and reject codes, which carry ERR segments.
    pub fn is_error(self) -> bool {
        !matches!(self, AckCode::ApplicationAccept | AckCode::CommitAccept)
    }
}

/// When a sender wants an acknowledgment (MSH-15/MSH-16, HL7 table 0155).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCondition {
    /// AL: always.
    Always,
    /// NE: never.
    Never,
    /// ER: only on error or reject.
    OnError,
    /// SU: only on success.
    OnSuccess,
}

impl AckCondition {
    fn parse(s: &str) -> AckCondition {
        match s {
            "NE" => AckCondition::Never,
            "ER" => AckCondition::OnError,
            "SU" => AckCondition::OnSuccess,
            // AL, and anything unreadable: acknowledging too often is harmless.
            _ => AckCondition::Always,
        }
    }

    /// Whether to send an acknowledgment for an outcome.
    pub fn wants(self, success: bool) -> bool {
        match self {
            AckCondition::Always => true,
            AckCondition::Never => false,
            AckCondition::OnError => !success,
            AckCondition::OnSuccess => success,
        }
    }
}

/// Which acknowledgment protocol the sender asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckMode {
    /// MSH-15 and MSH-16 empty: one ACK with AA/AE/AR after processing.
    Original,
    /// MSH-15/16 given: an accept ACK (CA/CE/CR) once stored, then possibly an
    /// application ACK.
    Enhanced {
        accept: AckCondition,
        application: AckCondition,
    },
}

impl AckMode {
    /// Reads MSH-15 and MSH-16 of a message.
    pub fn of(msg: &Message<'_>) -> AckMode {
        let msh = msg.msh();
        let (accept, app) = (msh.field(15).text(), msh.field(16).text());
        let (accept, app) = (accept.trim(), app.trim());
        if accept.is_empty() && app.is_empty() {
            return AckMode::Original;
        }
        AckMode::Enhanced {
            accept: AckCondition::parse(accept),
            application: AckCondition::parse(app),
        }
    }
}

/// ERR-4 severity, HL7 table 0516.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
        }
    }
}

/// One ERR segment's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    pub code: ErrorCode,
    pub severity: Severity,
    pub location: Option<Location>,
    /// ERR-7 diagnostic text (v2.5+). It is sent to the other system: put no patient
    /// data here.
    pub diagnostic: Option<String>,
}

impl From<&Problem> for AckError {
    /// An ERR for a mapping problem: its code, its location, and the problem's
    /// description (which never quotes values) as diagnostic. Problems that dropped
    /// nothing are warnings.
    fn from(p: &Problem) -> AckError {
        AckError {
            code: p.kind.error_code(),
            severity: if p.dropped.is_some() {
                Severity::Error
            } else {
                Severity::Warning
            },
            location: Some(p.location.clone()),
            diagnostic: Some(p.to_string()),
        }
    }
}

/// An acknowledgment to build. Control id and time come from the caller (no clock here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack<'x> {
    pub code: AckCode,
    /// MSH-10 of the ACK itself.
    pub control_id: &'x str,
    /// MSH-7 of the ACK.
    pub timestamp: DateTime<FixedOffset>,
    /// MSA-3 text (written for versions before 2.5, where ERR has no diagnostic field).
    pub text: Option<&'x str>,
    pub errors: Vec<AckError>,
}

/// (major, minor, patch) of a version string such as `2.5.1`; unreadable parts are 0.
fn version(v: &str) -> (u32, u32, u32) {
    let mut parts = v.trim().split('.').map(|p| p.parse().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

impl<'x> Ack<'x> {
    /// An acknowledgment without errors.
    pub fn new(code: AckCode, control_id: &'x str, timestamp: DateTime<FixedOffset>) -> Self {
        Ack {
            code,
            control_id,
            timestamp,
            text: None,
            errors: Vec::new(),
        }
    }

    /// Adds an error (or warning) to report.
    pub fn with_error(mut self, e: AckError) -> Self {
        self.errors.push(e);
        self
    }

    /// Builds the ACK for `inbound`: same delimiters and version, sending and receiving
    /// application/facility swapped, MSA-2 = the inbound MSH-10, and ERR segments.
    pub fn build(&self, inbound: &Message<'_>) -> String {
        let msh = inbound.msh();
        let raw = |n: usize| msh.field(n).raw();
        let mut w = MessageWriter::new(inbound.delimiters());
        let ver = msh.field(12).text();
        let trigger = msh.text(9, 2);
        self.write(
            &mut w,
            [raw(5), raw(6), raw(3), raw(4)],
            &trigger,
            raw(11),
            raw(12),
            raw(18),
            &ver,
            raw(10),
        );
        w.finish()
    }

    /// Builds an ACK (usually AR) for input that could not be parsed at all, so the
    /// sender is not left waiting. Standard delimiters; MSA-2 is empty because the
    /// inbound control id is unknown.
    pub fn build_without_message(&self, version: &str) -> String {
        let mut w = MessageWriter::new(Delimiters::STANDARD);
        let ver = escape(version, &Delimiters::STANDARD);
        self.write(&mut w, ["", "", "", ""], "", "P", &ver, "", version, "");
        w.finish()
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        w: &mut MessageWriter,
        apps: [&str; 4],
        trigger: &str,
        processing: &str,
        version_raw: &str,
        charset_raw: &str,
        ver: &str,
        inbound_control_id: &str,
    ) {
        let v = version(ver);
        let d = w.delimiters();
        {
            let mut s = w.msh();
            for a in apps {
                s.raw(a);
            }
            s.field(&Hl7Timestamp::format(&self.timestamp)).field("");
            if v >= (2, 3, 1) {
                s.components(&["ACK", trigger, "ACK"]);
            } else {
                s.components(&["ACK", trigger]);
            }
            s.field(self.control_id).raw(processing).raw(version_raw);
            if !charset_raw.is_empty() {
                s.skip_to(18).raw(charset_raw);
            }
        }
        {
            let mut s = w.segment("MSA");
            s.field(self.code.as_str()).raw(inbound_control_id);
            if let (Some(t), true) = (self.text, v < (2, 5, 0)) {
                s.field(t);
            }
        }
        if self.errors.is_empty() {
            return;
        }
        let (c, sc) = (d.component(), d.subcomponent());
        let erl = |l: &Location| {
            let num = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
            // ERL-4 is the field repetition: our locations always mean the first.
            let rep = l.field.map(|_| 1);
            let parts = [
                escape(&l.segment, &d).into_owned(),
                l.occurrence.to_string(),
                num(l.field),
                num(rep),
                num(l.component),
            ];
            let used = parts
                .iter()
                .rposition(|p| !p.is_empty())
                .map_or(0, |i| i + 1);
            parts.get(..used).unwrap_or_default().join(&c.to_string())
        };
        if v < (2, 5, 0) {
            // Before 2.5, ERR is one segment whose ERR-1 repeats: segment^sequence^
            // field^code&text&HL70357.
            let reps: Vec<String> = self
                .errors
                .iter()
                .map(|e| {
                    let loc = e.location.as_ref().map(|l| {
                        let field = l.field.map(|n| n.to_string()).unwrap_or_default();
                        format!("{}{c}{}{c}{field}", escape(&l.segment, &d), l.occurrence)
                    });
                    let loc = loc.unwrap_or_else(|| format!("{c}{c}"));
                    format!("{loc}{c}{}{sc}{}{sc}HL70357", e.code.code(), e.code.text())
                })
                .collect();
            w.segment("ERR")
                .raw(&reps.join(&d.repetition().to_string()));
            return;
        }
        for e in &self.errors {
            let mut s = w.segment("ERR");
            s.field("");
            match &e.location {
                Some(l) => s.raw(&erl(l)),
                None => s.field(""),
            };
            s.components(&[&e.code.code().to_string(), e.code.text(), "HL70357"])
                .field(e.severity.as_str());
            if let Some(diag) = &e.diagnostic {
                s.skip_to(7).field(diag);
            }
        }
    }
}
