-- Migration 0004: an index of login sessions. Sessions live in KV, keyed by the hash of their
-- id, so a user's sessions could not be found; this table, written after the login's
-- response, lets disabling a user (and later "sign out everywhere") end them. /authorize then
-- trusts the session alone and reads nothing from D1. expires_at is the session's end; the
-- daily trigger forgets rows past it.
CREATE TABLE IF NOT EXISTS login_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_sessions_user ON login_sessions (user_id);
CREATE INDEX IF NOT EXISTS login_sessions_expires ON login_sessions (expires_at);
