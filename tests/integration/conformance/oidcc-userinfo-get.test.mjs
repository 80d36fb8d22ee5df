// oidcc-userinfo-get (OIDCCUserInfoGet, AbstractOIDCCUserInfoTest): after the code flow (the ID
// token checked, and CallProtectedResource's userinfo call answered 200), a GET to userinfo with
// the access token in a Bearer header (CallUserInfoEndpoint, Accept: application/json), answered
// 200 (EnsureHttpStatusCodeIs200) with a valid claims object (checkUserInfoClaims, claims.mjs).

import { userInfoFlow } from './claims.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-userinfo-get', ['basic', 'formpost'], async (op) => {
  await userInfoFlow(op, { contentType: true }); // CallUserInfoEndpoint: GET, Bearer header
});
