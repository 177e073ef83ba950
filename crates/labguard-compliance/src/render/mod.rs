//! Renderers of a [`crate::report::Report`]: self-contained HTML with inline SVG charts, PDF
//! (base-14 Helvetica, vector bar charts) and OSCAL 1.1 `assessment-results` JSON.

pub mod html;
pub mod oscal;
pub mod pdf;
