// oidcc-idtoken-rs256 (OIDCCIdTokenRS256, an AbstractOIDCCServerTest; not applicable to static
// clients): the plan's private_key_jwt client is registered with id_token_signed_response_alg=RS256
// (AddIdTokenSigningAlgRS256ToDynamicRegistrationRequest), then the code flow of oidcc-server. The
// token endpoint's ID token must carry a kid (EnsureIdTokenContainsKid) and be signed with the
// algorithm registered (CheckIdTokenSignatureAlgorithm), both FAILURE, before the standard ID token
// checks (PerformStandardIdTokenChecks, op.exchange); userinfo then answers 200 (CallProtectedResource).

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-idtoken-rs256', ['dynamic'], async (op) => {
  const rp = await op.client({ id_token_signed_response_alg: 'RS256' });
  const cb = await op.authorize(rp);
  const { header, tokens, claims } = await op.exchange(rp, cb);
  assert.ok(header.kid, 'EnsureIdTokenContainsKid');
  assert.equal(header.alg, 'RS256', 'CheckIdTokenSignatureAlgorithm: the id_token_signed_response_alg registered');
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
