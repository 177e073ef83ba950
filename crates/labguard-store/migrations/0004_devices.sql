-- sqlite: -- labguard schema v4 (SQLite): device security. Inventory details, SBOMs, advisories (OSV, KEV,
-- postgres: -- labguard schema v4 (PostgreSQL): device security. Inventory details, SBOMs, advisories (OSV, KEV,
-- VEX), findings' first sight, compensating controls, assessments, the network map and
-- exposure scans. None of it is patient data (stored in the clear); every change is audited.

-- The inventory extends the v1 `devices` table. `instrument_id` links an MLLP instrument
-- enrolled in `instrument_enrollments`, whose transport then sets the link's strength.
ALTER TABLE devices ADD COLUMN connectivity TEXT NOT NULL DEFAULT 'none';
ALTER TABLE devices ADD COLUMN network_address TEXT;
ALTER TABLE devices ADD COLUMN owner TEXT;
ALTER TABLE devices ADD COLUMN stores_phi BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN support_ends TEXT;
ALTER TABLE devices ADD COLUMN cpe TEXT;
ALTER TABLE devices ADD COLUMN instrument_id TEXT;
ALTER TABLE devices ADD COLUMN assess_every_months BIGINT NOT NULL DEFAULT 6;
ALTER TABLE devices ADD COLUMN updated_at TEXT;

-- Every change to a device, its controls, links or assessments: who, when, and the
-- record before and after as JSON.
CREATE TABLE device_changes (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    changed_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    UNIQUE (device_id, seq)
);

-- One SBOM per device and firmware version; a re-import of the same pair replaces it.
-- `document` is the normalized SBOM as JSON; the component rows make it queryable.
CREATE TABLE device_sboms (
    id               TEXT PRIMARY KEY,
    device_id        TEXT NOT NULL REFERENCES devices (id),
    firmware_version TEXT NOT NULL,
    format           TEXT NOT NULL,
    spec_version     TEXT NOT NULL,
    serial_number    TEXT,
    sha256           TEXT NOT NULL,
    document         TEXT NOT NULL,
    imported_at      TEXT NOT NULL,
    UNIQUE (device_id, firmware_version)
);

CREATE TABLE sbom_components (
    sbom_id TEXT NOT NULL REFERENCES device_sboms (id),
    idx     BIGINT NOT NULL,
    name    TEXT NOT NULL,
    version TEXT,
    purl    TEXT,
    cpe     TEXT,
    PRIMARY KEY (sbom_id, idx)
);
CREATE INDEX sbom_components_purl ON sbom_components (purl);

-- Advisories (OSV, NVD) keyed by id; (id, modified) decides whether a re-import changes
-- anything. `aliases` is space-separated for lookup, `body` the normalized record as JSON.
CREATE TABLE advisories (
    id          TEXT PRIMARY KEY,
    modified    TEXT,
    source      TEXT NOT NULL,
    aliases     TEXT NOT NULL,
    body        TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

-- CISA KEV catalog entries, replaced by each newer catalog.
CREATE TABLE kev_entries (
    cve_id          TEXT PRIMARY KEY,
    catalog_version TEXT NOT NULL,
    date_added      TEXT,
    body            TEXT NOT NULL
);

-- VEX documents (CycloneDX or CSAF) as imported, keyed by the SHA-256 of their bytes so a
-- second import of the same document is a no-op; they are parsed again when matching.
CREATE TABLE vex_documents (
    id          TEXT PRIMARY KEY,
    format      TEXT NOT NULL,
    statements  BIGINT NOT NULL,
    source_file TEXT NOT NULL,
    body        TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

-- When each finding (device | component | vulnerability id) was first and last seen by
-- matching: the remediation deadline runs from first sight.
CREATE TABLE device_findings (
    finding_key   TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL,
    vulnerability TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL
);
CREATE INDEX device_findings_device ON device_findings (device_id);

CREATE TABLE compensating_controls (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    description TEXT NOT NULL,
    verified_on TEXT,
    created_at  TEXT NOT NULL
);

-- A security assessment: checklist results and evidence as JSON, signed off by the
-- security officer; `next_due` is when the next one is owed.
CREATE TABLE device_assessments (
    id            TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL REFERENCES devices (id),
    performed_at  TEXT NOT NULL,
    assessor      TEXT NOT NULL,
    checklist     TEXT NOT NULL,
    findings      TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    signed_off_by TEXT,
    signed_off_at TEXT,
    next_due      TEXT NOT NULL
);
CREATE INDEX device_assessments_device ON device_assessments (device_id);

-- The network map: device A talks to B over a protocol, carrying patient data or not.
CREATE TABLE network_links (
    id          TEXT PRIMARY KEY,
    from_device TEXT NOT NULL REFERENCES devices (id),
    to_device   TEXT NOT NULL REFERENCES devices (id),
    protocol    TEXT NOT NULL,
    carries_phi BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (from_device, to_device, protocol)
);

-- Open findings per severity, one row per day a fleet report ran: the trend chart.
CREATE TABLE device_finding_counts (
    day      TEXT NOT NULL,
    severity TEXT NOT NULL,
    count    BIGINT NOT NULL,
    PRIMARY KEY (day, severity)
);

-- Results of the automated exposure check, as JSON.
CREATE TABLE exposure_scans (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices (id),
    address    TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    result     TEXT NOT NULL
);
