-- Migration 0006: OpenID Connect Back-Channel Logout 1.0 (§2.2) per application: where the
-- provider POSTs logout tokens, and whether the application requires `sid` in them.
-- Existing applications get none (no back-channel logout), as before.
ALTER TABLE applications ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE applications ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0;
