// oidcc-rp-initiated-logout-only-state (OIDCCRpInitiatedLogoutOnlyState): only a state
// (RemoveIdTokenHintFromEndSessionEndpointRequest, RemovePostLogoutRedirectUriFrom...). The OP
// must not call post_logout_redirect (FAILURE if it does) and must log the user out: the
// screenshot of the logged-out page (ExpectSuccessfulLogoutPage). This provider asks first,
// and the signed-out page follows "Sign out"; prompt=none then checks the session is gone.

import { endSession, endSessionState, expectLoggedOutPage, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-only-state', ['logout'], async (op) => {
  const rp = await op.client();
  await signIn(op, rp);
  await expectLoggedOutPage(op, rp, await endSession(op, { state: endSessionState() }), 'logged-out');
});
