-- labguard schema v16: forwarding audit entries and security alerts to a lab's SIEM.
-- The spool is a table, so moving events into it and moving the cursor past them are one
-- transaction (exactly once into the spool), and every node sharing PostgreSQL sees the
-- same queue. Events are labguard-siem's pseudonymous JSON: no PHI.

-- One row per sink ('syslog', 'jsonl'): audit_next is the next audit seq to spool,
-- spool_next the next spool seq to assign, delivered the first spool seq not yet handed
-- to the collector; backlog_alert the open siem-backlog alert, if raised.
CREATE TABLE siem_cursor (
    sink          TEXT PRIMARY KEY,
    audit_next    BIGINT NOT NULL,
    spool_next    BIGINT NOT NULL,
    delivered     BIGINT NOT NULL,
    spool_bytes   BIGINT NOT NULL,
    backlog_alert TEXT,
    updated_at    TEXT NOT NULL
);

-- Spooled events waiting for delivery, per sink in order; bounded by the forwarder's cap.
CREATE TABLE siem_spool (
    sink  TEXT NOT NULL,
    seq   BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (sink, seq)
);

-- Alerts already spooled per sink (alert rows have no gap-free order of their own, so
-- membership, not a high-water mark, keeps a late-committing alert from being skipped).
CREATE TABLE siem_sent_alerts (
    sink     TEXT NOT NULL,
    source   TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    PRIMARY KEY (sink, source, alert_id)
);
