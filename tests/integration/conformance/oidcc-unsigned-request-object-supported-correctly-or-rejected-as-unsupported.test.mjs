// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported
// (OIDCCUnsignedRequestObjectSupportedCorrectlyOrRejectedAsUnsupported, an
// AbstractOIDCCRequestObjectServerTest): the whole authorization request goes into an unsigned
// request object (ConvertAuthorizationEndpointRequestToRequestObject,
// SerializeRequestObjectWithNullAlgorithm: alg "none") passed by value; the query repeats only
// response_type, client_id, scope and redirect_uri (BuildRequestObjectByValueRedirectToAuthorizationEndpoint),
// so state, nonce and, in the Form Post plan, response_mode travel only inside the object.
// Skipped at configure when request_object_signing_alg_values_supported is published without
// "none" (skipTestIfNoneUnsupported). Two answers are accepted:
// - `request_not_supported` (OIDCC 3.1.2.6): the module is skipped; state is not checked. In
//   the Form Post plan it must still arrive as a form_post (processCallback:
//   CheckCallbackHttpMethodIsPost, RejectAuthCodeInUrlQuery, RejectErrorInUrlQuery, FAILURE).
//   This is what the product answers (authorize::validate reads only the object's response_mode).
// - the request processed: the usual code flow, with the object's state and nonce
//   (CheckDiscEndpointRequestParameterSupported is then a WARNING).

import assert from 'node:assert/strict';

import { unsignedJwt } from './local.mjs';
import { CALLBACK, conformanceModule, text } from './op.mjs';

conformanceModule('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', ['basic', 'formpost'], async (op, t) => {
  const algs = op.metadata.request_object_signing_alg_values_supported;
  if (Array.isArray(algs) && !algs.includes('none')) return t.skip('skipTestIfNoneUnsupported');
  const rp = await op.client();
  const req = op.authorizationRequest(rp);
  const object = { client_id: rp.id, ...req.params };
  const out = await op.browse(op.requestObjectUrl(rp, req, { request: unsignedJwt(object) }));
  assert.ok(out.callback, `the browser should reach the callback, but stopped at ${out.page?.url}: ${text(out.page?.html)}`);
  const cb = out.callback;
  assert.equal(cb.url.origin + cb.url.pathname, CALLBACK, 'back at the redirect URI');
  if (object.response_mode === 'form_post') {
    assert.equal(cb.method, 'POST', 'CheckCallbackHttpMethodIsPost');
    for (const k of ['code', 'error']) assert.equal(cb.url.searchParams.get(k), null, `RejectAuthCodeInUrlQuery / RejectErrorInUrlQuery: ${k}`);
  } else {
    assert.equal(cb.method, 'GET', 'the query response mode answers with a GET');
  }

  if (cb.params.get('error') === 'request_not_supported') {
    t.diagnostic('request_not_supported: the suite skips the module');
    assert.equal(cb.params.get('code'), null, 'no code beside the error');
    return;
  }
  // Processed: the object's state and nonce must be honoured, and the flow complete.
  assert.equal(cb.params.get('error'), null, `request_not_supported or success, not ${cb.params}`);
  assert.equal(op.metadata.request_parameter_supported, true, 'CheckDiscEndpointRequestParameterSupported (WARNING)');
  const full = { ...cb, checks: req.checks, sent: req.params };
  op.checkAuthorizationResponse(full);
  await op.complete(rp, full);
});
