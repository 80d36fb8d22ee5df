-- Migration 0008: per application, userinfo answers signed as a JWT (OpenID Connect Dynamic
-- Client Registration §2, userinfo_signed_response_alg). Existing applications keep plain
-- JSON (NULL).
ALTER TABLE applications ADD COLUMN userinfo_signed_response_alg TEXT
  CHECK (userinfo_signed_response_alg IN ('RS256', 'ES256', 'EdDSA'));
