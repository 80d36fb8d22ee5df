// oidcc-refresh-token-rp-key-rotation (OIDCCRefreshTokenRPKeyRotation): the client registers a
// `jwks_uri` (its RS256 key's kid is the thumbprint, GenerateRS256ClientJWKsWithKeyID) and the
// refresh_token grant, asks for `openid offline_access` (SetScopeInClientConfigurationToOpenIdOfflineAccess)
// with prompt=consent, and must get a refresh token (ExtractRefreshTokenFromTokenResponse, FAILURE).
// Then it replaces the key at its jwks_uri by a new one with a new kid, waits
// (WaitForJWKSRefreshDelay: 60 s, or server.jwks_refresh_delay clamped to 1..60, here
// CONFORMANCE_JWKS_REFRESH_DELAY, default 1 s: the wait is for providers that cache client
// keys, and this one reads the jwks_uri for every assertion), and refreshes with an assertion signed by the new key
// (RefreshTokenRequestSteps, scope sent): CheckTokenEndpointHttpStatus200,
// CheckTokenEndpointReturnedJsonContentType, CheckTokenEndpointCacheHeaders, CheckTokenTypeIsBearer,
// EnsureMinimumAccessTokenEntropy, EnsureAccessTokenContainsAllowedCharactersOnly,
// EnsureRefreshTokenContainsAllowedCharactersOnly, ValidateExpiresIn, EnsureMinimumRefreshTokenLength
// / ...Entropy and CompareIdTokenClaims when present (FAILURE); EnsureServerConfigurationSupportsRefreshToken
// and ExtractExpiresInFromTokenEndpointResponse (WARNINGs, asserted). Then userinfo (EnsureHttpStatusCodeIs200).
// The suite serves the JWKS at <its base URL>/client1_jwks; here a local server on 127.0.0.1 does.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { serveLocal } from './local.mjs';
import { Op, conformanceModule, oidc } from './op.mjs';
import { checkRefreshResponse, checkRefreshTokenIssued, recordTokenHeaders } from './tokens.mjs';

const DELAY = Math.min(Math.max(1, Number(process.env.CONFORMANCE_JWKS_REFRESH_DELAY ?? 1) || 1), 60);

conformanceModule(
  'oidcc-refresh-token-rp-key-rotation',
  ['dynamic'],
  async (op) => {
    let key = await Op.clientKey({ thumbprint: true });
    const jwksUri = await serveLocal('/client1_jwks', () => key.jwks);
    try {
      const rp = await op.registerClient({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri.url, key });
      const scope = 'openid offline_access';
      const cb = await op.authorize(rp, { scope, prompt: 'consent' });
      const { tokens, claims: first } = await op.exchange(rp, cb);
      checkRefreshTokenIssued(op, tokens, 'ExtractRefreshTokenFromTokenResponse');

      // "Cycling keys in RP jwks_uri": only the new key is published, and the client signs with it.
      key = await Op.clientKey({ thumbprint: true });
      const rotated = recordTokenHeaders(op, op.relyingParty(rp.app, oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.kid })));
      await sleep(DELAY * 1000); // WaitForJWKSRefreshDelay
      await sleep(1000); // WaitForOneSecond, in RefreshTokenRequestSteps

      const refreshed = await op.refresh(rotated, tokens.refresh_token, { scope });
      checkRefreshResponse(refreshed, rotated.lastTokenHeaders, first);
      const info = await op.userinfo(rotated, refreshed.access_token, first.sub);
      assert.equal(info.sub, first.sub);
    } finally {
      await jwksUri.close();
    }
  },
  { timeout: 180_000 },
);
