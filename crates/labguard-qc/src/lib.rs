//! Result integrity for labguard: quality control and delta checks. Pure logic.
//!
//! - [`westgard`]: the Westgard multirules over control-material series (1-2s warning,
//!   1-3s, 2-2s, R-4s, 4-1s, n-x), each violation naming its rule and points.
//! - [`delta`]: a patient's new result against their previous one of the same analyte,
//!   with a default limit table (`data/delta_defaults.json`) a lab can override.
//! - [`chart`]: a Levey-Jennings chart as a self-contained SVG string.
//!
//! Nothing here reads a file, the network or the clock: times come in with the data.

pub mod chart;
pub mod delta;
mod error;
pub mod westgard;

pub use chart::{levey_jennings_svg, ChartOptions};
pub use delta::{Combine, DeltaHold, DeltaOutcome, DeltaRule, DeltaTable, HoldReason, NotChecked};
pub use error::QcError;
pub use westgard::{
    evaluate, evaluate_run, run_rejected, ControlMaterial, ControlSeries, NxCount, PointRef,
    QcPoint, Rule, Scope, Violation, WestgardConfig,
};
