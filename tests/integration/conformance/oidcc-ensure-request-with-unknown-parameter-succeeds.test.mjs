// oidcc-ensure-request-with-unknown-parameter-succeeds (OIDCCEnsureRequestWithUnknownParameterSucceeds):
// the authorization request carries extra=foobar (AddExtraFoobarToAuthorizationEndpointRequest),
// which the server must ignore (RFC 6749 §3.1). The flow completes as in oidcc-server:
// CheckIfAuthorizationEndpointError, the token call, PerformStandardIdTokenChecks and userinfo
// (EnsureHttpStatusCodeIs200), all FAILURE.

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-ensure-request-with-unknown-parameter-succeeds', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp, { extra: 'foobar' });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
