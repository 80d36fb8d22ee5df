// oidcc-userinfo-post-header (OIDCCUserInfoPostHeader, AbstractOIDCCUserInfoTest): after the
// code flow (the ID token checked, and CallProtectedResource's userinfo call answered 200), a
// POST to userinfo with the access token in a Bearer header and an empty form body
// (SetResourceMethodToPost, CallUserInfoEndpoint: Content-Type application/x-www-form-urlencoded,
// Accept: application/json), answered 200 (EnsureHttpStatusCodeIs200, FAILURE) with a valid
// claims object (checkUserInfoClaims, claims.mjs).

import { userInfoFlow } from './claims.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-userinfo-post-header', ['basic', 'formpost'], async (op) => {
  await userInfoFlow(op, {
    init: (accessToken) => ({
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    }),
    contentType: true,
  });
});
