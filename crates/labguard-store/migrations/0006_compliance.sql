-- sqlite: -- labguard schema v6 (SQLite): HIPAA compliance. None of this is patient data (counts, dates,
-- postgres: -- labguard schema v6 (PostgreSQL): HIPAA compliance. None of this is patient data (counts, dates,
-- hashes, staff names), so it is stored in the clear; every write is audited through Store.
-- Records are JSON of labguard-compliance types; the columns beside them are for queries.

-- Runs of operations the evidence depends on: audit verify, backup create/verify, restore
-- drills, access reviews, server starts (with their security settings).
CREATE TABLE compliance_runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    ok          BIGINT NOT NULL,
    duration_ms BIGINT,
    detail      TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE INDEX compliance_runs_kind_at ON compliance_runs (kind, at);

-- One row per collected evidence record; sha256 is over the record's canonical JSON.
CREATE TABLE compliance_evidence (
    id           TEXT PRIMARY KEY,
    collector    TEXT NOT NULL,
    status       TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX compliance_evidence_collector ON compliance_evidence (collector, collected_at);

-- Score history for the trend: overall in tenths of a percent, per safeguard as JSON.
CREATE TABLE compliance_scores (
    id          TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    overall_x10 BIGINT NOT NULL,
    safeguards  TEXT NOT NULL
);
CREATE INDEX compliance_scores_at ON compliance_scores (at);

-- Policy and procedure documents, one row per version; kept 6 years after superseded.
CREATE TABLE policy_documents (
    id            TEXT PRIMARY KEY,
    subject       TEXT NOT NULL,
    title         TEXT NOT NULL,
    version       BIGINT NOT NULL,
    superseded_on TEXT,
    record        TEXT NOT NULL,
    UNIQUE (subject, title, version)
);

CREATE TABLE baas (
    id     TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    record TEXT NOT NULL
);

-- Signed by a security officer after re-authentication.
CREATE TABLE attestations (
    id        TEXT PRIMARY KEY,
    subject   TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    record    TEXT NOT NULL
);
CREATE INDEX attestations_subject ON attestations (subject, signed_at);

CREATE TABLE risks (
    id         TEXT PRIMARY KEY,
    threat     TEXT NOT NULL,
    treatment  TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    record     TEXT NOT NULL
);

CREATE TABLE risk_history (
    id        TEXT PRIMARY KEY,
    risk_id   TEXT NOT NULL,
    at        TEXT NOT NULL,
    inherent  BIGINT NOT NULL,
    residual  BIGINT NOT NULL,
    treatment TEXT NOT NULL
);
CREATE INDEX risk_history_risk ON risk_history (risk_id, at);

-- Incident register; descriptions carry no PHI. Kept 6 years after closing.
CREATE TABLE incidents (
    id            TEXT PRIMARY KEY,
    discovered_on TEXT NOT NULL,
    status        TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    record        TEXT NOT NULL
);

-- When a person's employment ended, so "leavers disabled within 1 hour" can be checked
-- against accounts.disabled_at.
CREATE TABLE staff_departures (
    user_id     TEXT NOT NULL REFERENCES staff (id),
    left_at     TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (user_id, left_at)
);
