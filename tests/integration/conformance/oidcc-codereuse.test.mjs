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

import { conformanceModule } from './op.mjs';
import { checkReuseRefused, reuseCode } from './tokens.mjs';

conformanceModule('oidcc-codereuse', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  await op.complete(rp, cb);

  const res = await reuseCode(rp, cb);
  assert.notEqual(res.status, 200, 'ServerAllowedReusingAuthorizationCode (the suite only warns in this module)');
  checkReuseRefused(res);
});
