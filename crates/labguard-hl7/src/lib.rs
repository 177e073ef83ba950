//! HL7 v2 for labguard: what lab instruments and LIS/EHR interfaces send, read safely.
//!
//! Pure library: no sockets, files or clock (callers pass time and ids in). Parsers of
//! outside input never panic, and nothing here puts field values into errors or
//! problem messages, because those end up in logs and the values are patient data.
//!
//! # Layers
//!
//! 1. [`Message`]: zero-copy structural parser for v2.3–2.8 (any delimiters declared in
//!    MSH-1/MSH-2, repetitions, components, sub-components, CR/LF/CRLF segment ends, a
//!    UTF-8 BOM, Z-segments), with [`unescape`]/[`escape`] and an encoder
//!    ([`Message::encode`], [`MessageWriter`]). For raw bytes use [`decode`] (lossless
//!    UTF-8 / ISO-8859-1) or [`Message::parse_bytes`] (UTF-8 only).
//! 2. [`segments`]: typed views (MSH, PID, PV1, ORC, OBR, OBX, NTE, SPM) and
//!    [`LabReport`]: an ORU^R01 or OUL^R22 grouped into patients, orders, specimens and
//!    observations.
//! 3. [`LabReport::to_records`]: mapping into `labguard-core` records. Ids come from a
//!    resolver closure the caller passes ([`IdFor`] says what each id is for), so the
//!    store can reuse the ids of known patients, specimens and orders.
//! 4. [`Ack`]: original (AA/AE/AR) and enhanced (CA/CE/CR) acknowledgments with ERR
//!    segments built from [`Problem`]s.
//! 5. [`mllp`]: a streaming MLLP frame decoder with a size limit, and [`mllp::frame`].
//!
//! # Wiring into a listener
//!
//! Per connection: feed received bytes to an [`mllp::MllpDecoder`]; on an `Err` frame,
//! log it (it holds only offsets) and close the connection. For each frame:
//!
//! 1. [`decode`] the bytes (UTF-8, or ISO-8859-1 for 8-bit senders, losslessly);
//! 2. [`Message::parse`]; on error answer [`Ack::build_without_message`] with AR;
//! 3. [`AckMode::of`] tells whether the sender wants an enhanced-mode accept ACK
//!    (CA once stored) and/or an application ACK;
//! 4. [`LabReport::read`]; an `Err` is an unsupported message type: AR, code 200;
//! 5. [`LabReport::to_records`] with an id resolver backed by the store; persist
//!    `value`, and turn `problems` into ERR segments with [`AckError::from`]
//!    (AA when [`Mapped::is_complete`], else AE);
//! 6. [`Ack::build`] and send it back through [`mllp::frame`] (re-encoded with
//!    [`encode_latin1`] when step 1 returned an owned string).
//!
//! # Example
//!
//! ```
//! use chrono::{FixedOffset, TimeZone};
//! use labguard_hl7::{Ack, AckCode, AckError, LabReport, MappingOptions, Message};
//!
//! let text = "MSH|^~\\&|LIS|LAB|LG|CLINIC|20240102030405+0100||ORU^R01^ORU_R01|MSG1|P|2.5.1\r\
//!             PID|1||MRN-1^^^LAB^MR||Doe^Jane||19800102|F\r\
//!             OBR|1|PL1|FI1|2345-7^Glucose^LN|||20240102020000+0100|||||||||^Smith^Ann\r\
//!             OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99|N|||F|||20240102021500+0100\r";
//! let msg = Message::parse(text).unwrap();
//! let report = LabReport::read(&msg).unwrap();
//! let mapped = report.value.to_records(&MappingOptions::default(), &mut |_| uuid::Uuid::new_v4());
//! assert_eq!(mapped.value.results.len(), 1);
//! assert_eq!(mapped.value.results[0].value, "95");
//!
//! let now = FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2024, 1, 2, 3, 5, 0).unwrap();
//! let mut ack = Ack::new(AckCode::ApplicationAccept, "ACK1", now);
//! if !mapped.problems.is_empty() {
//!     ack.code = AckCode::ApplicationError;
//!     ack.errors = mapped.problems.iter().map(AckError::from).collect();
//! }
//! assert!(ack.build(&msg).contains("MSA|AA|MSG1"));
//! ```

mod ack;
mod charset;
mod delims;
mod domain;
mod encode;
mod error;
mod escape;
mod message;
pub mod mllp;
mod problem;
mod report;
mod scan;
pub mod segments;
mod timestamp;
pub mod types;

pub use ack::{Ack, AckCode, AckCondition, AckError, AckMode, Severity};
pub use charset::{decode, encode_latin1};
pub use delims::Delimiters;
pub use domain::{ControlResult, IdFor, LabRecords, MappingOptions};
pub use encode::{MessageWriter, SegmentWriter};
pub use error::{ParseError, ParseProblem};
pub use escape::{escape, unescape};
pub use message::{Component, Field, Message, Repetition, Segment};
pub use problem::{ErrorCode, Location, Mapped, Problem, ProblemKind, Record};
pub use report::{LabReport, Observation, OrderGroup, PatientGroup, ReportKind, SpecimenGroup};
pub use timestamp::{Hl7Timestamp, Precision, TimestampError};
