// oidcc-request-uri-signed-rs256 (OIDCCRequestUriSignedRS256, an AbstractOIDCCRequestUriServerTest):
// at configure, CheckDiscEndpointRequestUriParameterSupported (FAILURE; absent counts as true) and
// CheckDiscEndpointRequestObjectSigningAlgValuesSupportedContainsRS256 (FAILURE; absent fails).
// The client registers request_uris: [<base>/requesturi/<64 alphanumerics>#<base64url SHA-256>]
// (CreateRandomRequestUriWithFragment, AddRequestUriToDynamicRegistrationRequest) and
// request_object_signing_alg RS256. The whole authorization request, plus aud (the issuer) and iss
// (the client_id) (AddAudToRequestObject, AddIssToRequestObject), is signed with the client's RS256
// key, header { alg, kid } (SignRequestObject), and served at that URI as application/jwt; the
// query carries request_uri plus response_type, client_id, scope and redirect_uri
// (BuildRequestObjectByReferenceRedirectToAuthorizationEndpoint). The OP must process it:
// CheckIfAuthorizationEndpointError (FAILURE), the object's state back, then the code flow with the
// object's nonce, and userinfo. The suite serves the object itself; here a local server on 127.0.0.1 does.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { SignJWT } from 'jose';

import { CALLBACK, conformanceModule } from './op.mjs';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (n) => Array.from(randomBytes(n), (b) => ALNUM[b % ALNUM.length]).join('');

/** A local server for the request object; { url (with the fragment), serve(jwt), close }. */
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
  'oidcc-request-uri-signed-rs256',
  ['dynamic'],
  async (op) => {
    assert.equal(op.metadata.request_uri_parameter_supported ?? true, true, 'CheckDiscEndpointRequestUriParameterSupported');
    const algs = op.metadata.request_object_signing_alg_values_supported;
    assert.ok(Array.isArray(algs) && algs.includes('RS256'), `CheckDiscEndpointRequestObjectSigningAlgValuesSupportedContainsRS256: ${algs}`);
    const requestUri = await requestUriServer();
    try {
      const rp = await op.registerClient({
        token_endpoint_auth_method: 'private_key_jwt',
        request_uris: [requestUri.url],
        request_object_signing_alg: 'RS256',
      });
      const req = op.authorizationRequest(rp);
      const claims = { client_id: rp.id, ...req.params, aud: op.issuer, iss: rp.id };
      requestUri.serve(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: rp.key.kid }).sign(rp.key.privateKey));
      const url = new URL(op.metadata.authorization_endpoint);
      const query = { client_id: rp.id, redirect_uri: CALLBACK, request_uri: requestUri.url, response_type: 'code', scope: req.params.scope };
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);

      const out = await op.browse(url);
      assert.ok(out.callback, `the browser should reach the callback, but stopped at ${out.page?.url}`);
      const cb = { ...out.callback, checks: req.checks, sent: req.params };
      assert.equal(cb.url.origin + cb.url.pathname, CALLBACK, 'CheckMatchingCallbackParameters');
      assert.equal(cb.params.get('error'), null, `CheckIfAuthorizationEndpointError: ${cb.params}`);
      op.checkAuthorizationResponse(cb);
      const { tokens, claims: idToken } = await op.exchange(rp, cb);
      await op.userinfo(rp, tokens.access_token, idToken.sub);
    } finally {
      await requestUri.close();
    }
  },
);
