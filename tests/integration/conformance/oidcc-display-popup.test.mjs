// oidcc-display-popup (OIDCCDisplayPopup): the authorization request carries display=popup
// (AddDisplayPopupToAuthorizationEndpointRequest), which must not cause an error (OpenID Connect
// Core §3.1.2.1, §15.1). With the cookies cleared, as the module asks, the user logs in and the
// flow completes as in oidcc-server: CheckIfAuthorizationEndpointError, the token call,
// PerformStandardIdTokenChecks and userinfo (EnsureHttpStatusCodeIs200), all FAILURE.

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-display-popup', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  await op.clearCookies();
  await op.codeFlow(rp, { display: 'popup' });
});
