-- labguard schema v8: identity hardening.
-- A new authenticator waits here until a code from it is confirmed, so starting (or
-- abandoning) an enrolment never weakens the one in force. Sealed with the data key
-- (FieldRef accounts/<user_id>/pending_totp_secret).
ALTER TABLE accounts ADD COLUMN pending_totp_secret {blob};
ALTER TABLE accounts ADD COLUMN pending_totp_key_version BIGINT;
-- When this session last proved the second factor (sign-in or re-authentication): minting
-- an API token needs a recent one. NULL for sessions that never did.
ALTER TABLE sessions ADD COLUMN mfa_at TEXT;
-- Last request made with the token (written at most once a minute per token).
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
