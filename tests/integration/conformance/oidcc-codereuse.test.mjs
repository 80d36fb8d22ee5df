// oidcc-codereuse (OIDCCAuthCodeReuse, AbstractOIDCCAuthCodeReuse): the happy code flow
// (token, ID token, userinfo 200), then the same code sent to the token endpoint again at once.
// The answer is checked by AbstractOIDCCAuthCodeReuse.checkResponse, all FAILURE:
// CheckTokenEndpointHttpStatus400, CheckTokenEndpointReturnedJsonContentType,
// CheckErrorFromTokenEndpointResponseErrorInvalidGrant, ValidateErrorFromTokenEndpointResponseError,
// ValidateErrorDescriptionFromTokenEndpointResponseError, ValidateErrorUriFromTokenEndpointResponseError
// (CheckErrorDescription...ContainsCRLFTAB is a WARNING). In this module only, a 200 for the
// second use is just a WARNING (ServerAllowedReusingAuthorizationCode); the product refuses it,
// so the 400 is asserted here all the same.

import assert from 'node:assert/strict';

import { conformanceModule, oidc } from './op.mjs';

/**
 * The second use of the callback's code, by openid-client with the client's own authentication
 * (a form_post callback's Request is rebuilt: its body was read by the first exchange).
 */
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
  return { status: 200 };
}

conformanceModule('oidcc-codereuse', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);

  const res = await reuseCode(rp, cb);
  assert.notEqual(res.status, 200, 'ServerAllowedReusingAuthorizationCode (the suite only warns in this module)');
  checkReuseRefused(res);
});

/** AbstractOIDCCAuthCodeReuse.checkResponse. */
function checkReuseRefused(res) {
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
}
