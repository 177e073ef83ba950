//! Device vulnerability management for labguard: what runs on a lab's instruments and
//! workstations, which published vulnerabilities touch it, and what to fix first.
//!
//! The crate is pure: parsers take bytes or strings (zip archives as bytes), the clock is
//! passed in, and nothing touches a disk or a socket.
//!
//! The pipeline:
//!
//! 1. [`device::Asset`]: the inventory record (kind, connectivity, PHI, support end,
//!    compensating controls).
//! 2. [`sbom::parse_sbom`]: CycloneDX JSON 1.2–1.6 or XML, or SPDX 2.3 JSON → normalized
//!    components.
//! 3. [`advisory`]: OSV records and archives, NVD CVE records (CPE ranges), the CISA KEV
//!    catalog, CycloneDX and CSAF VEX; [`advisory::AdvisoryDb`] merges re-imports by
//!    (id, modified).
//! 4. [`matching::MatchIndex`]: per-ecosystem version ranges ([`version`]), purl/CPE
//!    matching, alias merge, VEX suppression.
//! 5. [`risk`]: CVSS base score, explained adjustments, deadlines and fleet plans.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use labguard_devices::advisory::{parse_osv, AdvisoryDb};
//! use labguard_devices::device::{Asset, Connectivity, DeviceKind};
//! use labguard_devices::matching::MatchIndex;
//! use labguard_devices::risk::{plan_fleet, RemediationPolicy, RiskWeights};
//! use labguard_devices::sbom::parse_sbom;
//!
//! let sbom = parse_sbom(br#"{"bomFormat":"CycloneDX","specVersion":"1.5",
//!   "components":[{"type":"library","name":"lodash","version":"4.17.15",
//!                  "purl":"pkg:npm/lodash@4.17.15"}]}"#)?;
//! let osv = parse_osv(br#"{"id":"GHSA-p6mc-m468-83gw","modified":"2024-01-01T00:00:00Z",
//!   "aliases":["CVE-2020-8203"],
//!   "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"}],
//!   "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
//!     "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.19"}]}]}]}"#)?;
//! let mut db = AdvisoryDb::new();
//! db.merge(osv.advisories);
//!
//! let mut analyzer = Asset::new("LAB-AN-01", DeviceKind::Analyzer, "Example", "HemaLyzer 5");
//! analyzer.connectivity = Connectivity::Hl7MllpPlain;
//! analyzer.stores_phi = true;
//!
//! let index = MatchIndex::new(db.iter());
//! let report = index.match_device(&analyzer, Some(&sbom), &[]);
//! assert_eq!(report.findings[0].id, "CVE-2020-8203");
//!
//! let now = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
//! let plan = plan_fleet(&[(analyzer, report)], None, &RemediationPolicy::default(),
//!                       &RiskWeights::default(), &Default::default(), now);
//! let item = &plan.items[0];
//! assert_eq!(item.action, "Upgrade lodash from 4.17.15 to 4.17.19 or later");
//! // Base 7.4, +1 networked, +1 plain-TCP MLLP, +1 patient data: critical, 15 days.
//! assert_eq!(item.risk.score, 10.0);
//! assert_eq!((item.due - now).num_days(), 15);
//! # Ok::<(), labguard_devices::Error>(())
//! ```

#![warn(missing_docs)]

pub mod advisory;
pub mod cpe;
pub mod device;
pub mod ecosystem;
mod error;
pub mod exposure;
pub mod matching;
pub mod purl;
pub mod risk;
pub mod sbom;
pub mod version;

pub use error::{Error, Result};
