// oidcc-rp-initiated-logout (OIDCCRpInitiatedLogout): after a normal login, the end-session
// request with a valid id_token_hint, the registered post_logout_redirect_uri and a state must
// send the user back there with that state (CheckPostLogoutState, FAILURE) and nothing else
// (CheckForUnexpectedParametersInPostLogoutRedirect, WARNING in the suite, met here); then
// prompt=none must answer an error needing UI (CheckErrorFromAuthorizationEndpointIsOneThat-
// RequiredAUserInterface, FAILURE; this provider answers login_required).

import assert from 'node:assert/strict';

import { checkLoggedOut, checkPostLogoutRedirect, endSession, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  const request = fullRequest(idToken);
  checkPostLogoutRedirect(await endSession(op, request), request.state);
  assert.equal(await checkLoggedOut(op, rp), 'login_required');
});
