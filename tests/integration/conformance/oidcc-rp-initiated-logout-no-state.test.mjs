// oidcc-rp-initiated-logout-no-state (OIDCCRpInitiatedLogoutNoState): the end-session request
// without state (RemoveStateFromEndSessionEndpointRequest) must still send the user to the
// registered post_logout_redirect_uri, with no state (CheckNoPostLogoutState, FAILURE) and no
// other parameter (CheckForUnexpectedParametersInPostLogoutRedirect, WARNING in the suite, met
// here); then prompt=none must answer an error needing UI (FAILURE; here login_required).

import assert from 'node:assert/strict';

import { checkLoggedOut, checkPostLogoutRedirect, endSession, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-no-state', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  checkPostLogoutRedirect(await endSession(op, { ...fullRequest(idToken), state: undefined }), undefined);
  assert.equal(await checkLoggedOut(op, rp), 'login_required');
});
