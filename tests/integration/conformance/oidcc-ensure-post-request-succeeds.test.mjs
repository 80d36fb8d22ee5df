// oidcc-ensure-post-request-succeeds (OIDCCEnsurePostRequestSucceeds): the browser sends the
// authorization request as a POST of an application/x-www-form-urlencoded body to the
// authorization endpoint (BrowserControl.goToUrl(url, null, "POST"): the query moved to the body),
// and the server must call the redirect URI within 30 seconds (ExpectRedirectUriHasBeenCalled:
// the suite only warns; asserted here). The flow then completes as in oidcc-server:
// CheckIfAuthorizationEndpointError, the token call, PerformStandardIdTokenChecks and userinfo
// (EnsureHttpStatusCodeIs200), all FAILURE.

import assert from 'node:assert/strict';

import { conformanceModule, text } from './op.mjs';

/** An HTML form that POSTs the URL's query to the URL without it. */
function postForm(url) {
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const action = `${url.origin}${url.pathname}`;
  const fields = [...url.searchParams].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
  return `<!doctype html><form method="post" action="${esc(action)}" enctype="application/x-www-form-urlencoded">${fields}</form>`;
}

conformanceModule('oidcc-ensure-post-request-succeeds', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const req = op.authorizationRequest(rp);
  const before = op.captures.length;
  await op.page.setContent(postForm(req.url));
  const [response] = await Promise.all([
    op.page.waitForNavigation({ waitUntil: 'load' }),
    op.page.evaluate(() => document.forms[0].submit()),
  ]);
  assert.equal(response.request().method(), 'POST', 'the authorization request went by POST');
  assert.equal(new URL(response.url()).pathname, new URL(op.metadata.authorization_endpoint).pathname);
  const { callback, page } = await op.settle({ before, response });
  // WARNING in the suite (ExpectRedirectUriHasBeenCalled, within 30 s).
  assert.ok(callback, `ExpectRedirectUriHasBeenCalled: the browser stopped at ${page?.url}: ${text(page?.html)}`);
  const cb = { ...callback, checks: req.checks, sent: req.params };
  op.checkAuthorizationResponse(cb);
  assert.equal(cb.params.get('error'), null, `CheckIfAuthorizationEndpointError: ${cb.params}`);
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
