// oidcc-request-uri-unsigned (OIDCCRequestUriUnsigned, an AbstractOIDCCRequestUriServerTest): at
// configure, CheckDiscEndpointRequestUriParameterSupported (FAILURE; absent counts as true), then
// skipped if request_object_signing_alg_values_supported is a list without "none"
// (skipTestIfNoneUnsupported). The client registers request_uris: [<base>/requesturi/<64
// alphanumerics>#<base64url SHA-256>] (CreateRandomRequestUriWithFragment,
// AddRequestUriToDynamicRegistrationRequest). The whole authorization request becomes an unsigned
// request object (alg "none", SerializeRequestObjectWithNullAlgorithm), served at that URI as
// application/jwt; the query carries request_uri plus response_type, client_id, scope and
// redirect_uri (BuildRequestObjectByReferenceRedirectToAuthorizationEndpoint): state and nonce are
// only in the object. The OP must process it: CheckIfAuthorizationEndpointError (FAILURE), the
// object's state back (CheckStateInAuthorizationResponse), then the code flow with the object's
// nonce, and userinfo. The suite serves the object itself; here a local server on 127.0.0.1 does.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { CALLBACK, conformanceModule } from './op.mjs';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (n) => Array.from(randomBytes(n), (b) => ALNUM[b % ALNUM.length]).join('');
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A local server for the request object; { url (with the fragment), path, serve(jwt), close }. */
async function requestUriServer() {
  let object;
  const path = `/requesturi/${alnum(64)}`;
  const server = createServer((req, res) => {
    if (req.url !== path || object === undefined) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/jwt' }).end(object);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fragment = createHash('sha256').update(alnum(64)).digest('base64url');
  return {
    url: `http://127.0.0.1:${server.address().port}${path}#${fragment}`,
    serve: (jwt) => (object = jwt),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

conformanceModule(
  'oidcc-request-uri-unsigned',
  ['dynamic'],
  async (op, t) => {
    assert.equal(op.metadata.request_uri_parameter_supported ?? true, true, 'CheckDiscEndpointRequestUriParameterSupported');
    const algs = op.metadata.request_object_signing_alg_values_supported;
    if (Array.isArray(algs) && !algs.includes('none')) return t.skip('skipTestIfNoneUnsupported');
    const requestUri = await requestUriServer();
    try {
      const rp = await op.registerClient({ token_endpoint_auth_method: 'private_key_jwt', request_uris: [requestUri.url] });
      const req = op.authorizationRequest(rp);
      requestUri.serve(`${b64({ alg: 'none' })}.${b64({ client_id: rp.id, ...req.params })}.`);
      const url = new URL(op.metadata.authorization_endpoint);
      const query = { client_id: rp.id, redirect_uri: CALLBACK, request_uri: requestUri.url, response_type: 'code', scope: req.params.scope };
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);

      const out = await op.browse(url);
      assert.ok(out.callback, `the browser should reach the callback, but stopped at ${out.page?.url}`);
      const cb = { ...out.callback, checks: req.checks, sent: req.params };
      assert.equal(cb.url.origin + cb.url.pathname, CALLBACK, 'CheckMatchingCallbackParameters');
      assert.equal(cb.params.get('error'), null, `CheckIfAuthorizationEndpointError: ${cb.params}`);
      op.checkAuthorizationResponse(cb);
      const { tokens, claims } = await op.exchange(rp, cb);
      await op.userinfo(rp, tokens.access_token, claims.sub);
    } finally {
      await requestUri.close();
    }
  },
);
