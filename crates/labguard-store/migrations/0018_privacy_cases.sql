-- labguard schema v18: privacy cases as rows. The case book used to be one JSON value
-- (privacy_scan_state.cases) that grew with the log until SQLite refused it (1 GB). Now a
-- case is one row (its review history and false-positive labels as JSON: they grow with
-- reviewers' steps, not with the log), row-hashed like patient data: each write is audited
-- with the row's SHA-256, so verify catches a case changed outside labguard. A case's
-- alerts are the privacy_alerts rows naming it. The first privacy call after this
-- migration moves an old JSON book into rows (`privacy_cases.rs`, `upgrade_book`).
CREATE TABLE privacy_cases (
    id              TEXT PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE,
    staff_id        TEXT NOT NULL,
    role            TEXT NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    status          TEXT NOT NULL,
    assignee        TEXT,
    history         TEXT NOT NULL,
    false_positives TEXT NOT NULL
);
CREATE INDEX privacy_cases_open ON privacy_cases (staff_id, period_start);

-- Whether an alert counts toward its case's unexplained accesses (first of its kind, not
-- under break-glass), so a case list counts without reading the alerts. Existing rows are
-- set from the alert's JSON as serde_json wrote it.
ALTER TABLE privacy_alerts ADD COLUMN counted BIGINT NOT NULL DEFAULT 1;
UPDATE privacy_alerts SET counted = 0
    WHERE alert NOT LIKE '%"linked_to":null%' OR alert NOT LIKE '%"break_glass":false%';
CREATE INDEX privacy_alerts_case ON privacy_alerts (case_id, seq);
CREATE INDEX privacy_alerts_at ON privacy_alerts (alert_at);
-- No query reads alerts by staff member (cases do), and each index is paid for on every one
-- of the scan's inserts (a quarter of its time at 10 million entries was B-tree inserts).
DROP INDEX privacy_alerts_staff;

-- The audit log's patient pseudonym of each patient row, kept by the scan (derived: verify
-- recomputes every pseudonym), so a scan reads only the patients a page of the log names.
CREATE TABLE privacy_patient_refs (
    patient_ref TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL UNIQUE
);
