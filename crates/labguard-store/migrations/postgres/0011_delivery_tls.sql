-- labguard schema v11: whether each accepted phishing mail crossed the network under TLS
-- ('tls') or in the clear ('plain', an SMTP server that offered no STARTTLS to an
-- opportunistic sender). NULL for attempts that never reached a transaction and for
-- rows written before v11, which the report counts as unknown.
ALTER TABLE phishing_deliveries ADD COLUMN transport TEXT CHECK (transport IN ('tls', 'plain'));
