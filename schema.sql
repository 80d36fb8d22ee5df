-- The whole current D1 schema, in one place to read. Databases are made and upgraded by the
-- numbered migrations in migrations/ (`wrangler d1 migrations apply DB`), not by this file.
-- A schema change is a new migration plus the same change here: migrations.test.mjs checks
-- that both give the same schema. Idempotent (IF NOT EXISTS), like the baseline migration.

-- Applications (OIDC clients). List-valued settings are JSON arrays of strings.
CREATE TABLE IF NOT EXISTS applications (
  client_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  app_type TEXT NOT NULL CHECK (app_type IN ('traditional', 'spa', 'native', 'm2m')),
  -- SHA-256 (hex) of the client secret; NULL for public clients.
  client_secret_hash TEXT,
  -- The secret replaced by the last rotation and until when it still works (grace period).
  previous_secret_hash TEXT,
  previous_secret_expires_at INTEGER,
  token_endpoint_auth_method TEXT NOT NULL
    CHECK (token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post',
      'private_key_jwt')),
  grant_types TEXT NOT NULL DEFAULT '["authorization_code"]',
  home_url TEXT,
  redirect_uris TEXT NOT NULL DEFAULT '[]',
  post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
  allowed_origins TEXT NOT NULL DEFAULT '[]',
  cors_from_redirect_uris INTEGER NOT NULL DEFAULT 0,
  first_party INTEGER NOT NULL DEFAULT 1,
  -- JSON object: id_token_ttl, access_token_ttl, always_issue_refresh_token,
  -- rotate_refresh_token, refresh_token_ttl_days.
  token_settings TEXT NOT NULL DEFAULT '{}',
  -- client_credentials: the APIs (aud) and scopes this application may get tokens for.
  id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_signed_response_alg IN ('RS256', 'ES256', 'EdDSA')),
  allowed_audiences TEXT NOT NULL DEFAULT '[]',
  allowed_scopes TEXT NOT NULL DEFAULT '[]',
  -- SHA-256 of the RFC 7592 registration access token (dynamically registered clients).
  registration_token_hash TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  -- Back-Channel Logout 1.0 §2.2: where logout tokens go, and whether the application
  -- requires sid in them (migration 0006).
  backchannel_logout_uri TEXT,
  backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0,
  -- Branding on the login and consent pages (migration 0007): https URLs.
  logo_uri TEXT,
  policy_uri TEXT,
  tos_uri TEXT,
  -- Userinfo as a signed JWT (migration 0008); NULL: plain JSON.
  userinfo_signed_response_alg TEXT
    CHECK (userinfo_signed_response_alg IN ('RS256', 'ES256', 'EdDSA')),
  -- private_key_jwt (migration 0009): the client's public JWK Set (JSON), or where it is.
  jwks TEXT,
  jwks_uri TEXT,
  -- Who may use the application (migration 0010): JSON object of roles, countries and
  -- email_domains lists; empty lists admit everyone.
  access_rules TEXT NOT NULL DEFAULT '{}',
  -- The login page offers sign-up for it (migration 0012), when SIGNUP_ENABLED is on.
  allow_signup INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS applications_created ON applications (created_at, client_id);

CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT,
  email_verified INTEGER NOT NULL DEFAULT 0,
  -- pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  -- Space-separated roles; `admin` may use the dashboard and the admin scope.
  roles TEXT NOT NULL DEFAULT '',
  -- Set when an administrator disables the account.
  disabled_at INTEGER,
  -- The other standard claims (OpenID Connect Core §5.1) as a JSON object (migration 0005).
  profile TEXT NOT NULL DEFAULT '{}',
  -- When the claims last changed; 0: not since creation.
  updated_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS users_created ON users (created_at, id);

-- Roles (migration 0011): users hold them by name (users.roles) and access rules name them;
-- the management API renames and deletes them in all three places at once. `admin` always
-- exists (it may use the dashboard).
CREATE TABLE IF NOT EXISTS roles (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
INSERT OR IGNORE INTO roles (name, description, created_at)
  VALUES ('admin', 'May use the dashboard and the management API', CAST(strftime('%s', 'now') AS INTEGER));

-- Grants that hold refresh tokens (the grants themselves, codes' single use and refresh-token
-- rotation, are Durable Objects: src/store/grant_do.rs). Written after the response, so a
-- user's or an application's grants can be found and revoked; the daily trigger forgets rows
-- past expires_at, the end of the grant.
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

-- Login sessions (they live in KV, keyed by the hash of their id), recorded after the login's
-- response so a user's sessions can be found and ended; the daily trigger forgets expired rows.
CREATE TABLE IF NOT EXISTS login_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_sessions_user ON login_sessions (user_id);
CREATE INDEX IF NOT EXISTS login_sessions_expires ON login_sessions (expires_at);

-- Refresh tokens stored by hash before migration 0003 (legacy): read when one is first used,
-- which hands its grant to a Durable Object, and revoked or deleted; never written otherwise.
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL,
  client_id TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  auth_time INTEGER NOT NULL,
  claims TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  grant_expires_at INTEGER NOT NULL,
  consumed_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_grant ON refresh_tokens (grant_id);

-- Consent a user gave a third-party application, remembered until revoked.
CREATE TABLE IF NOT EXISTS consents (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, client_id)
);

-- Signing keys. The private key is PKCS#8, encrypted with AES-GCM under KEY_ENCRYPTION_SECRET.
-- Per algorithm one 'current' key signs and one 'next' key is already published, so that
-- verifiers caching the JWKS know it before it signs; rotation retires current, promotes
-- next and adds a new next in one batch. Retired keys stay published while tokens they
-- signed can live. The partial unique index makes a lost creation race a no-op.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('next', 'current', 'retired')),
  public_jwk TEXT NOT NULL,
  private_key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_per_slot ON signing_keys (alg, status)
  WHERE status IN ('current', 'next');

-- The audit log (GET /api/v1/logs). No foreign keys: records outlive the applications and
-- users they name. `id` starts with the time in milliseconds, so (created_at, id) orders
-- records as they happened and serves as the pagination key. A scheduled trigger deletes
-- records older than AUDIT_RETENTION_DAYS (default 30).
CREATE TABLE IF NOT EXISTS audit_log (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  event TEXT NOT NULL,
  description TEXT NOT NULL,
  client_id TEXT,
  application_name TEXT,
  user_id TEXT,
  ip TEXT,
  user_agent TEXT,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (created_at, id);
CREATE INDEX IF NOT EXISTS audit_log_client ON audit_log (client_id, created_at);
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (user_id, created_at);
CREATE INDEX IF NOT EXISTS audit_log_event ON audit_log (event, created_at);
