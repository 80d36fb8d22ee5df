// oidcc-prompt-none-not-logged-in (OIDCCPromptNoneNotLoggedIn): with no session (the tester
// clears the cookies) and prompt=none, the answer is an error redirected to the client, one that
// says a user interface was needed (CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface:
// login_required, interaction_required, consent_required or account_selection_required), with
// the state sent, here 128 characters long as the module sends it.

import assert from 'node:assert/strict';

import { conformanceModule, randomToken } from './op.mjs';

const NEEDS_UI = ['login_required', 'interaction_required', 'consent_required', 'account_selection_required'];

conformanceModule('oidcc-prompt-none-not-logged-in', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  await op.clearCookies();
  const state = randomToken(96); // 128 characters
  assert.equal(state.length, 128);
  const cb = await op.authorizeError(rp, { prompt: 'none', state });
  assert.ok(NEEDS_UI.includes(cb.params.get('error')), `an error that needs UI: ${cb.params}`);
  assert.ok(cb.params.get('error_description'), 'error_description');
});
