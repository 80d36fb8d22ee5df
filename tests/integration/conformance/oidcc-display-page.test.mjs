// oidcc-display-page (OIDCCDisplayPage): the authorization request carries display=page
// (AddDisplayPageToAuthorizationEndpointRequest), which must not cause an error (OpenID Connect
// Core §3.1.2.1, §15.1). With the cookies cleared, as the module asks, the user logs in and the
// flow completes as in oidcc-server: CheckIfAuthorizationEndpointError, the token call,
// PerformStandardIdTokenChecks and userinfo (EnsureHttpStatusCodeIs200), all FAILURE.

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-display-page', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  await op.clearCookies();
  const cb = await op.authorize(rp, { display: 'page' });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
