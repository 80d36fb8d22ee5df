// oidcc-scope-all (OIDCCScopeAll, SetScopeInClientConfigurationToOpenIdEmailPhoneAddressProfile):
// scope=openid email phone address profile. OIDCCScopeAll is an
// AbstractOIDCCReturnedClaimsServerTest: skipped unless discovery's scopes_supported lists every
// scope sent (OIDCCCheckScopesSupportedContainScopeTest, before the flow; the product lists them);
// after the code flow (the ID token checked, CallProtectedResource answered 200), a GET to userinfo
// (CallUserInfoEndpoint, EnsureHttpStatusCodeIs200), its claims checked (FAILURE:
// checkUserInfoClaims in claims.mjs, and VerifyUserInfoAndIdTokenInTokenEndpointSameSub), and every
// standard claim of the scopes there (VerifyScopesReturnedInUserInfoClaims: the suite only warns;
// the product meets it once the user has them, so it is asserted). Unlike oidcc-scope-email, this
// module does not call EnsureIdTokenDoesNotContainEmailForScopeEmail: the email in the ID token is
// no warning here.

import { scopeModule } from './claims.mjs';

scopeModule('oidcc-scope-all', 'openid email phone address profile');
