-- labguard schema v19: single sign-on (OpenID Connect). A directory identity (issuer +
-- subject, never the changeable username or e-mail) links to one staff account. The latest
-- refresh token is sealed with the data key (FieldRef oidc_links/<user_id>/refresh_token);
-- the periodic check uses it to learn that the directory has disabled the person.
CREATE TABLE oidc_links (
    issuer              TEXT NOT NULL,
    subject             TEXT NOT NULL,
    user_id             TEXT NOT NULL UNIQUE REFERENCES staff(id),
    refresh_token       {blob},
    refresh_key_version BIGINT,
    created_at          TEXT NOT NULL,
    checked_at          TEXT,
    PRIMARY KEY (issuer, subject)
);
