// oidcc-ensure-client-assertion-with-iss-aud-succeeds (OIDCCEnsureClientAssertionWithIssAudSucceeds):
// the code flow with private_key_jwt, but the client assertion's `aud` is the issuer, not the token
// endpoint (UpdateClientAuthenticationAssertionClaimsWithISSAud after
// CreateClientAuthenticationAssertionClaims: iss = sub = client_id, jti of 20 alphanumerics, nbf =
// iat = now, exp = now + 60; SignClientAuthenticationAssertion: header { alg, kid }). The module
// stops after the token response. Accepted answers:
// - success (asserted here, since the product accepts the issuer as aud): CheckIfTokenEndpointResponseError,
//   CheckForAccessTokenValue, ValidateExpiresIn when expires_in is there, an ID token that validates
//   (ExtractIdTokenFromTokenResponse, performIdTokenValidation);
// - an error, which only ends the module with a WARNING (CheckIfTokenEndpointResponseError) if it is
//   a well-formed invalid_client (FAILURE otherwise: CheckTokenEndpointReturnedJsonContentType,
//   ValidateErrorFromTokenEndpointResponseError, ValidateErrorDescription/UriFromTokenEndpointResponseError,
//   CheckTokenEndpointHttpStatusIs400Allowing401ForInvalidClientError,
//   CheckErrorFromTokenEndpointResponseErrorInvalidClient). Those are checked, then the WARNING asserted.

import assert from 'node:assert/strict';

import { SignJWT } from 'jose';

import { alnum } from './local.mjs';
import { CALLBACK, checkCode, conformanceModule } from './op.mjs';

const NQCHAR = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

conformanceModule('oidcc-ensure-client-assertion-with-iss-aud-succeeds', ['dynamic'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  checkCode(cb.params.get('code'));

  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: rp.id, sub: rp.id, aud: op.issuer, jti: alnum(20), nbf: now, iat: now, exp: now + 60 };
  const assertion = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: rp.key.kid }).sign(rp.key.privateKey);
  const res = await fetch(op.metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: cb.params.get('code'),
      redirect_uri: CALLBACK,
      client_assertion: assertion,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    }),
  });
  const body = await res.json().catch(() => ({}));

  if (body.error !== undefined) {
    assert.match(res.headers.get('content-type') ?? '', /^application\/json\s*(;|$)/, 'CheckTokenEndpointReturnedJsonContentType');
    assert.match(body.error, NQCHAR, 'ValidateErrorFromTokenEndpointResponseError');
    if (body.error_description !== undefined) assert.match(body.error_description, /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/, 'ValidateErrorDescriptionFromTokenEndpointResponseError');
    if (body.error_uri !== undefined) assert.ok(URL.canParse(body.error_uri), 'ValidateErrorUriFromTokenEndpointResponseError');
    assert.ok(res.status === 400 || (res.status === 401 && body.error === 'invalid_client'), `CheckTokenEndpointHttpStatusIs400Allowing401ForInvalidClientError: ${res.status}`);
    assert.equal(body.error, 'invalid_client', 'CheckErrorFromTokenEndpointResponseErrorInvalidClient');
    assert.fail(`CheckIfTokenEndpointResponseError (WARNING): the issuer as aud was refused: ${JSON.stringify(body)}`);
  }
  assert.equal(res.status, 200, 'a token response');
  assert.equal(typeof body.access_token, 'string', 'CheckForAccessTokenValue');
  if (body.expires_in !== undefined) assert.ok(Number.isInteger(body.expires_in) && body.expires_in > 0, 'ValidateExpiresIn');
  assert.equal(typeof body.id_token, 'string', 'ExtractIdTokenFromTokenResponse');
  await op.checkIdToken(rp, body.id_token, { nonce: cb.sent.nonce, accessToken: body.access_token });
});
