-- labguard schema v17: privacy tunings. A reviewer's false-positive labels change nothing
-- by themselves; a tuning is this explicit record (who, why, role, detector, the change as
-- labguard-privacy's serde JSON), and the scanner applies the records in order.
CREATE TABLE privacy_tunings (
    id         BIGINT PRIMARY KEY,
    role       TEXT NOT NULL,
    detector   TEXT NOT NULL,
    tuning     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
