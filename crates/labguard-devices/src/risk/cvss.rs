//! CVSS v2, v3.0, v3.1 and v4.0 vectors, parsed and scored by RustSec's `cvss` crate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Qualitative severity (CVSS v3/v4 bands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 0.0
    None,
    /// 0.1–3.9
    Low,
    /// 4.0–6.9
    Medium,
    /// 7.0–8.9
    High,
    /// 9.0–10.0
    Critical,
}

impl Severity {
    /// The band a 0–10 score falls in.
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// CVSS version of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    /// 2.0
    V2,
    /// 3.0
    V3_0,
    /// 3.1
    V3_1,
    /// 4.0
    V4_0,
}

/// How the vulnerability is reached (the `AV` metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttackVector {
    /// Over a network, including the internet.
    Network,
    /// From the same network segment.
    Adjacent,
    /// With local access.
    Local,
    /// With physical access.
    Physical,
}

/// A parsed and scored CVSS vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// Version.
    pub version: CvssVersion,
    /// The vector, normalized with its version prefix.
    pub vector: String,
    /// Score: the base score for v2/v3; for v4 the CVSS-B/BT/BE/BTE score the vector's
    /// metric groups give.
    pub score: f64,
    /// Band of `score`.
    pub severity: Severity,
    /// The `AV` metric.
    pub attack_vector: Option<AttackVector>,
}

/// Parses a CVSS vector. Vectors without a version prefix (as CycloneDX ratings write
/// them) are read under `hint`: `CVSS_V2`/`CVSSv2` for v2, `CVSSv4`/`CVSS_V4` for v4, and
/// v3.1 otherwise.
pub fn parse_cvss(vector: &str, hint: Option<&str>) -> Result<CvssScore> {
    let t = vector.trim();
    let err = |reason: String| Error::Cvss {
        vector: t.chars().take(200).collect(),
        reason,
    };
    if t.len() > 512 {
        return Err(err("longer than 512 bytes".into()));
    }
    let normalized = if t.starts_with("CVSS:") {
        t.to_string()
    } else {
        let h = hint.unwrap_or("").to_ascii_uppercase().replace('_', "");
        if h.contains("V2") {
            t.strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .unwrap_or(t)
                .to_string()
        } else if h.contains("V4") {
            format!("CVSS:4.0/{t}")
        } else if h.contains("V30") {
            format!("CVSS:3.0/{t}")
        } else {
            format!("CVSS:3.1/{t}")
        }
    };
    let parsed = cvss::Cvss::from_str(&normalized).map_err(|e| err(e.to_string()))?;
    // The parser accepts vectors with base metrics missing; a partial vector has no
    // defined score, so refuse it.
    let present: Vec<&str> = normalized
        .split('/')
        .filter_map(|m| m.split(':').next())
        .collect();
    let required: &[&str] = match &parsed {
        cvss::Cvss::CvssV20(_) => &["AV", "AC", "Au", "C", "I", "A"],
        cvss::Cvss::CvssV40(_) => &[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ],
        _ => &["AV", "AC", "PR", "UI", "S", "C", "I", "A"],
    };
    if let Some(missing) = required.iter().find(|m| !present.contains(m)) {
        return Err(err(format!("base metric {missing} is missing")));
    }
    let version = match &parsed {
        cvss::Cvss::CvssV20(_) => CvssVersion::V2,
        cvss::Cvss::CvssV30(_) => CvssVersion::V3_0,
        cvss::Cvss::CvssV31(_) => CvssVersion::V3_1,
        cvss::Cvss::CvssV40(_) => CvssVersion::V4_0,
        _ => return Err(err("unsupported CVSS version".into())),
    };
    let score = match &parsed {
        cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => v.base_score().value(),
        other => other.score(),
    };
    if !(0.0..=10.0).contains(&score) || score.is_nan() {
        return Err(err(format!("score {score} out of range")));
    }
    let attack_vector = normalized.split('/').find_map(|m| match m {
        "AV:N" => Some(AttackVector::Network),
        "AV:A" => Some(AttackVector::Adjacent),
        "AV:L" => Some(AttackVector::Local),
        "AV:P" => Some(AttackVector::Physical),
        _ => None,
    });
    Ok(CvssScore {
        version,
        vector: normalized,
        score,
        severity: Severity::from_score(score),
        attack_vector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(v: &str) -> (f64, Severity) {
        let s = parse_cvss(v, None).unwrap();
        (s.score, s.severity)
    }

    #[test]
    fn v31_reference_vectors() {
        // Scores as published by NVD / the FIRST calculator.
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            (10.0, Severity::Critical)
        ); // Log4Shell
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            (9.8, Severity::Critical)
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N"),
            (7.5, Severity::High)
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N"),
            (6.8, Severity::Medium)
        );
        assert_eq!(
            score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"),
            (5.5, Severity::Medium)
        );
        assert_eq!(
            score("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
            (1.6, Severity::Low)
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"),
            (0.0, Severity::None)
        );
        assert_eq!(
            score("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"),
            (8.8, Severity::High)
        );
    }

    #[test]
    fn v40_reference_vectors() {
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            (9.3, Severity::Critical)
        );
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"),
            (10.0, Severity::Critical)
        );
        assert_eq!(
            score("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            (8.5, Severity::High)
        );
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"),
            (0.0, Severity::None)
        );
        let s = parse_cvss(
            "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            None,
        )
        .unwrap();
        assert_eq!(
            (s.version, s.attack_vector),
            (CvssVersion::V4_0, Some(AttackVector::Adjacent))
        );
    }

    #[test]
    fn prefixless_vectors_use_the_hint() {
        let s = parse_cvss("AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", Some("CVSSv31")).unwrap();
        assert_eq!((s.version, s.score), (CvssVersion::V3_1, 7.5));
        let s = parse_cvss("AV:N/AC:L/Au:N/C:P/I:P/A:P", Some("CVSS_V2")).unwrap();
        assert_eq!((s.version, s.score), (CvssVersion::V2, 7.5));
        for bad in ["", "CVSS:3.1/AV:X", "CVSS:9.9/AV:N", "AV:N/AC:L", "garbage"] {
            assert!(parse_cvss(bad, None).is_err(), "{bad}");
        }
    }
}
