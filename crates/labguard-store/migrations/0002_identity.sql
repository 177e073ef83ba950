-- sqlite: -- labguard schema v2 (SQLite): accounts, sessions, API tokens, sign-in throttling,
-- postgres: -- labguard schema v2 (PostgreSQL): accounts, sessions, API tokens, sign-in throttling,
-- break-glass grants and security alerts. Staff rows (0001) stay the identity; an account
-- row adds the credentials of the staff member with the same id.
CREATE TABLE accounts (
    user_id             TEXT PRIMARY KEY REFERENCES staff (id),
    -- Argon2id PHC string: the parameters travel with each hash, so they can be raised later.
    password_hash       TEXT NOT NULL,
    password_checked_at TEXT NOT NULL,
    -- Set when a later blocklist check refused the current password: it must be changed.
    blocklist_failed    BIGINT NOT NULL DEFAULT 0,
    -- Sealed with the data key (FieldRef accounts/<user_id>/totp_secret); NULL until enrolment starts.
    totp_secret         {blob},
    totp_key_version    BIGINT,
    -- Last accepted TOTP step: a code at or before it is a replay.
    totp_last_step      BIGINT,
    -- JSON RecoveryCodeSet: SHA-256 digests only.
    recovery_codes      TEXT,
    mfa_enrolled        BIGINT NOT NULL DEFAULT 0,
    last_sign_in        TEXT,
    disabled_at         TEXT,
    created_at          TEXT NOT NULL
);

-- Sessions are looked up by the SHA-256 of the cookie value; the value itself is never stored.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES staff (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    -- 'mfa': password accepted, TOTP still due; 'enroll': must enrol TOTP first; 'full'.
    stage        TEXT NOT NULL CHECK (stage IN ('mfa', 'enroll', 'full')),
    revoked_at   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES staff (id),
    scope      TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- One throttle counter per account name or source address (JSON of labguard-identity's Counter).
CREATE TABLE sign_in_throttle (
    tier       TEXT NOT NULL CHECK (tier IN ('account', 'source')),
    key        TEXT NOT NULL,
    counter    TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tier, key)
);

CREATE TABLE break_glass (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES staff (id),
    role        TEXT NOT NULL,
    patient_id  TEXT NOT NULL REFERENCES patients (id),
    -- The stated reason may mention clinical details: sealed like patient data.
    reason      {blob} NOT NULL,
    key_version BIGINT NOT NULL,
    granted_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX break_glass_user_patient ON break_glass (user_id, patient_id);

CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    user_id     TEXT,
    subject_id  TEXT,
    created_at  TEXT NOT NULL,
    reviewed_by TEXT,
    reviewed_at TEXT
);
CREATE INDEX alerts_open ON alerts (reviewed_at);
