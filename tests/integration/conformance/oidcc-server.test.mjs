// oidcc-server (OIDCCServerTest): the happy code flow. The code is long and random enough
// (EnsureMinimumAuthorizationCodeLength / ...Entropy, FAILURE), the ID token verifies against
// the JWKS with a kid, at_hash is right when present, and userinfo answers 200 for the access
// token (CallProtectedResource, EnsureHttpStatusCodeIs200). WARNINGs, kept here as checks:
// no `name` (EnsureIdTokenDoesNotContainName) and no claims beyond those requested
// (EnsureIdTokenDoesNotContainNonRequestedClaims) in the ID token of scope=openid, and
// expires_in in the token response.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

const REQUESTED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'at_hash', 'c_hash', 'sid', 'jti']);

conformanceModule('oidcc-server', ['basic', 'formpost', 'dynamic'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  const { tokens, claims } = await op.exchange(rp, cb);
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName');
  for (const k of Object.keys(claims)) assert.ok(REQUESTED.has(k), `EnsureIdTokenDoesNotContainNonRequestedClaims: ${k}`);
  const info = await op.userinfo(rp, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
});
