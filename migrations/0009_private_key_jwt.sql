-- Migration 0009: private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect
-- Core §9): the method joins the CHECK on token_endpoint_auth_method, and applications get
-- the client's public keys (`jwks`, a JSON JWK Set) or where it publishes them (`jwks_uri`).
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt: copied aside, dropped,
-- created again as in schema.sql and filled back. Dropping it deletes, through ON DELETE
-- CASCADE, the rows of consents and refresh_tokens that name an application, so those are
-- copied aside first and put back after. wrangler applies a migration as one transaction:
-- if any statement fails, nothing of it stays. Existing applications keep every setting and
-- get no keys (NULL).
CREATE TABLE applications_0009 AS SELECT * FROM applications;
CREATE TABLE consents_0009 AS SELECT * FROM consents;
CREATE TABLE refresh_tokens_0009 AS SELECT * FROM refresh_tokens;
DROP TABLE applications;
CREATE TABLE applications (
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
  jwks_uri TEXT
);
CREATE INDEX IF NOT EXISTS applications_created ON applications (created_at, client_id);
INSERT INTO applications (client_id, name, description, app_type, client_secret_hash, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method, grant_types, home_url, redirect_uris, post_logout_redirect_uris, allowed_origins, cors_from_redirect_uris, first_party, token_settings, id_token_signed_response_alg, allowed_audiences, allowed_scopes, registration_token_hash, created_at, updated_at, backchannel_logout_uri, backchannel_logout_session_required, logo_uri, policy_uri, tos_uri, userinfo_signed_response_alg)
  SELECT client_id, name, description, app_type, client_secret_hash, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method, grant_types, home_url, redirect_uris, post_logout_redirect_uris, allowed_origins, cors_from_redirect_uris, first_party, token_settings, id_token_signed_response_alg, allowed_audiences, allowed_scopes, registration_token_hash, created_at, updated_at, backchannel_logout_uri, backchannel_logout_session_required, logo_uri, policy_uri, tos_uri, userinfo_signed_response_alg FROM applications_0009;
INSERT OR IGNORE INTO consents SELECT * FROM consents_0009;
INSERT OR IGNORE INTO refresh_tokens SELECT * FROM refresh_tokens_0009;
DROP TABLE applications_0009;
DROP TABLE consents_0009;
DROP TABLE refresh_tokens_0009;
