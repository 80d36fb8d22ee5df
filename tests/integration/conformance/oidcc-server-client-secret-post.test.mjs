// oidcc-server-client-secret-post (OIDCCServerTestClientSecretPost): the happy code flow with the
// plan's `client_secret_post` client (the Basic plan runs this one module with
// ClientAuthType=client_secret_post; a static run takes the client from the configuration's
// client_secret_post block). Discovery must list the method
// (EnsureServerConfigurationSupportsClientSecretPost, FAILURE); the token request carries the
// credentials in the form body (AddFormBasedClientSecretToRequest), and the flow is checked as
// every flow is: callback, ID token (PerformStandardIdTokenChecks), userinfo 200
// (CallProtectedResource, EnsureHttpStatusCodeIs200).

import assert from 'node:assert/strict';

import { conformanceModule, oidc } from './op.mjs';

conformanceModule('oidcc-server-client-secret-post', ['basic', 'formpost'], async (op) => {
  assert.ok(op.metadata.token_endpoint_auth_methods_supported?.includes('client_secret_post'), 'EnsureServerConfigurationSupportsClientSecretPost');
  const rp = await op.clientSecretPost();
  assert.equal(rp.app.token_endpoint_auth_method, 'client_secret_post');

  // The token request as sent, to see the credentials travel in the body, not in a header.
  const sent = [];
  rp.config[oidc.customFetch] = (url, init) => {
    if (String(url) === op.metadata.token_endpoint) sent.push({ headers: new Headers(init.headers), body: new URLSearchParams(String(init.body)) });
    return fetch(url, init);
  };

  const cb = await op.authorize(rp);
  const { tokens, claims } = await op.exchange(rp, cb);
  assert.equal(sent.length, 1, 'one token request');
  assert.equal(sent[0].body.get('client_id'), rp.id, 'client_id in the body');
  assert.equal(sent[0].body.get('client_secret'), rp.secret, 'client_secret in the body');
  assert.equal(sent[0].headers.get('authorization'), null, 'no Authorization header');

  const info = await op.userinfo(rp, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
});
