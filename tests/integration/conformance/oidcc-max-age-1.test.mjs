// oidcc-max-age-1 (OIDCCMaxAge1): a first authorization with a login; then, after two seconds
// (WaitFor2Seconds), a second with max_age=1 (AddMaxAge1ToAuthorizationEndpointRequest), where
// the server must ask the user to log in again: the tester uploads a screenshot of that page
// (ExpectSecondLoginPage). Both run the whole flow (token call, PerformStandardIdTokenChecks,
// userinfo's EnsureHttpStatusCodeIs200); the second ID token then, FAILURE:
// CheckIdTokenAuthTimeClaimPresentDueToMaxAge, CheckSecondIdTokenAuthTimeIsLaterIfPresent and
// CheckIdTokenAuthTimeIsRecentIfPresent (no older than 1 s, with 5 minutes' skew allowed).

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { conformanceModule, text } from './op.mjs';

/** The authorization request, which must stop on the login page (screenshot), then the login. */
async function authorizeThroughSecondLogin(op, rp, params, label) {
  const req = op.authorizationRequest(rp, params);
  const out = await op.browse(req.url, { login: false });
  assert.ok(out.page, `ExpectSecondLoginPage: the server went back to the client without a login: ${out.callback?.url} ${out.callback?.body ?? ''}`);
  assert.equal(out.page.form, '/login', `ExpectSecondLoginPage: a login page, not ${out.page.url}: ${text(out.page.html)}`);
  await op.screenshot(label);
  const { callback, page } = await op.settle();
  assert.ok(callback, `the browser should reach the callback after the login, but stopped at ${page?.url}: ${text(page?.html)}`);
  const cb = { ...callback, checks: req.checks, sent: req.params };
  op.checkAuthorizationResponse(cb);
  assert.equal(cb.params.get('error'), null, `no error: ${cb.params}`);
  assert.ok(cb.params.get('code'), `a code in ${cb.params}`);
  return cb;
}

async function finish(op, rp, cb) {
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
  return claims;
}

conformanceModule('oidcc-max-age-1', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const first = await finish(op, rp, await op.authorize(rp));
  await sleep(2000); // WaitFor2Seconds
  const second = await finish(op, rp, await authorizeThroughSecondLogin(op, rp, { max_age: '1' }, 'second-login'));
  assert.ok(Number.isInteger(second.auth_time), 'CheckIdTokenAuthTimeClaimPresentDueToMaxAge');
  if (first.auth_time !== undefined) {
    assert.ok(second.auth_time > first.auth_time, `CheckSecondIdTokenAuthTimeIsLaterIfPresent: ${second.auth_time} > ${first.auth_time}`);
  }
  assert.ok(second.auth_time >= Math.floor(Date.now() / 1000) - 300 - 1, `CheckIdTokenAuthTimeIsRecentIfPresent: ${second.auth_time}`);
});
