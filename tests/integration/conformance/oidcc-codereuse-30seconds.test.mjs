// oidcc-codereuse-30seconds (OIDCCAuthCodeReuseAfter30Seconds): the happy code flow (token, ID
// token, userinfo 200), then, after the suite's own 30 s wait (WaitFor30Seconds), the same code
// again. Here a 200 is a FAILURE too (AbstractOIDCCAuthCodeReuse.checkResponse, all FAILURE:
// CheckTokenEndpointHttpStatus400, CheckTokenEndpointReturnedJsonContentType,
// CheckErrorFromTokenEndpointResponseErrorInvalidGrant, ValidateErrorFromTokenEndpointResponseError,
// ValidateErrorDescriptionFromTokenEndpointResponseError, ValidateErrorUriFromTokenEndpointResponseError;
// ...ContainsCRLFTAB is a WARNING). Then the first access token goes to userinfo again
// (CallProtectedResource): it should have been revoked by the reuse (RFC 6749 §4.1.2), so
// EnsureHttpStatusCodeIs4xx, a WARNING the product meets and which is asserted here.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { conformanceModule, oidc } from './op.mjs';

/** The second use of the code by openid-client (a form_post Request is rebuilt: its body was read). */
async function reuseCode(rp, cb) {
  const request =
    cb.method === 'POST'
      ? new Request(cb.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: cb.body })
      : cb.url;
  try {
    await oidc.authorizationCodeGrant(rp.config, request, cb.checks);
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError) return { status: err.status, headers: err.response.headers, body: err.cause };
    throw err;
  }
  return { status: 200, headers: new Headers(), body: {} };
}

conformanceModule('oidcc-codereuse-30seconds', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);

  await sleep(30_000); // WaitFor30Seconds
  const res = await reuseCode(rp, cb);
  assert.equal(res.status, 400, 'CheckTokenEndpointHttpStatus400');
  assert.equal(res.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'CheckTokenEndpointReturnedJsonContentType');
  const { error, error_description: description, error_uri: uri } = res.body;
  assert.equal(error, 'invalid_grant', 'CheckErrorFromTokenEndpointResponseErrorInvalidGrant');
  assert.match(error, /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorFromTokenEndpointResponseError');
  if (description) {
    assert.doesNotMatch(description, /[\r\n\t]/, 'CheckErrorDescriptionFromTokenEndpointResponseErrorContainsCRLFTAB (WARNING)');
    assert.match(description, /^[\x09\x0A\x0D\x20-\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorDescriptionFromTokenEndpointResponseError');
  }
  if (uri) assert.match(uri, /^[\x21\x23-\x5B\x5D-\x7E]+$/, 'ValidateErrorUriFromTokenEndpointResponseError');

  // CallProtectedResource: GET userinfo with the first access token as a Bearer header.
  const info = await fetch(op.metadata.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.ok(info.status >= 400 && info.status <= 499, `EnsureHttpStatusCodeIs4xx (WARNING): the access token still works after the reuse: ${info.status}`);
});
