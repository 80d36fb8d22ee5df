// oidcc-login-hint (OIDCCLoginHint): the authorization request carries login_hint, the
// configuration's server.login_hint (AddLoginHintFromConfigurationToAuthorizationEndpointRequest;
// docs/conformance.md has the operator set it to the test user's email), which must not cause an
// error (OpenID Connect Core §3.1.2.1). With the cookies cleared, as the module asks, that user
// logs in and the flow completes as in oidcc-server: CheckIfAuthorizationEndpointError, the token
// call, PerformStandardIdTokenChecks and userinfo (EnsureHttpStatusCodeIs200), all FAILURE.

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-login-hint', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  await op.clearCookies();
  const cb = await op.authorize(rp, { login_hint: op.user.email });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
