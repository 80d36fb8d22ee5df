// oidcc-ensure-redirect-uri-in-authorization-request (OIDCCEnsureRedirectUriInAuthorizationRequest;
// not applicable to static clients): the client is registered with two redirect URIs
// (AddMultipleRedirectUriToDynamicRegistrationRequest: the callback and https://example.org/redirect)
// and the authorization request leaves redirect_uri out (RemoveRedirectUriFromAuthorizationEndpointRequest).
// OpenID Connect Core §3.1.2.1 requires it, so the provider must show an error page saying the
// redirect URI is missing (ExpectRedirectUriMissingErrorPage: a screenshot the tester uploads); any
// redirect back fails the module (AuthorizationEndpointRedirectedBackUnexpectedly, FAILURE).

import assert from 'node:assert/strict';

import { CALLBACK, conformanceModule, text } from './op.mjs';

conformanceModule('oidcc-ensure-redirect-uri-in-authorization-request', ['dynamic'], async (op) => {
  const rp = await op.client({ redirect_uris: [CALLBACK, 'https://example.org/redirect'] });
  const page = await op.authorizePage(rp, { redirect_uri: undefined }, 'error-page');
  assert.equal(page.url.searchParams.get('redirect_uri'), null, 'the request carried no redirect_uri');
  assert.notEqual(page.form, '/login', 'an error page, not the login page');
  assert.equal(page.status, 400, 'the error page answers 400');
  assert.match(text(page.html), /redirect_uri\b.*\b(required|missing)/i, 'the page says the redirect URI is missing');
});
