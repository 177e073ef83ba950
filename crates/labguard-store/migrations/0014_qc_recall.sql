-- labguard schema v14: results recalled by a rejected QC run.

-- When a device's QC run of an analyte is rejected, its patient results of that analyte
-- filed since the last accepted run were measured while the instrument may already have
-- been out of control (or tampered with). Each is recalled for review here: the result
-- row itself is unchanged (it is hashed and audited), and it cannot be signed off until a
-- reviewer releases it. Workflow state only, no patient data.
CREATE TABLE qc_recalls (
    result_id   TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    analyte     TEXT NOT NULL,
    alert_id    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('held', 'released', 'rejected')),
    created_at  TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT
);
CREATE INDEX qc_recalls_state ON qc_recalls (state, created_at);
