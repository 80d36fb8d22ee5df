-- Migration 0012: an application may hide sign-up from its login page (issue 18). Existing
-- applications offer it, as new ones do; the deployment still decides (SIGNUP_ENABLED).
ALTER TABLE applications ADD COLUMN allow_signup INTEGER NOT NULL DEFAULT 1;
