-- labguard schema v12: result integrity beyond plausibility (delta checks, QC).

-- Which analyte each filed result is, as a blind index keyed by patient and analyte, so a
-- delta check finds the patient's previous result of that analyte inside the filing
-- transaction without decrypting the patient's whole history. The key is per patient:
-- it never shows that two patients had the same test. No foreign key: a lookup, never
-- trusted alone (the result it names is decrypted and checked before use).
CREATE TABLE result_series (
    result_id    TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL,
    series_bidx  {blob} NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX result_series_lookup ON result_series (series_bidx, created_at);

-- Control materials the lab runs (not patient data): the target mean and SD per lot,
-- level and analyte that the Westgard rules measure against.
CREATE TABLE qc_materials (
    lot        TEXT NOT NULL,
    level      TEXT NOT NULL,
    analyte    TEXT NOT NULL,
    units      TEXT NOT NULL,
    mean       TEXT NOT NULL,
    sd         TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (lot, level, analyte)
);

-- Every control measurement an instrument reported (not patient data), with the run it
-- belongs to and what the rules said of it when it was filed.
CREATE TABLE qc_observations (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    lot         TEXT NOT NULL,
    level       TEXT NOT NULL,
    analyte     TEXT NOT NULL,
    units       TEXT NOT NULL,
    value       TEXT NOT NULL,
    run         BIGINT NOT NULL,
    observed_at TEXT NOT NULL,
    -- Comma-separated Westgard rule codes this point violated when filed ('' for none).
    violations  TEXT NOT NULL,
    rejects     BIGINT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX qc_observations_series ON qc_observations (analyte, lot, level, observed_at);
