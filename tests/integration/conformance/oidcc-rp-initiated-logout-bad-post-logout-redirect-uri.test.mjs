// oidcc-rp-initiated-logout-bad-post-logout-redirect-uri (OIDCCRpInitiatedLogoutBadLogoutRedirectUri):
// a valid hint with a post_logout_redirect_uri never registered (<alias>/bad_post_logout_redirect_uri,
// AddBadPostLogoutRedirectUriToEndSessionEndpointRequest). The OP must not redirect back (any call
// under the alias fails the module) and shows an error page or asks the user to confirm: the
// screenshot (ExpectPostLogoutRedirectUriNotRegisteredErrorPage). This provider shows an error page.

import assert from 'node:assert/strict';

import { endSession, expectErrorOrConfirmation, fullRequest, signIn } from './logout.mjs';
import { SUITE, conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  const out = await endSession(op, { ...fullRequest(idToken), post_logout_redirect_uri: `${SUITE}/bad_post_logout_redirect_uri` });
  assert.equal(await expectErrorOrConfirmation(op, out, 'error-page', /post_logout_redirect_uri/), 'error');
});
