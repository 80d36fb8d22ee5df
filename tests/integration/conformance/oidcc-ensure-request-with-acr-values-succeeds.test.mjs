// oidcc-ensure-request-with-acr-values-succeeds (OIDCCEnsureRequestWithAcrValuesSucceeds): the
// authorization request carries acr_values, every value of discovery's acr_values_supported, or
// "1 2" when there is none (OIDCCAddAcrValuesToAuthorizationEndpointRequest). The flow must
// succeed as in oidcc-server (CheckIfAuthorizationEndpointError, the token call,
// PerformStandardIdTokenChecks, userinfo's EnsureHttpStatusCodeIs200: FAILURE). The ID token
// should carry a string acr that is one of the values sent
// (ValidateIdTokenACRClaimAgainstAcrValuesRequest): the suite only warns; asserted here.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-ensure-request-with-acr-values-succeeds', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const supported = op.metadata.acr_values_supported;
  const acrValues = supported ? supported.join(' ') : '1 2';
  const cb = await op.authorize(rp, { acr_values: acrValues });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
  // WARNING in the suite.
  assert.equal(typeof claims.acr, 'string', `ValidateIdTokenACRClaimAgainstAcrValuesRequest: an acr claim (sent ${acrValues})`);
  assert.ok(acrValues.split(' ').includes(claims.acr), `ValidateIdTokenACRClaimAgainstAcrValuesRequest: ${claims.acr} is one of ${acrValues}`);
});
