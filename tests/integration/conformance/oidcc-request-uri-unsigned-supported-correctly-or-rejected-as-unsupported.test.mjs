// oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported
// (OIDCCRequestUriUnsignedSupportedCorrectlyOrRejectedAsUnsupported, an AbstractOIDCCRequestUriServerTest).
// @VariantNotApplicable for static_client: the Basic and Form Post plans run it only with
// client_registration=dynamic_client (and client_secret_basic), registering
// request_uris: [<suite>/requesturi/<64 alphanumerics>#<base64url SHA-256>]
// (CreateRandomRequestUriWithFragment, AddRequestUriToDynamicRegistrationRequest). So this test
// registers its client that way in both plans. The whole authorization request becomes an
// unsigned request object (alg "none") served at that URI; the query carries request_uri plus
// response_type, client_id, scope and redirect_uri only (BuildRequestObjectByReferenceRedirectToAuthorizationEndpoint):
// state, nonce and, in the Form Post plan, response_mode are only inside the object.
// Skipped at configure when request_object_signing_alg_values_supported lacks "none".
// Two answers are accepted:
// - `request_uri_not_supported`: the module is skipped (state not checked), but in the Form
//   Post plan processCallback has already required a form_post (CheckCallbackHttpMethodIsPost,
//   RejectAuthCodeInUrlQuery, RejectErrorInUrlQuery, FAILURE), and fireTestSkipped does not undo
//   that. The product gives this answer, by the query even in the Form Post plan, since it
//   would have to fetch the object to learn response_mode: that fails (docs/conformance.md,
//   Form Post plan, dynamic clients).
// - the request processed: the usual code flow, with the object's state and nonce.
// Reachability: the suite serves the object itself; here the request_uri's host
// (suite.conformance.test) does not resolve, and the browser's routes do not serve the
// provider's own fetches. The product never fetches (request_uri_parameter_supported: false),
// so its answer does not depend on it. A provider that did fetch would get no object and
// answer some other error, and this test would fail: it would then need a request_uri served
// where the provider can reach it.

import assert from 'node:assert/strict';

import { randomRequestUri } from './local.mjs';
import { CALLBACK, SUITE, conformanceModule, text } from './op.mjs';

conformanceModule('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', ['basic', 'formpost'], async (op, t) => {
  const algs = op.metadata.request_object_signing_alg_values_supported;
  if (Array.isArray(algs) && !algs.includes('none')) return t.skip('skipTestIfNoneUnsupported');
  const { path, fragment } = randomRequestUri();
  const requestUri = `${SUITE}${path}#${fragment}`;
  const rp = await op.registerClient({ token_endpoint_auth_method: 'client_secret_basic', request_uris: [requestUri] });
  const req = op.authorizationRequest(rp);
  const out = await op.browse(op.requestObjectUrl(rp, req, { request_uri: requestUri }));
  assert.ok(out.callback, `the browser should reach the callback, but stopped at ${out.page?.url}: ${text(out.page?.html)}`);
  const cb = out.callback;
  assert.equal(cb.url.origin + cb.url.pathname, CALLBACK, 'back at the redirect URI');
  if (req.params.response_mode === 'form_post') {
    assert.equal(cb.method, 'POST', `CheckCallbackHttpMethodIsPost: the answer came by ${cb.method} ${cb.url.search}`);
    for (const k of ['code', 'error']) assert.equal(cb.url.searchParams.get(k), null, `RejectAuthCodeInUrlQuery / RejectErrorInUrlQuery: ${k}`);
  } else {
    assert.equal(cb.method, 'GET', 'the query response mode answers with a GET');
  }

  if (cb.params.get('error') === 'request_uri_not_supported') {
    t.diagnostic('request_uri_not_supported: the suite skips the module');
    assert.equal(cb.params.get('code'), null, 'no code beside the error');
    return;
  }
  assert.equal(cb.params.get('error'), null, `request_uri_not_supported or success, not ${cb.params}`);
  assert.equal(op.metadata.request_uri_parameter_supported, true, 'CheckDiscEndpointRequestUriParameterSupported (WARNING)');
  const full = { ...cb, checks: req.checks, sent: req.params };
  op.checkAuthorizationResponse(full);
  await op.complete(rp, full);
});
