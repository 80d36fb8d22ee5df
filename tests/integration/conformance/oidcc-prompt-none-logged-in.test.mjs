// oidcc-prompt-none-logged-in (OIDCCPromptNoneLoggedIn, an AbstractOIDCCSameAuthTwiceServerTest):
// a first authorization with a login, then a second with prompt=none
// (AddPromptNoneToAuthorizationEndpointRequest) that must come back without asking the user
// anything. Both run the whole flow (token call, PerformStandardIdTokenChecks, userinfo's
// EnsureHttpStatusCodeIs200); then, FAILURE: CheckIdTokenAuthTimeClaimsSameIfPresent and
// CheckIdTokenSubConsistentForSecondAuthorization.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-prompt-none-logged-in', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const { claims: first } = await op.codeFlow(rp);
  // login: false: a login or consent page on the way stops the browser, and authorize() fails.
  const { claims: second } = await op.codeFlow(rp, { prompt: 'none' }, { login: false, consent: false });
  if (first.auth_time !== undefined && second.auth_time !== undefined) {
    assert.equal(second.auth_time, first.auth_time, 'CheckIdTokenAuthTimeClaimsSameIfPresent');
  }
  assert.equal(second.sub, first.sub, 'CheckIdTokenSubConsistentForSecondAuthorization');
});
