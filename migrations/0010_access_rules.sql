-- Migration 0010: who may use an application (required roles, allowed countries, allowed
-- email domains), as a JSON object. Existing applications get '{}': open to every user, as
-- before.
ALTER TABLE applications ADD COLUMN access_rules TEXT NOT NULL DEFAULT '{}';
