// oidcc-scope-email (OIDCCScopeEmail, SetScopeInClientConfigurationToOpenIdEmail): scope=openid
// email. OIDCCScopeEmail is an AbstractOIDCCReturnedClaimsServerTest: skipped unless discovery's
// scopes_supported lists every scope sent (OIDCCCheckScopesSupportedContainScopeTest, before the
// flow; the product lists them); after the code flow (the ID token checked, CallProtectedResource
// answered 200), a GET to userinfo (CallUserInfoEndpoint, EnsureHttpStatusCodeIs200), its claims
// checked (FAILURE: checkUserInfoClaims in claims.mjs, and
// VerifyUserInfoAndIdTokenInTokenEndpointSameSub), and every standard claim of the scopes there
// (VerifyScopesReturnedInUserInfoClaims: the suite only warns; the product meets it once the user
// has them, so it is asserted). Its own WARNINGs: no name in the ID token
// (EnsureIdTokenDoesNotContainName) nor in userinfo (EnsureUserInfoDoesNotContainName), both met
// and asserted; and, as an access token was issued, no email in the ID token
// (EnsureIdTokenDoesNotContainEmailForScopeEmail, OIDCC-5.4). The product puts email and
// email_verified in the ID token too (mint::profile_claims), so that one is a todo: it reports
// without failing the run until the product leaves scope claims out of the ID token.

import assert from 'node:assert/strict';

import { scopeModule } from './claims.mjs';

scopeModule('oidcc-scope-email', 'openid email', async (t, { claims, info }) => {
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (WARNING)');
  assert.equal(info.name, undefined, 'EnsureUserInfoDoesNotContainName (WARNING)');
  const todo = 'mint::profile_claims puts email in the ID token';
  await t.test('EnsureIdTokenDoesNotContainEmailForScopeEmail (WARNING)', { todo }, () => {
    assert.equal(claims.email, undefined, `email in the ID token: ${claims.email}`);
  });
});
