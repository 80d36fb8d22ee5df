// oidcc-redirect-uri-regfrag (OIDCCRedirectUriRegFrag, an AbstractOIDCCDynamicRegistrationTest):
// the suite's registration request (OIDCCCreateDynamicClientRegistrationRequest: client_name, the
// code grant and response type, its public RS256 jwks, private_key_jwt, contacts) with the one
// redirect URI given a fragment (AddFragmentToRedirectUri: `#foobar`) must be refused: a JSON answer
// (EnsureContentTypeJson) with status 400 (EnsureHttpStatusCodeIs400), both FAILURE, whose error is
// invalid_redirect_uri or invalid_client_metadata
// (CheckErrorFromDynamicRegistrationEndpointIsInvalidRedirectUriOrInvalidClientMetadata; the suite
// only warns otherwise, asserted here). No authorization request follows.

import assert from 'node:assert/strict';

import { CALLBACK, Op, conformanceModule, randomToken } from './op.mjs';

conformanceModule('oidcc-redirect-uri-regfrag', ['dynamic'], async (op) => {
  const { jwks } = await Op.clientKey();
  const r = await op.register({
    client_name: `OIDF conformance ${randomToken(4)}`,
    grant_types: ['authorization_code'],
    jwks,
    token_endpoint_auth_method: 'private_key_jwt',
    response_types: ['code'],
    redirect_uris: [`${CALLBACK}#foobar`],
    contacts: ['certification@oidf.org'],
  });
  assert.equal(r.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'EnsureContentTypeJson');
  assert.equal(r.status, 400, `EnsureHttpStatusCodeIs400: ${r.text}`);
  assert.ok(['invalid_redirect_uri', 'invalid_client_metadata'].includes(r.json?.error),
    `CheckErrorFromDynamicRegistrationEndpointIsInvalidRedirectUriOrInvalidClientMetadata (WARNING): ${r.text}`);
});
