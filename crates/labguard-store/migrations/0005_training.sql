-- sqlite: -- labguard schema v5 (SQLite): staff security training and phishing simulation (issue 6).
-- postgres: -- labguard schema v5 (PostgreSQL): staff security training and phishing simulation (issue 6).
-- None of this is patient data (stored in the clear); every change is audited through Store.
-- Timestamps are RFC 3339 UTC with microseconds, so text order is time order.

-- Lab-added courses (built-in courses live in the binary). One row per version: the
-- Markdown source as uploaded, so an old certificate can always be traced to its text.
CREATE TABLE training_courses (
    course_id   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    released_at TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    PRIMARY KEY (course_id, version)
);

-- Assignment rules (labguard_training::AssignmentRule as JSON). Open assignments are
-- recomputed from rules + completions, so nothing here goes stale. Remedial rules carry
-- the campaign and person so a second click does not assign the course twice.
CREATE TABLE training_rules (
    id                TEXT PRIMARY KEY,
    course_id         TEXT NOT NULL,
    rule              TEXT NOT NULL,
    remedial_campaign TEXT,
    remedial_staff    TEXT,
    created_at        TEXT NOT NULL,
    UNIQUE (remedial_campaign, remedial_staff)
);

-- Every quiz attempt: the seed that fixed its question order, and the outcome.
CREATE TABLE training_attempts (
    id             TEXT PRIMARY KEY,
    staff_id       TEXT NOT NULL REFERENCES staff (id),
    course_id      TEXT NOT NULL,
    course_version BIGINT NOT NULL,
    seed           BIGINT NOT NULL,
    started_at     TEXT NOT NULL,
    submitted_at   TEXT,
    score_percent  BIGINT,
    passed         BIGINT
);
CREATE INDEX training_attempts_staff ON training_attempts (staff_id, course_id);

-- Passed quizzes with their completion certificate (JSON, HMAC-signed).
CREATE TABLE training_completions (
    id             TEXT PRIMARY KEY,
    staff_id       TEXT NOT NULL REFERENCES staff (id),
    course_id      TEXT NOT NULL,
    course_version BIGINT NOT NULL,
    completed_at   TEXT NOT NULL,
    score_percent  BIGINT NOT NULL,
    certificate    TEXT NOT NULL
);
CREATE INDEX training_completions_staff ON training_completions (staff_id);

CREATE TABLE phishing_campaigns (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    -- labguard_training::TargetGroup as JSON.
    target        TEXT NOT NULL,
    from_address  TEXT NOT NULL,
    smtp_url      TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    -- JSON list of allowed recipient domains, fixed when the campaign is created.
    allowed       TEXT NOT NULL,
    per_minute    BIGINT NOT NULL,
    window_start  TEXT NOT NULL,
    window_end    TEXT NOT NULL,
    max_attempts  BIGINT NOT NULL,
    created_at    TEXT NOT NULL,
    launched_at   TEXT
);

-- One row per person mailed. The token itself is never stored: only its SHA-256, set in
-- the same transaction that claims the row for sending. Status:
--   pending   not yet sent (next_attempt_at says when it may be tried)
--   sending   claimed; the mail may or may not have been accepted (a crash here is
--             never retried: at most one copy per recipient)
--   sent      the SMTP server accepted it
--   failed    refused permanently, or gave up after max_attempts
CREATE TABLE phishing_recipients (
    id              TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES phishing_campaigns (id),
    staff_id        TEXT NOT NULL REFERENCES staff (id),
    role            TEXT NOT NULL,
    email           TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    token_digest    TEXT UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL,
    next_attempt_at TEXT,
    last_error      TEXT,
    sent_at         TEXT,
    UNIQUE (campaign_id, staff_id)
);

-- What recipients did. The first event of each kind per recipient is kept; a submitted
-- form is recorded as the fact alone (there is no column for content).
CREATE TABLE phishing_events (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES phishing_campaigns (id),
    recipient_id TEXT NOT NULL REFERENCES phishing_recipients (id),
    staff_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('sent', 'opened', 'clicked', 'submitted', 'reported')),
    at           TEXT NOT NULL,
    UNIQUE (recipient_id, kind)
);
CREATE INDEX phishing_events_campaign ON phishing_events (campaign_id);

-- Every SMTP attempt, for the delivery report (errors are SMTP replies, never mail content).
CREATE TABLE phishing_deliveries (
    id           TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES phishing_recipients (id),
    attempt      BIGINT NOT NULL,
    at           TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT
);

-- Reminder and escalation mails sent (labguard_training::Reminder::key), so a reminder job
-- can run as often as it likes without mailing anyone twice for the same step.
CREATE TABLE training_reminders (
    key        TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL,
    course_id  TEXT NOT NULL,
    step       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    sent_at    TEXT NOT NULL
);
