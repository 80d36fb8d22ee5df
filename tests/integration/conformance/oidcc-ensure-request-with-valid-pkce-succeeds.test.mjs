// oidcc-ensure-request-with-valid-pkce-succeeds (OIDCCEnsureRequestWithValidPkceSucceeds): the
// confidential client sends PKCE S256 (SetupPkceAndAddToAuthorizationRequest: CreateRandomCodeVerifier,
// CreateS256CodeChallenge, AddCodeChallengeToAuthorizationEndpointRequest) and the code_verifier
// at the token endpoint (AddCodeVerifierToTokenEndpointRequest). Whether or not the server knows
// PKCE, the request must succeed (RFC 6749 §3.1): CheckIfAuthorizationEndpointError, the token
// call (CheckTokenEndpointHttpStatus200), PerformStandardIdTokenChecks and userinfo
// (EnsureHttpStatusCodeIs200), all FAILURE.

import { conformanceModule, oidc } from './op.mjs';

conformanceModule('oidcc-ensure-request-with-valid-pkce-succeeds', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const verifier = oidc.randomPKCECodeVerifier();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const cb = await op.authorize(rp, { code_challenge: challenge, code_challenge_method: 'S256' });
  const { tokens, claims } = await op.exchange(rp, cb, { checks: { ...cb.checks, pkceCodeVerifier: verifier } });
  await op.userinfo(rp, tokens.access_token, claims.sub);
});
