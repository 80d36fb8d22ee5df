// oidcc-registration-jwks-uri (OIDCCRegistrationJwksUri): the client is registered with a
// `jwks_uri` (AddJwksUriToDynamicRegistrationRequest) instead of `jwks`, its RS256 key's kid
// being the key's thumbprint (GenerateRS256ClientJWKsWithKeyID); registration must succeed
// (CallDynamicRegistrationEndpointAndVerifySuccessfulResponse), then the usual code flow with
// private_key_jwt: the OP has to fetch the client's keys from the jwks_uri to accept the
// assertion (CheckIfTokenEndpointResponseError, FAILURE), then userinfo (EnsureHttpStatusCodeIs200).
// The suite serves the JWKS at <its base URL>/client1_jwks; here a local server on 127.0.0.1 does.

import assert from 'node:assert/strict';

import { serveLocal } from './local.mjs';
import { Op, conformanceModule } from './op.mjs';

conformanceModule(
  'oidcc-registration-jwks-uri',
  ['dynamic'],
  async (op) => {
    const key = await Op.clientKey({ thumbprint: true }); // GenerateRS256ClientJWKsWithKeyID
    const jwksUri = await serveLocal('/client1_jwks', () => key.jwks);
    try {
      const rp = await op.registerClient({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri.url, key });
      const { claims, info } = await op.codeFlow(rp);
      assert.equal(info.sub, claims.sub);
    } finally {
      await jwksUri.close();
    }
  },
);
