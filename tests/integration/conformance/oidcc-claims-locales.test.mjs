// oidcc-claims-locales (OIDCCClaimsLocales): the authorization request carries claims_locales=se
// (AddClaimsLocalesSeToAuthorizationEndpointRequest), which must not cause an error (OpenID
// Connect Core §5.2, §15.1). The flow completes as in oidcc-server:
// CheckIfAuthorizationEndpointError, the token call, PerformStandardIdTokenChecks and userinfo
// (EnsureHttpStatusCodeIs200), all FAILURE.

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-claims-locales', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp, { claims_locales: 'se' });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
