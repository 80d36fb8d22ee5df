// oidcc-rp-initiated-logout-no-params (OIDCCRpInitiatedLogoutNoParams): the end-session
// endpoint with no parameters at all (RemoveAllParametersFromEndSessionEndpointRequest). The
// OP must not call post_logout_redirect (FAILURE if it does) and must log the user out: the
// screenshot of the logged-out page (ExpectSuccessfulLogoutPage). This provider asks first
// (no hint proves who asks), and the signed-out page follows "Sign out"; prompt=none then
// checks the session is gone.

import { endSession, expectLoggedOutPage, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-no-params', ['logout'], async (op) => {
  const rp = await op.client();
  await signIn(op, rp);
  await expectLoggedOutPage(op, rp, await endSession(op, {}), 'logged-out');
});
