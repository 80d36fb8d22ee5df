-- Migration 0003: grants moved to Durable Objects (src/store/grant_do.rs). Authorization
-- codes are sealed and self-contained, their single use decided by the grant's object;
-- refresh tokens rotate inside that object. D1 keeps only an index of the grants that hold
-- refresh tokens, written after the response, so a user's or an application's grants can be
-- found and revoked. expires_at is the end of the grant (no refresh token of it lives longer);
-- the daily trigger forgets rows past it.
--
-- Codes in flight when this runs (they live 60 seconds) are dropped with their table: a
-- login in progress at that moment asks its user to sign in again. Refresh tokens stay in
-- refresh_tokens and keep working: the first use of one hands its grant to an object
-- (src/oidc/refresh.rs, `legacy`), which decides from then on.
DROP TABLE IF EXISTS authorization_codes;

CREATE TABLE IF NOT EXISTS grants (
  grant_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_user ON grants (user_id);
CREATE INDEX IF NOT EXISTS grants_client ON grants (client_id);
CREATE INDEX IF NOT EXISTS grants_expires ON grants (expires_at);
