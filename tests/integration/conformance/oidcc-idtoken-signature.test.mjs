// oidcc-idtoken-signature (OIDCCIdTokenSignature): a client registered without
// id_token_signed_response_alg gets ID tokens signed with the default, RS256, and with a kid
// (EnsureIdTokenContainsKid, EnsureIdTokenSignatureIsRS256, FAILURE; then the standard ID token
// checks). The module is @VariantNotApplicable for static_client, so the Basic and Form Post
// plans run it only with client_registration=dynamic_client: the client is registered here as
// OIDCCCreateDynamicClientRegistrationRequest does (client_secret_basic, the suite's public RS256
// JWKS, no algorithm), whatever registration op.mjs's 'basic' plan uses for its own clients.

import assert from 'node:assert/strict';

import { Op, conformanceModule } from './op.mjs';

conformanceModule('oidcc-idtoken-signature', ['basic', 'formpost'], async (op) => {
  const { jwks } = await Op.clientKey();
  const rp = await op.registerClient({
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    jwks,
  });
  const cb = await op.authorize(rp);
  const { header, tokens, claims } = await op.exchange(rp, cb);
  assert.ok(header.kid, 'EnsureIdTokenContainsKid');
  assert.equal(header.alg, 'RS256', 'EnsureIdTokenSignatureIsRS256');
  // (ValidateIdTokenSignature, against the JWKS by kid, was done by op.exchange.)
  // CallProtectedResource: userinfo answers 200 for the access token.
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
