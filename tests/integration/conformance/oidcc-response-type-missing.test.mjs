// oidcc-response-type-missing (OIDCCResponseTypeMissing): an authorization request without
// response_type. The suite accepts either an error page (ExpectResponseTypeMissingErrorPage, a
// screenshot for the tester) or an error redirected to the client, checked as
// performGenericAuthorizationEndpointErrorResponseValidation does (state, iss,
// EnsureErrorFromAuthorizationEndpointResponse, RejectAuthCodeInAuthorizationEndpointResponse,
// ValidateErrorDescription/ErrorUri... FAILURE; CheckForUnexpectedParameters... and no CR/LF/TAB
// in error_description, WARNING) and CheckErrorFromAuthorizationEndpointErrorInvalidRequestOrUnsupportedResponseType
// (FAILURE). Under form_post the error must come as a POST (CheckCallbackHttpMethodIsPost,
// RejectErrorInUrlQuery); under the default mode, in the query. The product redirects
// invalid_request (authorize::validate checks response_type once the redirect URI is trusted).

import assert from 'node:assert/strict';

import { conformanceModule, text } from './op.mjs';

const ALLOWED = ['error', 'error_description', 'error_uri', 'state', 'session_state', 'iss'];

conformanceModule('oidcc-response-type-missing', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const req = op.authorizationRequest(rp, { response_type: undefined });
  req.url.searchParams.delete('response_type'); // openid-client adds response_type=code by itself
  assert.equal(req.url.searchParams.get('response_type'), null, 'the request has no response_type');
  const out = await op.browse(req.url);
  if (out.page) {
    // One accepted answer: the provider's own error page, which the tester screenshots.
    await op.screenshot('error-page');
    assert.notEqual(out.page.form, '/login', 'an error page, not a login page');
    assert.match(text(out.page.html), /response_type/i, 'the page says response_type is missing');
    return;
  }
  // The other (the product's): an error back at the client.
  const cb = { ...out.callback, sent: req.params };
  op.checkAuthorizationResponse(cb);
  const p = cb.params;
  assert.ok(p.get('error'), `EnsureErrorFromAuthorizationEndpointResponse: ${p}`);
  assert.equal(p.get('code'), null, 'RejectAuthCodeInAuthorizationEndpointResponse');
  for (const k of p.keys()) assert.ok(ALLOWED.includes(k), `CheckForUnexpectedParametersInErrorResponse... (WARNING): ${k}`);
  const desc = p.get('error_description');
  if (desc) {
    assert.match(desc, /^[\x09\x0A\x0D\x20-\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorDescriptionFrom...ResponseError');
    assert.doesNotMatch(desc, /[\r\n\t]/, 'CheckErrorDescription...ContainsCRLFTAB (WARNING)');
  }
  const uri = p.get('error_uri');
  if (uri) assert.match(uri, /^[\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorUriFromAuthorizationEndpointResponseError');
  assert.ok(['invalid_request', 'unsupported_response_type'].includes(p.get('error')),
    `CheckErrorFromAuthorizationEndpointErrorInvalidRequestOrUnsupportedResponseType: ${p.get('error')}`);
});
