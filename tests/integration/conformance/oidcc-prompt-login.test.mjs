// oidcc-prompt-login (OIDCCPromptLogin): a first authorization with a login; then, after one
// second (WaitForOneSecond), a second with prompt=login (AddPromptLoginToAuthorizationEndpointRequest),
// where the server must ask the user to log in again: the tester uploads a screenshot of that
// page (ExpectSecondLoginPage). Both run the whole flow (token call, PerformStandardIdTokenChecks,
// userinfo's EnsureHttpStatusCodeIs200); then, FAILURE: CheckSecondIdTokenAuthTimeIsLaterIfPresent.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-prompt-login', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const { claims: first } = await op.codeFlow(rp);
  await sleep(1000); // WaitForOneSecond
  const { claims: second } = await op.complete(rp, await op.authorizeThroughLogin(rp, { prompt: 'login' }, 'second-login'));
  if (first.auth_time !== undefined && second.auth_time !== undefined) {
    assert.ok(second.auth_time > first.auth_time, `CheckSecondIdTokenAuthTimeIsLaterIfPresent: ${second.auth_time} > ${first.auth_time}`);
  }
});
