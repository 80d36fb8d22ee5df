// oidcc-registration-jwks-uri (OIDCCRegistrationJwksUri): the client is registered with a
// `jwks_uri` (AddJwksUriToDynamicRegistrationRequest) instead of `jwks`, its RS256 key's kid
// being the key's thumbprint (GenerateRS256ClientJWKsWithKeyID); registration must succeed
// (CallDynamicRegistrationEndpointAndVerifySuccessfulResponse), then the usual code flow with
// private_key_jwt: the OP has to fetch the client's keys from the jwks_uri to accept the
// assertion (CheckIfTokenEndpointResponseError, FAILURE), then userinfo (EnsureHttpStatusCodeIs200).
// The suite serves the JWKS at <its base URL>/client1_jwks; here a local server on 127.0.0.1 does.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

import { conformanceModule } from './op.mjs';

/** GenerateRS256ClientJWKsWithKeyID: { privateKey, jwks (public), kid (the thumbprint) }. */
async function thumbprintKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, jwks: { keys: [{ ...jwk, kid, use: 'sig', alg: 'RS256' }] } };
}

/** A local HTTP server answering GET path with JSON from body(); { url, close }. */
async function serveJson(path, body) {
  const out = {};
  const server = createServer((req, res) => {
    if (req.url !== path) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body()));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  out.url = `http://127.0.0.1:${server.address().port}${path}`;
  out.close = () => new Promise((resolve) => server.close(resolve));
  return out;
}

conformanceModule(
  'oidcc-registration-jwks-uri',
  ['dynamic'],
  async (op) => {
    const key = await thumbprintKey();
    const jwksUri = await serveJson('/client1_jwks', () => key.jwks);
    try {
      const rp = await op.registerClient({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri.url, key });
      const cb = await op.authorize(rp);
      const { tokens, claims } = await op.exchange(rp, cb);
      const info = await op.userinfo(rp, tokens.access_token, claims.sub);
      assert.equal(info.sub, claims.sub);
    } finally {
      await jwksUri.close();
    }
  },
);
