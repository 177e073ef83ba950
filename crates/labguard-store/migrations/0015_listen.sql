-- labguard schema v15: the ASTM and POCT1-A2 listeners.

-- Which protocol an instrument speaks: each listener refuses (and audits) a device
-- enrolled for another one. Existing enrollments are HL7 over MLLP.
ALTER TABLE instrument_enrollments ADD COLUMN protocol TEXT NOT NULL DEFAULT 'hl7' CHECK (protocol IN ('hl7', 'astm', 'poct'));

-- When the listener last heard from the device and what it last reported of itself
-- (POCT1-A2 HEL/DST: vendor, model, serial, software, docked, counts as JSON; never
-- results or patient data). Not audited: overwritten on every contact.
ALTER TABLE instrument_enrollments ADD COLUMN last_seen_at TEXT;
ALTER TABLE instrument_enrollments ADD COLUMN device_status TEXT;
