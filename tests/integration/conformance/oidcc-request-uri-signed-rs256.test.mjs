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

import { SignJWT } from 'jose';

import { serveRequestObject } from './local.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule(
  'oidcc-request-uri-signed-rs256',
  ['dynamic'],
  async (op) => {
    assert.equal(op.metadata.request_uri_parameter_supported ?? true, true, 'CheckDiscEndpointRequestUriParameterSupported');
    const algs = op.metadata.request_object_signing_alg_values_supported;
    assert.ok(Array.isArray(algs) && algs.includes('RS256'), `CheckDiscEndpointRequestObjectSigningAlgValuesSupportedContainsRS256: ${algs}`);
    const requestUri = await serveRequestObject();
    try {
      const rp = await op.registerClient({
        token_endpoint_auth_method: 'private_key_jwt',
        request_uris: [requestUri.url],
        request_object_signing_alg: 'RS256',
      });
      const req = op.authorizationRequest(rp);
      const claims = { client_id: rp.id, ...req.params, aud: op.issuer, iss: rp.id };
      requestUri.serve(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: rp.key.kid }).sign(rp.key.privateKey));
      // authorizeAt: CheckMatchingCallbackParameters, CheckIfAuthorizationEndpointError, the object's state.
      await op.complete(rp, await op.authorizeAt(op.requestObjectUrl(rp, req, { request_uri: requestUri.url }), req));
    } finally {
      await requestUri.close();
    }
  },
);
