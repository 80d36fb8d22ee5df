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

import { conformanceModule } from './op.mjs';
import { checkReuseRefused, reuseCode } from './tokens.mjs';

conformanceModule('oidcc-codereuse-30seconds', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  const { tokens } = await op.complete(rp, cb);

  await sleep(30_000); // WaitFor30Seconds
  checkReuseRefused(await reuseCode(rp, cb));

  // CallProtectedResource: GET userinfo with the first access token as a Bearer header.
  const info = await fetch(op.metadata.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.ok(info.status >= 400 && info.status <= 499, `EnsureHttpStatusCodeIs4xx (WARNING): the access token still works after the reuse: ${info.status}`);
});
