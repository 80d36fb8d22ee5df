// oidcc-redirect-uri-query-added (OIDCCRedirectUriQueryAdded): the client's registered callback has
// no query; the authorization request adds one (AddQueryToRedirectUriInAuthorizationRequest:
// `?foo=bar`). The provider must show an error page about the redirect URI
// (ExpectRedirectUriErrorPage, a screenshot the tester uploads); any call to the client's redirect
// URI fails the module (processCallback throws). The Dynamic plan runs it with its private_key_jwt
// client.

import assert from 'node:assert/strict';

import { CALLBACK, conformanceModule, text } from './op.mjs';

conformanceModule('oidcc-redirect-uri-query-added', ['dynamic'], async (op) => {
  const rp = await op.client();
  const page = await op.authorizePage(rp, { redirect_uri: `${CALLBACK}?foo=bar` }, 'error-page');
  assert.notEqual(page.form, '/login', 'an error page, not the login page');
  assert.equal(page.status, 400, 'the error page answers 400');
  assert.match(text(page.html), /redirect_uri/i, 'the page says the redirect URI is what is wrong');
});
