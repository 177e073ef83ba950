//! ASTM E1381/E1394 (CLSI LIS1-A / LIS2-A2) for labguard: what older analyzers send
//! over serial lines and TCP, read safely.
//!
//! Pure library: no sockets, files or clock. The link state machines take the time as a
//! [`Duration`](std::time::Duration) since an origin the caller picks; ids come from a
//! resolver closure. Parsers of outside input never panic, and nothing here puts values
//! into errors, problems or `Display` output, because those end up in logs.
//!
//! # Layers
//!
//! 1. **Low level (E1381)**: [`Receiver`] and [`Sender`], fed with bytes and the time,
//!    returning [`Event`]s; [`frame`] holds the framing and checksum. The receiver does
//!    not acknowledge a message's last frame itself: it emits [`Event::Message`] and
//!    waits for [`Receiver::accept`] (after the caller committed it) or
//!    [`Receiver::refuse`]. Memory is bounded by [`Limits`].
//! 2. **Records (E1394)**: [`parse`] a transmission (the messages' texts joined) into
//!    zero-copy [`Record`]s with the delimiters its H record declares; [`encode`] writes
//!    records and framed transmissions.
//! 3. **Mapping**: [`Transmission::to_records`] into `labguard-core` records
//!    ([`LabRecords`], shared with labguard-hl7) plus [`QcObservation`]s, with
//!    [`Problem`]s that name record type, position and field only.
//!
//! # Wiring into a listener
//!
//! Per connection, a [`Receiver`]: feed it what arrives and write out every
//! [`Event::Send`]; call [`Receiver::poll`] at [`Receiver::deadline`]. Collect each
//! [`Event::Message`] into the transmission: accept messages before the L record at once
//! (they are only buffered), and the one holding the L record only after [`parse`],
//! [`Transmission::to_records`] and the store's commit succeeded; refuse it if the commit
//! failed (the instrument then sends it again). [`Event::EndOfTransmission`] or
//! [`Event::Aborted`] without a committed L record means the transmission is incomplete:
//! drop what was collected.
//!
//! ```
//! use std::time::Duration;
//! use labguard_astm::{encode, parse, Event, Limits, MappingOptions, Receiver};
//!
//! let records = [
//!     "H|\\^&|||ANALYZER^1.0|||||||P|1394-97|20240102030405\r",
//!     "P|1|MRN1\r",
//!     "O|1|S-1||^^^2345-7|R||20240102020000\r",
//!     "R|1|^^^2345-7|95|mg/dL|70 to 99|N||F||||20240102021500\r",
//!     "L|1|N\r",
//! ];
//! let mut rx = Receiver::new(Limits::default());
//! let mut text = Vec::new();
//! let now = Duration::ZERO;
//! assert_eq!(rx.feed(b"\x05", now), [Event::Send(b"\x06".to_vec())]); // ENQ → ACK
//! for frame in encode::transmission(&records) {
//!     // The sender waits for each reply; here every frame ends a message.
//!     for ev in rx.feed(&frame, now) {
//!         if let Event::Message(m) = ev {
//!             text.extend_from_slice(&m);
//!             rx.accept(now); // in a listener: after the commit, for the L record
//!         }
//!     }
//! }
//! assert_eq!(rx.feed(b"\x04", now), [Event::EndOfTransmission]);
//! let t = parse(&text).unwrap();
//! assert_eq!(t.header().sender_name().as_deref(), Some("ANALYZER"));
//! let mut n = 0u128;
//! let mapped = t.to_records(&MappingOptions::default(), &mut |_| {
//!     n += 1;
//!     Some(uuid::Uuid::from_u128(n))
//! });
//! assert_eq!(mapped.value.lab.results.len(), 1);
//! assert_eq!(mapped.value.lab.results[0].value, "95");
//! ```

pub mod encode;
mod error;
pub mod frame;
mod link;
mod map;
mod problem;
mod qc;
mod receiver;
mod record;
mod sender;
mod text;

pub use error::{ParseError, ParseProblem};
pub use labguard_hl7::LabRecords;
pub use link::{Abort, Event, Limits, Role, Timeouts};
pub use map::{AstmRecords, IdFor, MappingOptions};
pub use problem::{Dropped, Location, Mapped, Problem, ProblemKind};
pub use qc::QcObservation;
pub use receiver::Receiver;
pub use record::{parse, Field, Header, Record, RecordType, Repeat, Transmission, Value};
pub use sender::{Sender, MAX_ATTEMPTS, MAX_LINE_REFUSALS};
pub use text::{escape, unescape, Delimiters};
