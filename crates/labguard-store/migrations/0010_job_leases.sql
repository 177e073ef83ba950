-- labguard schema v10: a lab-wide job (the daily compliance collection) runs once per
-- period however many nodes share the database: the node that moves `period` forward
-- in one conditional upsert holds it; the others see zero rows changed and skip.
CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    holder TEXT NOT NULL,
    claimed_at TEXT NOT NULL
);
