//! labguard's instrument edge: HL7 v2 over MLLP, on mutual TLS for enrolled instruments and
//! on plain TCP for legacy ones that cannot do TLS (allow-listed source addresses, marked
//! as a weaker control).
//!
//! - [`ca`]: labguard's own device CA (rcgen): client certificates for instruments and the
//!   listener's server certificate.
//! - [`enroll`]: binding an instrument to its certificate or addresses, its MSH-3/MSH-4 and
//!   the analytes it may report.
//! - [`server`]: tokio listeners (rustls 0.23, ring, TLS 1.2+), framing via
//!   `labguard_hl7::mllp`, connection caps (labguard-core's admission), frame size limit, frame deadline and idle
//!   timeout, revocation dropping connections.
//! - [`handler`]: per message, parse, identify the sender, map, check plausibility, and
//!   prepare the ACKs; [`writer`]: group commit on a dedicated thread, so AA is sent only
//!   after the message and its results are committed.
//! - [`plausibility`]: pure checks that send a result to review instead of filing it.
//! - [`refusals`]: refused deliveries aggregated into one audit entry per peer and minute.
//! - [`astm`]: ASTM E1381/E1394 connections (labguard-astm's `Receiver`), ACK of the frame
//!   holding the L record only after the transmission is committed; `listen` holds what
//!   every listener shares (admission, registry, refusals, TLS, accept loops).

pub mod astm;
pub mod astm_client;
pub mod ca;
pub mod client;
pub mod enroll;
mod error;
pub mod exposure;
pub mod fhir;
pub mod handler;
mod listen;
pub mod metrics;
pub mod plausibility;
pub mod poct;
pub mod poct_client;
pub mod refusals;
pub mod registry;
pub mod server;
mod verifier;
pub mod writer;

pub use ca::{DeviceCa, Issued};
pub use enroll::{enroll, EnrollRequest};
pub use error::MllpError;
pub use server::{serve, Config, Server};
