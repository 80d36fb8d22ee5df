// oidcc-redirect-uri-query-OK (OIDCCRedirectUriQueryOK, an AbstractOIDCCServerTest; not applicable
// to static clients): the redirect URI gets a query (AddQueryToRedirectUri: `?bar=foo`) before the
// client is registered with it, and the whole code flow of oidcc-server runs with it: the response
// comes back to that URI with its query kept (CheckMatchingCallbackParameters, FAILURE, in
// op.authorize), the token request sends the same redirect_uri, query included, and the ID token
// and userinfo are checked as in oidcc-server.

import assert from 'node:assert/strict';

import { CALLBACK, conformanceModule, oidc } from './op.mjs';

const REDIRECT = `${CALLBACK}?bar=foo`;

conformanceModule('oidcc-redirect-uri-query-OK', ['dynamic'], async (op) => {
  const rp = await op.client({ redirect_uris: [REDIRECT] });
  const cb = await op.authorize(rp, { redirect_uri: REDIRECT });
  assert.equal(cb.url.searchParams.get('bar'), 'foo', 'CheckMatchingCallbackParameters: the query registered');
  // openid-client sends the callback URL without its query as redirect_uri; the suite sends the
  // redirect URI it registered and used.
  let sent;
  rp.config[oidc.customFetch] = (url, init) => {
    if (String(url) === op.metadata.token_endpoint) {
      const body = new URLSearchParams(init.body);
      body.set('redirect_uri', REDIRECT);
      sent = body.get('redirect_uri');
      init = { ...init, body };
    }
    return fetch(url, init);
  };
  const { tokens, claims } = await op.exchange(rp, cb);
  assert.equal(sent, REDIRECT, 'the token request sent the redirect URI with its query');
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
