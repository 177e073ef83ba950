-- labguard schema v7: a one-time password (issued by an administrator or `labguard init`)
-- must be replaced at first sign-in; until then the account may only change its password.
ALTER TABLE accounts ADD COLUMN password_must_change BIGINT NOT NULL DEFAULT 0;
