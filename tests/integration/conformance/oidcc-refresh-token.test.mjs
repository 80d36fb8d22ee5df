// oidcc-refresh-token (OIDCCRefreshToken, an AbstractOIDCCMultipleClient). Client 1, then client 2
// (whose nonce is 43 characters long), each: the code flow with `scope=openid offline_access`
// (offline_access is in scopes_supported) and prompt=consent
// (AddPromptConsentToAuthorizationEndpointRequestIfScopeContainsOfflineAccess); a refresh token
// must come (or the module is skipped), then a refresh (RefreshTokenRequestSteps, after the
// suite's 1 s wait; client 1 sends `scope` too), then userinfo with the new access token
// (EnsureHttpStatusCodeIs200). Finally client 2's refresh token at client 1 must be refused
// (RefreshTokenRequestExpectingErrorSteps).
// FAILURE: EnsureRefreshTokenContainsAllowedCharactersOnly; for the refresh,
// CheckTokenEndpointHttpStatus200, CheckTokenEndpointReturnedJsonContentType,
// CheckTokenEndpointCacheHeaders (no-store), CheckTokenTypeIsBearer, EnsureMinimumAccessTokenEntropy,
// EnsureAccessTokenContainsAllowedCharactersOnly, ValidateExpiresIn, EnsureMinimumRefreshTokenLength
// and ...Entropy for a new refresh token, CompareIdTokenClaims (iss, sub, aud, azp and auth_time
// the same, iat new) for a new ID token; for the refused one, ValidateErrorFromTokenEndpointResponseError,
// CheckTokenEndpointHttpStatus400, CheckTokenEndpointReturnedJsonContentType,
// CheckErrorFromTokenEndpointResponseErrorInvalidGrant. WARNINGs, asserted here since the product
// meets them: EnsureServerConfigurationSupportsRefreshToken, ExtractExpiresInFromTokenEndpointResponse.
// In the Dynamic plan the clients are registered with private_key_jwt.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { conformanceModule, oidc, randomToken } from './op.mjs';
import { ERROR_CHARS, checkRefreshResponse, checkRefreshTokenIssued, recordTokenHeaders } from './tokens.mjs';

/** One client's part: authorize, exchange, refresh, userinfo. Returns the last refresh token. */
async function clientFlow(op, rp, { scope, nonce, refreshScope }) {
  recordTokenHeaders(op, rp);
  const cb = await op.authorize(rp, { scope, prompt: 'consent', nonce });
  const { tokens, claims: first } = await op.exchange(rp, cb);
  checkRefreshTokenIssued(op, tokens, 'a refresh token (the module is skipped without one)');

  await sleep(1000); // WaitForOneSecond: the new iat must differ
  const refreshed = await op.refresh(rp, tokens.refresh_token, refreshScope ? { scope: refreshScope } : undefined);
  checkRefreshResponse(refreshed, rp.lastTokenHeaders, first);
  const info = await op.userinfo(rp, refreshed.access_token, first.sub); // EnsureHttpStatusCodeIs200
  assert.equal(info.sub, first.sub);
  return refreshed.refresh_token ?? tokens.refresh_token;
}

conformanceModule('oidcc-refresh-token', ['basic', 'formpost', 'dynamic'], async (op) => {
  const rp1 = await op.client();
  const rp2 = await op.client2();
  // SetScopeInClientConfigurationToOpenIdOfflineAccessIfServerSupportsOfflineAccess
  const scope = op.metadata.scopes_supported?.includes('offline_access') ? 'openid offline_access' : 'openid';
  await clientFlow(op, rp1, { scope, refreshScope: scope });
  const second = await clientFlow(op, rp2, { scope, nonce: randomToken(32) }); // 43 characters

  // Client 2's refresh token at client 1 (with client 1's scope and authentication).
  const err = await op.refresh(rp1, second, { scope }).then(
    () => assert.fail('client 2\'s refresh token was accepted from client 1'),
    (e) => e,
  );
  assert.ok(err instanceof oidc.ResponseBodyError, `an OAuth error answer: ${err}`);
  assert.match(err.error, ERROR_CHARS, 'ValidateErrorFromTokenEndpointResponseError');
  assert.equal(err.status, 400, 'CheckTokenEndpointHttpStatus400');
  assert.match(err.response.headers.get('content-type') ?? '', /^application\/json\s*(;|$)/, 'CheckTokenEndpointReturnedJsonContentType');
  assert.equal(err.error, 'invalid_grant', 'CheckErrorFromTokenEndpointResponseErrorInvalidGrant');
});
