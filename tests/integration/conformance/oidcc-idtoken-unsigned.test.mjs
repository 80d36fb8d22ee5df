// oidcc-idtoken-unsigned (OIDCCIdTokenUnsigned): registers id_token_signed_response_alg=none and
// expects an unsigned ID token (CheckIdTokenSignatureAlgorithm, FAILURE). @VariantNotApplicable
// for static_client: the Basic and Form Post plans run it only with dynamic_client (registered
// here as the suite does, client_secret_basic), the Dynamic plan with private_key_jwt (op.client()).
// First, before any registration (AbstractOIDCCServerTest.configure calls
// skipTestIfSigningAlgorithmNotSupported before configureClient), the module is skipped unless
// discovery's id_token_signing_alg_values_supported lists none
// (OIDCCCheckIdTokenSigningAlgValuesSupportedAlgNone). The product never offers none, so every
// plan ends skipped there, the Dynamic plan included: private_key_jwt is never reached.

import assert from 'node:assert/strict';

import { Op, conformanceModule, decodeProtectedHeader, oidc } from './op.mjs';

conformanceModule('oidcc-idtoken-unsigned', ['basic', 'formpost', 'dynamic'], async (op, t) => {
  const algs = op.metadata.id_token_signing_alg_values_supported;
  assert.ok(Array.isArray(algs), 'id_token_signing_alg_values_supported');
  if (!algs.includes('none')) {
    t.skip(`id_token_signing_alg_values_supported is ${JSON.stringify(algs)}, without none: the suite skips`);
    return;
  }
  const rp = op.plan.registration === 'dynamic'
    ? await op.client({ id_token_signed_response_alg: 'none' })
    : await op.registerClient({
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        jwks: (await Op.clientKey()).jwks,
        id_token_signed_response_alg: 'none',
      });
  const cb = await op.authorize(rp);
  // openid-client, told to expect alg none (op.exchange verifies signatures against the JWKS).
  const auth = rp.key
    ? oidc.PrivateKeyJwt({ key: rp.key.privateKey, kid: rp.key.kid })
    : oidc.ClientSecretBasic(rp.secret);
  const config = new oidc.Configuration(op.metadata, rp.id, { id_token_signed_response_alg: 'none' }, auth);
  oidc.allowInsecureRequests(config);
  const tokens = await oidc.authorizationCodeGrant(config, cb.request, cb.checks);
  assert.equal(decodeProtectedHeader(tokens.id_token).alg, 'none', 'CheckIdTokenSignatureAlgorithm');
  // CallProtectedResource: userinfo answers 200 for the access token.
  await op.userinfo(rp, tokens.access_token, tokens.claims().sub);
});
