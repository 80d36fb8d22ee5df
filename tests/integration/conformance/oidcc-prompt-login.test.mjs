// oidcc-prompt-login (OIDCCPromptLogin): a first authorization with a login; then, after one
// second (WaitForOneSecond), a second with prompt=login (AddPromptLoginToAuthorizationEndpointRequest),
// where the server must ask the user to log in again: the tester uploads a screenshot of that
// page (ExpectSecondLoginPage). Both run the whole flow (token call, PerformStandardIdTokenChecks,
// userinfo's EnsureHttpStatusCodeIs200); then, FAILURE: CheckSecondIdTokenAuthTimeIsLaterIfPresent.

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

conformanceModule('oidcc-prompt-login', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const first = await finish(op, rp, await op.authorize(rp));
  await sleep(1000); // WaitForOneSecond
  const second = await finish(op, rp, await authorizeThroughSecondLogin(op, rp, { prompt: 'login' }, 'second-login'));
  if (first.auth_time !== undefined && second.auth_time !== undefined) {
    assert.ok(second.auth_time > first.auth_time, `CheckSecondIdTokenAuthTimeIsLaterIfPresent: ${second.auth_time} > ${first.auth_time}`);
  }
});
