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

import { serveRequestObject, unsignedJwt } from './local.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule(
  'oidcc-request-uri-unsigned',
  ['dynamic'],
  async (op, t) => {
    assert.equal(op.metadata.request_uri_parameter_supported ?? true, true, 'CheckDiscEndpointRequestUriParameterSupported');
    const algs = op.metadata.request_object_signing_alg_values_supported;
    if (Array.isArray(algs) && !algs.includes('none')) return t.skip('skipTestIfNoneUnsupported');
    const requestUri = await serveRequestObject();
    try {
      const rp = await op.registerClient({ token_endpoint_auth_method: 'private_key_jwt', request_uris: [requestUri.url] });
      const req = op.authorizationRequest(rp);
      requestUri.serve(unsignedJwt({ client_id: rp.id, ...req.params }));
      // authorizeAt: CheckMatchingCallbackParameters, CheckIfAuthorizationEndpointError, the object's state.
      await op.complete(rp, await op.authorizeAt(op.requestObjectUrl(rp, req, { request_uri: requestUri.url }), req));
    } finally {
      await requestUri.close();
    }
  },
);
