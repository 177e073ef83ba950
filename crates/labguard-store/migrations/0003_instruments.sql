-- sqlite: -- labguard schema v3 (SQLite): instruments delivering HL7 v2 over MLLP.
-- postgres: -- labguard schema v3 (PostgreSQL): instruments delivering HL7 v2 over MLLP.
-- Enrollments and alerts are not patient data (stored in the clear, every change audited);
-- the original messages and held results are, so their content columns are ciphertext.

-- An instrument allowed to deliver results: bound to its client certificate (mutual TLS)
-- or, for legacy instruments, to source addresses on the plain-TCP port (a weaker control).
CREATE TABLE instrument_enrollments (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    -- MSH-3 / MSH-4 every message from this instrument must carry.
    sending_app      TEXT NOT NULL,
    sending_facility TEXT NOT NULL,
    -- Comma-separated LOINC codes it is registered to report.
    analytes         TEXT NOT NULL,
    transport        TEXT NOT NULL CHECK (transport IN ('tls', 'legacy-tcp')),
    cert_serial      TEXT,
    -- Lowercase hex SHA-256 of the client certificate (DER).
    cert_fingerprint TEXT UNIQUE,
    -- Comma-separated IP addresses allowed on the plain-TCP port.
    allow_from       TEXT NOT NULL,
    enrolled_at      TEXT NOT NULL,
    revoked_at       TEXT
);

-- Every accepted message, original bytes encrypted. (device_id, control_id) is how a
-- resend is recognised and answered with the first outcome instead of a second copy.
CREATE TABLE inbound_messages (
    id            TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL REFERENCES instrument_enrollments (id),
    control_id    TEXT NOT NULL,
    key_version   BIGINT NOT NULL,
    raw           {blob} NOT NULL,
    raw_sha256    TEXT NOT NULL,
    ack_code      TEXT NOT NULL,
    results_filed BIGINT NOT NULL,
    results_held  BIGINT NOT NULL,
    received_at   TEXT NOT NULL,
    UNIQUE (device_id, control_id)
);
CREATE INDEX inbound_messages_key_version ON inbound_messages (key_version);

-- Results that failed a plausibility check, kept out of `results` until reviewed.
-- patient_id may name no stored patient (an MRN the lab does not know), so no foreign key.
CREATE TABLE held_results (
    id                TEXT PRIMARY KEY,
    patient_id        TEXT NOT NULL,
    message_id        TEXT NOT NULL REFERENCES inbound_messages (id),
    device_id         TEXT NOT NULL,
    key_version       BIGINT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('held', 'released', 'rejected')),
    -- Comma-separated reason codes (no values), e.g. `outside-physiologic-limits`.
    reasons           TEXT NOT NULL,
    result            {blob} NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX held_results_state ON held_results (state);
CREATE INDEX held_results_key_version ON held_results (key_version);

-- Alerts for the lab (held results, refused deliveries). Reason codes only, no values.
CREATE TABLE instrument_alerts (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    device_id       TEXT,
    message_id      TEXT,
    held_result_id  TEXT,
    detail          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    acknowledged_at TEXT
);
CREATE INDEX instrument_alerts_open ON instrument_alerts (acknowledged_at);
