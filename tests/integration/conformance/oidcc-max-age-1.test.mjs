// oidcc-max-age-1 (OIDCCMaxAge1): a first authorization with a login; then, after two seconds
// (WaitFor2Seconds), a second with max_age=1 (AddMaxAge1ToAuthorizationEndpointRequest), where
// the server must ask the user to log in again: the tester uploads a screenshot of that page
// (ExpectSecondLoginPage). Both run the whole flow (token call, PerformStandardIdTokenChecks,
// userinfo's EnsureHttpStatusCodeIs200); the second ID token then, FAILURE:
// CheckIdTokenAuthTimeClaimPresentDueToMaxAge, CheckSecondIdTokenAuthTimeIsLaterIfPresent and
// CheckIdTokenAuthTimeIsRecentIfPresent (no older than 1 s, with 5 minutes' skew allowed).

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-max-age-1', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const { claims: first } = await op.codeFlow(rp);
  await sleep(2000); // WaitFor2Seconds
  const { claims: second } = await op.complete(rp, await op.authorizeThroughLogin(rp, { max_age: '1' }, 'second-login'));
  assert.ok(Number.isInteger(second.auth_time), 'CheckIdTokenAuthTimeClaimPresentDueToMaxAge');
  if (first.auth_time !== undefined) {
    assert.ok(second.auth_time > first.auth_time, `CheckSecondIdTokenAuthTimeIsLaterIfPresent: ${second.auth_time} > ${first.auth_time}`);
  }
  assert.ok(second.auth_time >= Math.floor(Date.now() / 1000) - 300 - 1, `CheckIdTokenAuthTimeIsRecentIfPresent: ${second.auth_time}`);
});
