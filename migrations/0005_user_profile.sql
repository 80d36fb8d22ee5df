-- Migration 0005: the standard claims beyond email and name (OpenID Connect Core §5.1:
-- given_name, family_name, address, phone_number, locale, ...) as one JSON object, released
-- by the profile, address and phone scopes; and updated_at, when they last changed. Existing
-- users get an empty profile and 0 (never changed since creation): nothing is lost.
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
