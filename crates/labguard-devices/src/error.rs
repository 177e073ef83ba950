use thiserror::Error;

/// Why an input could not be read. Parsers of outside input return these instead of
/// panicking; the message says which document or field was at fault and why.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not valid JSON of the expected shape.
    #[error("{what}: invalid JSON: {source}")]
    Json {
        /// The kind of document being read, e.g. "CycloneDX SBOM".
        what: &'static str,
        /// serde_json's message carries the line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The document is well-formed but not a kind this crate reads.
    #[error("unrecognized document: {0}")]
    UnknownFormat(String),
    /// The document names a format version this crate does not read.
    #[error("unsupported {format} version {version:?}")]
    UnsupportedVersion {
        /// Format name.
        format: &'static str,
        /// The version the document declares.
        version: String,
    },
    /// A required field is missing or a value is out of its domain.
    #[error("{what}: {reason}")]
    Invalid {
        /// The document or field at fault.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A zip archive that is unreadable, over a limit, or holds an invalid entry (the
    /// message names the entry; nothing of the archive is imported).
    #[error("zip archive: {0}")]
    Zip(String),
    /// A version string that its ecosystem's grammar rejects.
    #[error("invalid {scheme} version {input:?}: {reason}")]
    Version {
        /// The versioning scheme, e.g. "PEP 440".
        scheme: &'static str,
        /// The offending version string.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A package URL that does not follow the purl specification.
    #[error("invalid package URL {input:?}: {reason}")]
    Purl {
        /// The offending purl.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A CPE name that is neither a CPE 2.3 formatted string nor a 2.2 URI.
    #[error("invalid CPE {input:?}: {reason}")]
    Cpe {
        /// The offending CPE.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A CVSS vector the `cvss` crate could not parse.
    #[error("invalid CVSS vector {vector:?}: {reason}")]
    Cvss {
        /// The offending vector.
        vector: String,
        /// The parser's message.
        reason: String,
    },
}

impl Error {
    pub(crate) fn json(what: &'static str, source: serde_json::Error) -> Self {
        Error::Json { what, source }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
