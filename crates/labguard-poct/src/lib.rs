//! POCT1-A2 (CLSI POCT01-A2) device messaging for labguard: glucose meters and their
//! docking stations talking to the lab. Sans-I/O: bytes and times in, bytes and events
//! out; the caller owns sockets, storage and the clock.
//!
//! - [`xml`]: a bounded XML reader (size, depth, element, attribute and length limits;
//!   no DTD, so no external or expanding entities) and the writer the encoders share.
//! - [`message`]: the typed messages (HEL, DST, OBS.R01/R02, OPL, REQ, ACK, EOT, END).
//! - [`framing`]: where one message ends on a stream (the root element closes).
//! - [`host`]: [`HostConversation`], the host side of one conversation, which
//!   acknowledges observations only after the caller has committed them.
//! - [`mapping`]: observations to labguard results (patient) or QC observations.
//! - [`sim`]: [`DeviceSim`], a meter for tests and the demo.

mod error;
pub mod framing;
pub mod host;
pub mod mapping;
pub mod message;
pub mod sim;
pub mod xml;

pub use error::PoctError;
pub use framing::{FramingError, Splitter};
pub use host::{CommitError, DeviceState, Finish, HostConfig, HostConversation, HostEvent, Output};
pub use mapping::{
    map_observations, AnalyteMap, MapProblem, Mapped, Measured, PatientObservation, QcObservation,
};
pub use message::{
    Ack, AckCode, Body, Control, DeviceStatus, Header, Hello, Message, MessageType, Observation,
    Observations, Operator, OperatorList, Reagent, Service,
};
pub use sim::DeviceSim;
pub use xml::Limits;
