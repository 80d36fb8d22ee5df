// oidcc-ensure-registered-redirect-uri (OIDCCEnsureRegisteredRedirectUri): an authorization
// request whose redirect_uri was never registered must stop on an error page, which the tester
// screenshots (ExpectRedirectUriErrorPage); any return to the client fails the module.

import assert from 'node:assert/strict';

import { CALLBACK, conformanceModule, text } from './op.mjs';

conformanceModule('oidcc-ensure-registered-redirect-uri', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const page = await op.authorizePage(rp, { redirect_uri: `${CALLBACK}/unregistered` }, 'error-page');
  assert.equal(page.status, 400, 'the error page answers 400');
  assert.match(text(page.html), /redirect_uri/i, 'the page says what is wrong');
  assert.notEqual(page.form, '/login', 'no login page for an unregistered redirect URI');
});
