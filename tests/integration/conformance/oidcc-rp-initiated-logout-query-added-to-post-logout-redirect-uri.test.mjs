// oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri
// (OIDCCRpInitiatedLogoutQueryAddedToLogoutRedirectUri): a valid hint with the registered
// post_logout_redirect_uri plus "?foo=bar". The OP must not redirect back (FAILURE if it does)
// and shows an error page or asks the user to confirm: the screenshot
// (ExpectPostLogoutRedirectUriNotRegisteredErrorPage). This provider compares the URI whole
// and shows an error page.

import assert from 'node:assert/strict';

import { endSession, expectErrorOrConfirmation, fullRequest, signIn } from './logout.mjs';
import { POST_LOGOUT, conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  const out = await endSession(op, { ...fullRequest(idToken), post_logout_redirect_uri: `${POST_LOGOUT}?foo=bar` });
  assert.equal(await expectErrorOrConfirmation(op, out, 'error-page', /post_logout_redirect_uri/), 'error');
});
