-- labguard schema v9: TLS private keys sealed by the key hierarchy.
-- The device CA key and the MLLP and HTTPS server keys used to be plain PEM files in the
-- data dir. They live here now, sealed with the active data key like any other secret
-- (FieldRef sealed_keys/<name>/key_pem; the KEK wraps the data key), so they travel in
-- backups, are re-sealed by `keys rotate`, and never sit on disk in clear.
CREATE TABLE sealed_keys (
    name        TEXT    PRIMARY KEY,
    cert_pem    TEXT    NOT NULL,
-- sqlite:     key_sealed  BLOB    NOT NULL,
-- postgres:     key_sealed  BYTEA   NOT NULL,
-- sqlite:     key_version INTEGER NOT NULL,
-- postgres:     key_version BIGINT  NOT NULL,
    created_at  TEXT    NOT NULL
);

-- AES-GCM encryptions per data-key version (random 96-bit nonces are safe to about 2^32
-- per key). Added to in the committing transaction of each write that sealed; a crash can
-- lose at most the seals of transactions that never committed. warned_at: when the 2^30
-- warning and its security alert were raised (once per version).
CREATE TABLE key_usage (
-- sqlite:     version   INTEGER PRIMARY KEY,
-- postgres:     version   BIGINT  PRIMARY KEY,
-- sqlite:     seals     INTEGER NOT NULL,
-- postgres:     seals     BIGINT  NOT NULL,
    warned_at TEXT
);
