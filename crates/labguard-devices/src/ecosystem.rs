//! Package ecosystems and how their names and versions are compared.

use std::fmt;

use crate::purl::Purl;
use crate::version::VersionScheme;

/// A package ecosystem, named as OSV names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// npm (JavaScript).
    Npm,
    /// PyPI (Python).
    PyPI,
    /// Maven Central and other Maven repositories (Java).
    Maven,
    /// crates.io (Rust).
    CratesIo,
    /// Go modules.
    Go,
    /// NuGet (.NET).
    NuGet,
    /// RubyGems.
    RubyGems,
    /// Packagist (PHP Composer).
    Packagist,
    /// Debian packages (any release).
    Debian,
    /// Ubuntu packages (any release).
    Ubuntu,
    /// Alpine packages.
    Alpine,
    /// Anything else, by its OSV or purl name.
    Other(String),
}

impl Ecosystem {
    /// Reads an OSV `affected[].package.ecosystem` value. A release suffix such as
    /// `Debian:12` or `Ubuntu:22.04:LTS` is dropped: matching is by package and version.
    pub fn from_osv(name: &str) -> Ecosystem {
        let base = name.split(':').next().unwrap_or(name).trim();
        match base.to_ascii_lowercase().as_str() {
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::PyPI,
            "maven" => Ecosystem::Maven,
            "crates.io" | "cargo" => Ecosystem::CratesIo,
            "go" | "golang" => Ecosystem::Go,
            "nuget" => Ecosystem::NuGet,
            "rubygems" | "gem" => Ecosystem::RubyGems,
            "packagist" | "composer" => Ecosystem::Packagist,
            "debian" => Ecosystem::Debian,
            "ubuntu" => Ecosystem::Ubuntu,
            "alpine" | "apk" => Ecosystem::Alpine,
            other => Ecosystem::Other(other.to_string()),
        }
    }

    /// The ecosystem of a package URL's type.
    pub fn from_purl(p: &Purl) -> Ecosystem {
        match p.ty.as_str() {
            "deb" => match p.namespace.as_deref() {
                Some("ubuntu") => Ecosystem::Ubuntu,
                _ => Ecosystem::Debian,
            },
            other => Ecosystem::from_osv(other),
        }
    }

    /// How versions are ordered in this ecosystem.
    pub fn version_scheme(&self) -> VersionScheme {
        match self {
            Ecosystem::Npm | Ecosystem::CratesIo | Ecosystem::Go | Ecosystem::NuGet => {
                VersionScheme::SemVer
            }
            Ecosystem::PyPI => VersionScheme::Pep440,
            Ecosystem::Maven => VersionScheme::Maven,
            Ecosystem::Debian | Ecosystem::Ubuntu => VersionScheme::Debian,
            _ => VersionScheme::Generic,
        }
    }

    /// A name in the form used for lookups: case-folded, and PEP 503-normalized for PyPI
    /// (runs of `-`, `_`, `.` become one `-`).
    pub fn normalize_name(&self, name: &str) -> String {
        let lower = name.trim().to_lowercase();
        if *self != Ecosystem::PyPI {
            return lower;
        }
        let mut out = String::with_capacity(lower.len());
        let mut in_sep = false;
        for c in lower.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !in_sep {
                    out.push('-');
                }
                in_sep = true;
            } else {
                out.push(c);
                in_sep = false;
            }
        }
        out
    }
}

impl serde::Serialize for Ecosystem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ecosystem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Ecosystem::from_osv(&s))
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Maven => "Maven",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Go => "Go",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Other(s) => s,
        })
    }
}
