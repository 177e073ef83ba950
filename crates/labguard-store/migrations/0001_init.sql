-- sqlite: -- labguard schema v1 (SQLite). Columns holding patient data are BLOBs of AES-256-GCM
-- postgres: -- labguard schema v1 (PostgreSQL). Columns holding patient data are BLOBs of AES-256-GCM
-- ciphertext (see labguard-crypto); *_bidx columns are keyed blind indexes for lookups.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE keys (
    purpose    TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    wrapped    {blob}    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (purpose, version)
);

CREATE TABLE staff (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL,
    email        TEXT NOT NULL,
    active       BIGINT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    model        TEXT NOT NULL,
    serial       TEXT NOT NULL,
    firmware     TEXT NOT NULL,
    location     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE patients (
    id            TEXT PRIMARY KEY,
    key_version   BIGINT NOT NULL,
    mrn_bidx      {blob} NOT NULL UNIQUE,
    name_dob_bidx {blob} NOT NULL,
    mrn           {blob} NOT NULL,
    family        {blob} NOT NULL,
    given         {blob} NOT NULL,
    birth_date    {blob} NOT NULL,
    sex           {blob} NOT NULL,
    phone         {blob} NOT NULL,
    email         {blob} NOT NULL,
    address       {blob} NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX patients_name_dob ON patients (name_dob_bidx);
CREATE INDEX patients_key_version ON patients (key_version);

CREATE TABLE specimens (
    id             TEXT PRIMARY KEY,
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    key_version    BIGINT NOT NULL,
    accession_bidx {blob} NOT NULL UNIQUE,
    accession      {blob} NOT NULL,
    collector      {blob} NOT NULL,
    collected_at   {blob} NOT NULL,
    container      {blob} NOT NULL,
    body_site      {blob} NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX specimens_patient ON specimens (patient_id);
CREATE INDEX specimens_key_version ON specimens (key_version);

CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    patient_id        TEXT NOT NULL REFERENCES patients (id),
    specimen_id       TEXT REFERENCES specimens (id),
    key_version       BIGINT NOT NULL,
    ordering_provider {blob} NOT NULL,
    tests             {blob} NOT NULL,
    placed_at         {blob} NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX orders_patient ON orders (patient_id);
CREATE INDEX orders_key_version ON orders (key_version);

CREATE TABLE results (
    id                TEXT PRIMARY KEY,
    patient_id        TEXT NOT NULL REFERENCES patients (id),
    specimen_id       TEXT REFERENCES specimens (id),
    order_id          TEXT REFERENCES orders (id),
    key_version       BIGINT NOT NULL,
    -- Workflow state, not patient data: lets a pathologist list what awaits verification.
    status            TEXT NOT NULL,
    performing_device TEXT,
    verified_by       TEXT,
    analyte           {blob} NOT NULL,
    analyte_name      {blob} NOT NULL,
    value             {blob} NOT NULL,
    units             {blob} NOT NULL,
    reference_range   {blob} NOT NULL,
    abnormal_flag     {blob} NOT NULL,
    observed_at       {blob} NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX results_patient ON results (patient_id);
CREATE INDEX results_specimen ON results (specimen_id);
CREATE INDEX results_key_version ON results (key_version);

-- RFC 9162 Merkle log. seq is the leaf index: dense, 0-based, assigned under the head lock.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    entry     {blob} NOT NULL,
    leaf_hash {blob} NOT NULL
);

-- One row: the tree size and its compact frontier, locked by every appending transaction
-- so all nodes share one order with no gaps.
CREATE TABLE audit_head (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    size     BIGINT NOT NULL,
    frontier {blob} NOT NULL,
    last_checkpoint_size BIGINT NOT NULL,
    last_checkpoint_at   TEXT NOT NULL
);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Progress of a key rotation, so an interrupted one resumes where it stopped.
CREATE TABLE key_rotation (
    to_version  BIGINT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT
);
