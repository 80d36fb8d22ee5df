// oidcc-prompt-none-logged-in (OIDCCPromptNoneLoggedIn, an AbstractOIDCCSameAuthTwiceServerTest):
// a first authorization with a login, then a second with prompt=none
// (AddPromptNoneToAuthorizationEndpointRequest) that must come back without asking the user
// anything. Both run the whole flow (token call, PerformStandardIdTokenChecks, userinfo's
// EnsureHttpStatusCodeIs200); then, FAILURE: CheckIdTokenAuthTimeClaimsSameIfPresent and
// CheckIdTokenSubConsistentForSecondAuthorization.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

async function flow(op, rp, params, opts) {
  const cb = await op.authorize(rp, params, opts);
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
  return claims;
}

conformanceModule('oidcc-prompt-none-logged-in', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const first = await flow(op, rp);
  // login: false: a login or consent page on the way stops the browser, and authorize() fails.
  const second = await flow(op, rp, { prompt: 'none' }, { login: false, consent: false });
  if (first.auth_time !== undefined && second.auth_time !== undefined) {
    assert.equal(second.auth_time, first.auth_time, 'CheckIdTokenAuthTimeClaimsSameIfPresent');
  }
  assert.equal(second.sub, first.sub, 'CheckIdTokenSubConsistentForSecondAuthorization');
});
