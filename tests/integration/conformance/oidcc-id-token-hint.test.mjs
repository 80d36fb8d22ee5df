// oidcc-id-token-hint (OIDCCIdTokenHint, an AbstractOIDCCSameAuthTwiceServerTest): a first
// authorization with a login, then a second with prompt=none and the first ID token as
// id_token_hint (AddPromptNoneToAuthorizationEndpointRequest,
// AddIdTokenHintFromFirstLoginToAuthorizationEndpointRequest), which must come back at once
// without asking the user anything. Both run the whole flow (token call,
// PerformStandardIdTokenChecks, userinfo's EnsureHttpStatusCodeIs200); then, FAILURE:
// CheckIdTokenAuthTimeClaimsSameIfPresent and CheckIdTokenSubConsistentForSecondAuthorization.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

async function flow(op, rp, params, opts) {
  const cb = await op.authorize(rp, params, opts);
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
  return { claims, idToken: tokens.id_token };
}

conformanceModule('oidcc-id-token-hint', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const first = await flow(op, rp);
  // login: false: a login or consent page on the way stops the browser, and authorize() fails.
  const second = await flow(op, rp, { prompt: 'none', id_token_hint: first.idToken }, { login: false, consent: false });
  if (first.claims.auth_time !== undefined && second.claims.auth_time !== undefined) {
    assert.equal(second.claims.auth_time, first.claims.auth_time, 'CheckIdTokenAuthTimeClaimsSameIfPresent');
  }
  assert.equal(second.claims.sub, first.claims.sub, 'CheckIdTokenSubConsistentForSecondAuthorization');
});
