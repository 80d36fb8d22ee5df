// oidcc-userinfo-post-body (OIDCCUserInfoPostBody, AbstractOIDCCUserInfoTest): after the code
// flow (the ID token checked, and CallProtectedResource's userinfo call answered 200), a POST to
// userinfo with the access token in the form body, no Authorization header
// (CallUserInfoEndpointWithBearerTokenInBody, RFC 6750 §2.2). A non-2xx answer is only a WARNING
// (UserInfoEndpointWithAccessTokenInBodyNotSupported); the product takes the body
// (userinfo::bearer_token), so 200 is asserted. A 2xx answer is then held to the FAILURE checks
// of checkUserInfoClaims (claims.mjs).

import { userInfoFlow } from './claims.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-userinfo-post-body', ['basic', 'formpost'], async (op) => {
  await userInfoFlow(op, {
    init: (accessToken) => ({
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: accessToken }),
    }),
    // A non-2xx status would only be the suite's WARNING (UserInfoEndpointWithAccessTokenInBodyNotSupported).
    status: 'the access token in the body is taken',
    contentType: true,
  });
});
