//! labguard's events for a lab's SIEM, as pure functions over values.
//!
//! - **Events** — [`SiemEvent`]: an audit entry ([`SiemEvent::from_audit`]) or a security
//!   alert ([`SiemEvent::from_alert`]) reduced to what a SIEM needs, with patients named
//!   only by the audit log's keyed pseudonym. A patient record's row id never leaves.
//! - **Syslog** — [`Syslog::render`]: one RFC 5424 message (PRI, header, STRUCTURED-DATA
//!   with escaped PARAM-VALUEs, BOM + UTF-8 MSG); [`frame`] and [`Deframer`]: the RFC 5425
//!   (RFC 6587 §3.4.1) octet-counting framing `MSG-LEN SP SYSLOG-MSG`.
//! - **JSON lines** — [`SiemEvent::json_line`].
//!
//! No I/O, no clock: the event carries the time its source recorded, the host name and
//! process id are passed in.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod event;
mod framing;
mod syslog;

pub use event::{AlertRecord, AlertSource, EventKind, Severity, SiemEvent};
pub use framing::{frame, Deframer, FrameError, MAX_FRAME};
pub use syslog::{escape_param_value, unescape_param_value, EscapeError, Syslog, SD_ID};
