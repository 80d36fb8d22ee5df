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

import { conformanceModule, decodeJwt, oidc, randomToken } from './op.mjs';

const VSCHAR = /^[\x20-\x7E]+$/;

/** Shannon entropy of a string in bits (AbstractEnsureMinimumEntropy). */
function entropy(s) {
  const counts = new Map();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
  return bits * s.length;
}

/** Keeps the headers of the client's last token endpoint answer (openid-client only gives the body). */
function recordTokenResponses(op, rp) {
  rp.config[oidc.customFetch] = async (url, init) => {
    const res = await fetch(url, init);
    if (String(url) === op.metadata.token_endpoint) rp.lastTokenHeaders = res.headers;
    return res;
  };
}

/** One client's part: authorize, exchange, refresh, userinfo. Returns the last refresh token. */
async function clientFlow(op, rp, { scope, nonce, refreshScope }) {
  recordTokenResponses(op, rp);
  const cb = await op.authorize(rp, { scope, prompt: 'consent', nonce });
  const { tokens, claims: first } = await op.exchange(rp, cb);
  assert.ok(tokens.refresh_token, 'a refresh token (the module is skipped without one)');
  assert.ok(op.metadata.grant_types_supported?.includes('refresh_token'), 'EnsureServerConfigurationSupportsRefreshToken (WARNING)');
  assert.match(tokens.refresh_token, VSCHAR, 'EnsureRefreshTokenContainsAllowedCharactersOnly');

  await sleep(1000); // WaitForOneSecond: the new iat must differ
  const refreshed = await op.refresh(rp, tokens.refresh_token, refreshScope ? { scope: refreshScope } : undefined);
  assert.match(rp.lastTokenHeaders.get('content-type') ?? '', /^application\/json\s*(;|$)/, 'CheckTokenEndpointReturnedJsonContentType');
  const cache = (rp.lastTokenHeaders.get('cache-control') ?? '').split(',').map((v) => v.trim());
  assert.ok(cache.includes('no-store'), `CheckTokenEndpointCacheHeaders: ${cache}`);
  assert.equal(refreshed.token_type.toLowerCase(), 'bearer', 'CheckTokenTypeIsBearer');
  assert.ok(entropy(refreshed.access_token) > 96, 'EnsureMinimumAccessTokenEntropy');
  assert.match(refreshed.access_token, VSCHAR, 'EnsureAccessTokenContainsAllowedCharactersOnly');
  assert.ok(Number.isInteger(refreshed.expires_in) && refreshed.expires_in > 0, 'ExtractExpiresInFromTokenEndpointResponse (WARNING), ValidateExpiresIn');
  if (refreshed.refresh_token) {
    assert.ok(Buffer.byteLength(refreshed.refresh_token) * 8 >= 128, 'EnsureMinimumRefreshTokenLength');
    assert.ok(entropy(refreshed.refresh_token) > 96, 'EnsureMinimumRefreshTokenEntropy');
  }
  if (refreshed.id_token) {
    const second = decodeJwt(refreshed.id_token);
    for (const c of ['iss', 'sub']) assert.equal(second[c], first[c], `CompareIdTokenClaims: ${c}`);
    assert.deepEqual(second.aud, first.aud, 'CompareIdTokenClaims: aud');
    assert.notEqual(second.iat, first.iat, 'CompareIdTokenClaims: a new iat');
    if (second.auth_time !== undefined) assert.equal(second.auth_time, first.auth_time, 'CompareIdTokenClaims: auth_time');
    assert.equal(second.azp, first.azp, 'CompareIdTokenClaims: azp');
  }
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
  assert.match(err.error, /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorFromTokenEndpointResponseError');
  assert.equal(err.status, 400, 'CheckTokenEndpointHttpStatus400');
  assert.match(err.response.headers.get('content-type') ?? '', /^application\/json\s*(;|$)/, 'CheckTokenEndpointReturnedJsonContentType');
  assert.equal(err.error, 'invalid_grant', 'CheckErrorFromTokenEndpointResponseErrorInvalidGrant');
});
