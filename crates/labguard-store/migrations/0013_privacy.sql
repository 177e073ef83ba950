-- labguard schema v13: privacy monitoring from the audit log (labguard-privacy).
-- Nothing here holds PHI in the clear: patients appear as the audit log's pseudonym or
-- their row id, staff surnames and addresses as blind-index keys.

-- One row: the scanner's state (cursor inside, serde JSON) and the lab's case book. The
-- scan takes this row's lock first, so two nodes scanning at once run one after the other
-- and the second sees the first's cursor.
CREATE TABLE privacy_scan_state (
    id         BIGINT PRIMARY KEY,
    scan_cursor BIGINT NOT NULL,
    examined   BIGINT NOT NULL,
    state      TEXT NOT NULL,
    cases      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO privacy_scan_state (id, scan_cursor, examined, state, cases, updated_at)
    VALUES (1, -1, 0, '', '', '1970-01-01T00:00:00Z');

-- One row per alert raised (detector per access, or volume bucket), pseudonymous.
CREATE TABLE privacy_alerts (
    alert_id    TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    detector    TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    patient_ref TEXT,
    alert_at    TEXT NOT NULL,
    case_id     BIGINT,
    alert       TEXT NOT NULL
);
CREATE INDEX privacy_alerts_staff ON privacy_alerts (staff_id, alert_at);

-- HR import: the blind keys of a staff member's surname and address, their department,
-- their usual shift (JSON) and their own patient record, if they are a patient too.
CREATE TABLE privacy_staff_profiles (
    staff_id         TEXT PRIMARY KEY,
    surname_key      {blob},
    address_key      {blob},
    department       TEXT,
    shift            TEXT,
    own_patient_id   TEXT,
    updated_at       TEXT NOT NULL
);

-- Restricted (VIP, employee) and deceased flags per patient row.
CREATE TABLE privacy_patient_flags (
    patient_id TEXT PRIMARY KEY REFERENCES patients (id),
    restricted BIGINT NOT NULL,
    deceased   BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
