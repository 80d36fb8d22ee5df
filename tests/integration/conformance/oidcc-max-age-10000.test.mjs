// oidcc-max-age-10000 (OIDCCMaxAge10000, an AbstractOIDCCSameAuthTwiceServerTest): a first
// authorization with max_age=15000 and a login, then a second with max_age=10000
// (AddMaxAge15000/AddMaxAge10000ToAuthorizationEndpointRequest), which must not ask the user to
// log in again. Both run the whole flow (token call, PerformStandardIdTokenChecks, userinfo's
// EnsureHttpStatusCodeIs200). FAILURE: CheckIdTokenAuthTimeClaimPresentDueToMaxAge on both ID
// tokens, CheckIdTokenAuthTimeClaimsSameIfPresent and CheckIdTokenSubConsistentForSecondAuthorization.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-max-age-10000', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const { claims: first } = await op.codeFlow(rp, { max_age: '15000' });
  assert.ok(Number.isInteger(first.auth_time), 'CheckIdTokenAuthTimeClaimPresentDueToMaxAge (first)');
  // login: false: a login page on the way stops the browser, and authorize() fails.
  const { claims: second } = await op.codeFlow(rp, { max_age: '10000' }, { login: false });
  assert.ok(Number.isInteger(second.auth_time), 'CheckIdTokenAuthTimeClaimPresentDueToMaxAge (second)');
  assert.equal(second.auth_time, first.auth_time, 'CheckIdTokenAuthTimeClaimsSameIfPresent');
  assert.equal(second.sub, first.sub, 'CheckIdTokenSubConsistentForSecondAuthorization');
});
