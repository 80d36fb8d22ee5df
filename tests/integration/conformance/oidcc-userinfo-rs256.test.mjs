// oidcc-userinfo-rs256 (OIDCCUserInfoRS256, an AbstractOIDCCUserInfoTest; not applicable to static
// clients): discovery lists RS256 in userinfo_signing_alg_values_supported
// (CheckDiscEndpointUserinfoSigningAlgValuesSupportedContainsRS256, FAILURE); the plan's
// private_key_jwt client is registered with userinfo_signed_response_alg=RS256; after the code flow
// of oidcc-server (CallProtectedResource: 200), userinfo is called again (CallUserInfoEndpoint: GET,
// Bearer, Accept: application/json) and must answer 200 (EnsureHttpStatusCodeIs200) with an
// application/jwt body (EnsureContentTypeApplicationJwt) signed by a key of the provider's JWKS
// (ValidateUserInfoResponseSignature) with RS256 (ValidateUserInfoSigningAlgIsRS256), without nonce
// (EnsureUserInfoDoesNotContainNonce), all FAILURE. WARNING, asserted here:
// ValidateSignedUserInfoResponseStandardJWTClaims (iss, aud; exp, iat, nbf sane when present). Then
// the claims, JWT claims removed (ExtractSignedUserInfoFromUserInfoEndpointResponse), are checked:
// EnsureUserInfoContainsSub, ValidateUserInfoStandardClaims (for scope=openid: sub a string),
// EnsureUserInfoUpdatedAtValid.

import assert from 'node:assert/strict';

import { jwtVerify } from 'jose';

import { conformanceModule, decodeProtectedHeader } from './op.mjs';

conformanceModule('oidcc-userinfo-rs256', ['dynamic'], async (op) => {
  assert.ok(op.metadata.userinfo_signing_alg_values_supported?.includes('RS256'),
    'CheckDiscEndpointUserinfoSigningAlgValuesSupportedContainsRS256');
  const rp = await op.client({ userinfo_signed_response_alg: 'RS256' });
  const cb = await op.authorize(rp);
  const { tokens } = await op.exchange(rp, cb);
  const call = () => fetch(op.metadata.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' },
  });
  assert.equal((await call()).status, 200, 'CallProtectedResource: EnsureHttpStatusCodeIs200');

  const res = await call();
  const body = await res.text();
  assert.equal(res.status, 200, `EnsureHttpStatusCodeIs200: ${body}`);
  assert.equal(res.headers.get('content-type')?.split(';')[0].trim(), 'application/jwt', 'EnsureContentTypeApplicationJwt');
  assert.equal(decodeProtectedHeader(body).alg, 'RS256', 'ValidateUserInfoSigningAlgIsRS256');
  const { payload } = await jwtVerify(body, op.jwks(), { algorithms: ['RS256'] }); // ValidateUserInfoResponseSignature
  assert.equal(payload.nonce, undefined, 'EnsureUserInfoDoesNotContainNonce');

  // ValidateSignedUserInfoResponseStandardJWTClaims (WARNING)
  const now = Date.now() / 1000;
  assert.equal(payload.iss, op.issuer, 'iss');
  assert.ok(Array.isArray(payload.aud) ? payload.aud.includes(rp.id) : payload.aud === rp.id, `aud: ${payload.aud}`);
  if (payload.exp !== undefined) assert.ok(payload.exp > now - 300 && payload.exp < now + 50 * 365 * 86400, 'exp');
  if (payload.iat !== undefined) assert.ok(payload.iat < now + 300 && payload.iat > now - 86400, 'iat');
  if (payload.nbf !== undefined) assert.ok(payload.nbf < now + 300, 'nbf');

  const info = { ...payload };
  for (const k of ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti']) delete info[k];
  assert.ok(typeof info.sub === 'string' && info.sub.trim() !== '', 'EnsureUserInfoContainsSub, ValidateUserInfoStandardClaims');
  if (info.updated_at !== undefined) {
    assert.ok(info.updated_at >= 631152000 && info.updated_at <= now + 300, 'EnsureUserInfoUpdatedAtValid');
  }
});
