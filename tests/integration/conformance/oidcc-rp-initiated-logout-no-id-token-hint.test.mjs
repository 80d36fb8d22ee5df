// oidcc-rp-initiated-logout-no-id-token-hint (OIDCCRpInitiatedLogoutNoIdTokenHint): the
// registered post_logout_redirect_uri and a state, but no id_token_hint (and, as the suite
// sends, no client_id). The OP must not redirect back (FAILURE if it does) and shows an error
// page or asks the user to confirm: the screenshot (ExpectIdTokenHintRequiredErrorPage). This
// provider cannot tell whose URI it is without a hint or client_id, and shows an error page.

import assert from 'node:assert/strict';

import { endSession, expectErrorOrConfirmation, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-no-id-token-hint', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  const out = await endSession(op, { ...fullRequest(idToken), id_token_hint: undefined });
  assert.equal(await expectErrorOrConfirmation(op, out, 'error-page', /id_token_hint/), 'error');
});
