// oidcc-ui-locales (OIDCCUiLocales): the authorization request carries ui_locales, "se" when
// the configuration gives none (AddUiLocalesFromConfigurationToAuthorizationEndpointRequest),
// which must not cause an error (OpenID Connect Core §3.1.2.1). With the cookies cleared, as the
// module asks, the user logs in and the flow completes as in oidcc-server:
// CheckIfAuthorizationEndpointError, the token call, PerformStandardIdTokenChecks and userinfo
// (EnsureHttpStatusCodeIs200), all FAILURE. (The page's language is for the tester to judge.)

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-ui-locales', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  await op.clearCookies();
  await op.codeFlow(rp, { ui_locales: 'se' });
});
