// oidcc-ensure-request-object-with-redirect-uri (OIDCCEnsureRequestObjectWithRedirectUri): an
// unsigned request object (alg "none", by value) carries the registered redirect_uri, while the
// query's redirect_uri is an unregistered one, the registered one with "_invalid" appended
// (AddInvalidRedirectUriToAuthorizationRequest, after ConvertAuthorizationEndpointRequestToRequestObject).
// Skipped at configure when request_object_signing_alg_values_supported lacks "none". Accepted:
// - an error page (ExpectRedirectUriErrorPage: the tester's screenshot), which the product
//   shows, since it checks the query's redirect_uri before anything else;
// - the object processed: the flow completes at the object's (registered) redirect URI.
// A redirect with request_not_supported fails the module
// (EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri), as would any other error there.

import assert from 'node:assert/strict';

import { unsignedJwt } from './local.mjs';
import { CALLBACK, conformanceModule, text } from './op.mjs';

conformanceModule('oidcc-ensure-request-object-with-redirect-uri', ['basic', 'formpost', 'dynamic'], async (op, t) => {
  const algs = op.metadata.request_object_signing_alg_values_supported;
  if (Array.isArray(algs) && !algs.includes('none')) return t.skip('skipTestIfNoneUnsupported');
  const rp = await op.client();
  const req = op.authorizationRequest(rp);
  const object = { client_id: rp.id, ...req.params };
  const invalid = `${CALLBACK}_invalid`;
  const out = await op.browse(op.requestObjectUrl(rp, req, { redirect_uri: invalid, request: unsignedJwt(object) }));
  if (out.page) {
    await op.screenshot('error-page');
    assert.equal(out.page.status, 400, 'the error page answers 400');
    assert.match(text(out.page.html), /redirect_uri/i, 'the page says what is wrong');
    assert.notEqual(out.page.form, '/login', 'an error page, not a login page');
    return;
  }
  const cb = out.callback;
  assert.notEqual(cb.params.get('error'), 'request_not_supported', 'EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri');
  assert.equal(cb.url.origin + cb.url.pathname, CALLBACK, `the object's redirect URI, not ${cb.url}`);
  assert.equal(cb.params.get('error'), null, `an error page or success, not ${cb.params}`);
  const full = { ...cb, checks: req.checks, sent: req.params };
  op.checkAuthorizationResponse(full);
  await op.complete(rp, full);
});
