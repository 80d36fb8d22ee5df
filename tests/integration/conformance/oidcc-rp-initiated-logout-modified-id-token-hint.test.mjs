// oidcc-rp-initiated-logout-modified-id-token-hint (OIDCCRpInitiatedLogoutModifiedIdTokenHint):
// the ID token re-labelled {"alg": "none"} with no signature (ChangeIdTokenToAlgNone) as the
// hint, with the registered post_logout_redirect_uri and a state. The OP must not redirect back
// (FAILURE if it does) and shows an error page or asks the user to confirm: the screenshot
// (ExpectInvalidIdTokenHintErrorPage). This provider shows an error page.

import assert from 'node:assert/strict';

import { endSession, expectErrorOrConfirmation, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-modified-id-token-hint', ['logout'], async (op) => {
  const rp = await op.client();
  const { idToken } = await signIn(op, rp);
  const algNone = `${Buffer.from('{"alg": "none"}').toString('base64url')}.${idToken.split('.')[1]}.`;
  const out = await endSession(op, fullRequest(algNone));
  assert.equal(await expectErrorOrConfirmation(op, out, 'error-page', /id_token_hint/), 'error');
});
