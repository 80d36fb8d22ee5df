// oidcc-rp-initiated-logout-no-post-logout-redirect-uri (OIDCCRpInitiatedLogoutNoPostLogoutRedirectUri):
// a valid hint and a state, no post_logout_redirect_uri (RemovePostLogoutRedirectUriFrom...).
// The OP must not call post_logout_redirect (FAILURE if it does) and must log the user out: the
// screenshot of the logged-out page (ExpectSuccessfulLogoutPage). This provider needs no
// confirmation for a hint naming the session's user and shows the signed-out page at once;
// prompt=none then checks the session is gone.

import assert from 'node:assert/strict';

import { endSession, expectLoggedOutPage, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-no-post-logout-redirect-uri', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  const out = await endSession(op, { ...fullRequest(idToken), post_logout_redirect_uri: undefined });
  assert.notEqual(out.page?.form, '/logout', 'no confirmation for a matching hint');
  await expectLoggedOutPage(op, rp, out, 'logged-out');
});
