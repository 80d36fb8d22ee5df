-- Migration 0007: an application's branding on the login and consent pages (RFC 7591 §2:
-- logo_uri, policy_uri, tos_uri; https URLs). Existing applications get none, as before.
ALTER TABLE applications ADD COLUMN logo_uri TEXT;
ALTER TABLE applications ADD COLUMN policy_uri TEXT;
ALTER TABLE applications ADD COLUMN tos_uri TEXT;
