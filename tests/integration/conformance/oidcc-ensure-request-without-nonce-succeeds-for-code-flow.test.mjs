// oidcc-ensure-request-without-nonce-succeeds-for-code-flow
// (OIDCCEnsureRequestWithoutNonceSucceedsForCodeFlow): an authorization request without nonce
// (AddNonceToAuthorizationEndpointRequest skipped) must still be answered with a code; nonce is
// required only when the ID token comes from the authorization endpoint. The callback meets the
// usual conditions (CheckMatchingCallbackParameters, ValidateIssIfPresentInAuthorizationResponse,
// CheckIfAuthorizationEndpointError, CheckStateInAuthorizationResponse,
// ExtractAuthorizationCodeFromAuthorizationResponse). The module then finishes: it overrides
// performPostAuthorizationFlow, so no token request is made.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp, { nonce: undefined });
  assert.equal(cb.url0.searchParams.get('nonce'), null, 'the request had no nonce');
  assert.ok(cb.params.get('code'), 'a code');
});
