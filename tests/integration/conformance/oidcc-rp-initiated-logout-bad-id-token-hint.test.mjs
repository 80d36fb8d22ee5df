// oidcc-rp-initiated-logout-bad-id-token-hint (OIDCCRpInitiatedLogoutBadIdTokenHint): a hint
// the suite made itself (GenerateFakeIdTokenClaims: iss the client_id, aud the issuer, sub
// "SubjectID", a nonce, 5 minutes' life) and signed HS256 with the client secret, no kid
// (GenerateJWKsFromClientSecret, which needs a secret of at least 32 bytes; SignFakeIdToken),
// with the registered post_logout_redirect_uri and a state. The OP must not redirect back
// (FAILURE if it does) and shows an error page or asks the user to confirm: the screenshot
// (ExpectInvalidIdTokenHintErrorPage). This provider shows an error page.

import assert from 'node:assert/strict';

import { SignJWT } from 'jose';

import { endSession, expectErrorOrConfirmation, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-bad-id-token-hint', ['logout'], async (op) => {
  const rp = await op.client();
  await signIn(op, rp);
  const secret = Buffer.from(rp.secret);
  assert.ok(secret.length >= 32, 'GenerateJWKsFromClientSecret: a client secret of 32 bytes or more');
  const fake = await new SignJWT({ iss: rp.id, sub: 'SubjectID', aud: op.issuer, nonce: 'flibble' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(secret);
  const out = await endSession(op, fullRequest(fake));
  assert.equal(await expectErrorOrConfirmation(op, out, 'error-page', /id_token_hint/), 'error');
});
