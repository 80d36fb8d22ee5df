// What the suite checks of the token endpoint's answers besides the code exchange (Op.exchange):
// a code used a second time (AbstractOIDCCAuthCodeReuse: oidcc-codereuse, -30seconds) and a
// refresh (RefreshTokenRequestSteps: oidcc-refresh-token, oidcc-refresh-token-rp-key-rotation).

import assert from 'node:assert/strict';

import { decodeJwt, entropy, oidc } from './op.mjs';

/** The characters a token may hold (VSCHAR, RFC 6749 Appendix A). */
export const VSCHAR = /^[\x20-\x7E]+$/;
/** The characters of an error code (RFC 6749 §5.2), ValidateErrorFromTokenEndpointResponseError. */
export const ERROR_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The second use of the callback's code, by openid-client with the client's own authentication
 * (a form_post callback's Request is rebuilt: its body was read by the first exchange).
 * { status, headers, body }: the error answer, or a 200 with no headers and an empty body.
 */
export async function reuseCode(rp, cb) {
  const request =
    cb.method === 'POST'
      ? new Request(cb.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: cb.body })
      : cb.url;
  try {
    await oidc.authorizationCodeGrant(rp.config, request, cb.checks);
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError) return { status: err.status, headers: err.response.headers, body: err.cause };
    throw err;
  }
  return { status: 200, headers: new Headers(), body: {} };
}

/** AbstractOIDCCAuthCodeReuse.checkResponse: the reused code refused, all FAILURE but one WARNING. */
export function checkReuseRefused(res) {
  assert.equal(res.status, 400, 'CheckTokenEndpointHttpStatus400');
  assert.equal(res.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'CheckTokenEndpointReturnedJsonContentType');
  const { error, error_description: description, error_uri: uri } = res.body;
  assert.equal(error, 'invalid_grant', 'CheckErrorFromTokenEndpointResponseErrorInvalidGrant');
  assert.match(error, ERROR_CHARS, 'ValidateErrorFromTokenEndpointResponseError');
  if (description) {
    assert.doesNotMatch(description, /[\r\n\t]/, 'CheckErrorDescriptionFromTokenEndpointResponseErrorContainsCRLFTAB (WARNING)');
    assert.match(description, /^[\x09\x0A\x0D\x20-\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorDescriptionFromTokenEndpointResponseError');
  }
  if (uri) assert.match(uri, /^[\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorUriFromTokenEndpointResponseError');
}

/** Keeps the headers of the client's last token endpoint answer, as rp.lastTokenHeaders (openid-client only gives the body). */
export function recordTokenHeaders(op, rp) {
  rp.config[oidc.customFetch] = async (url, init) => {
    const res = await fetch(url, init);
    if (String(url) === op.metadata.token_endpoint) rp.lastTokenHeaders = res.headers;
    return res;
  };
  return rp;
}

/**
 * The refresh token of the first token response (`what`: the condition that wants one), with
 * EnsureServerConfigurationSupportsRefreshToken (WARNING, asserted) and
 * EnsureRefreshTokenContainsAllowedCharactersOnly (FAILURE).
 */
export function checkRefreshTokenIssued(op, tokens, what) {
  assert.ok(tokens.refresh_token, what);
  assert.ok(op.metadata.grant_types_supported?.includes('refresh_token'), 'EnsureServerConfigurationSupportsRefreshToken (WARNING)');
  assert.match(tokens.refresh_token, VSCHAR, 'EnsureRefreshTokenContainsAllowedCharactersOnly');
}

/**
 * RefreshTokenRequestSteps' checks of the refresh's answer (`refreshed`, with its `headers`),
 * `first` being the first ID token's claims: CheckTokenEndpointReturnedJsonContentType,
 * CheckTokenEndpointCacheHeaders (no-store), CheckTokenTypeIsBearer, EnsureMinimumAccessTokenEntropy,
 * EnsureAccessTokenContainsAllowedCharactersOnly, ValidateExpiresIn (and
 * ExtractExpiresInFromTokenEndpointResponse, a WARNING), EnsureMinimumRefreshTokenLength and
 * ...Entropy for a new refresh token, CompareIdTokenClaims (iss, sub, aud, azp and auth_time the
 * same, iat new) for a new ID token.
 */
export function checkRefreshResponse(refreshed, headers, first) {
  assert.match(headers.get('content-type') ?? '', /^application\/json\s*(;|$)/, 'CheckTokenEndpointReturnedJsonContentType');
  const cache = (headers.get('cache-control') ?? '').split(',').map((v) => v.trim());
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
    for (const c of ['iss', 'sub', 'azp']) assert.deepEqual(second[c], first[c], `CompareIdTokenClaims: ${c}`);
    assert.deepEqual(second.aud, first.aud, 'CompareIdTokenClaims: aud');
    assert.notEqual(second.iat, first.iat, 'CompareIdTokenClaims: a new iat');
    if (second.auth_time !== undefined) assert.equal(second.auth_time, first.auth_time, 'CompareIdTokenClaims: auth_time');
  }
}
